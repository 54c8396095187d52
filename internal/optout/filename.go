package optout

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrFileName means a name is not an Opt-Out delta or partition file name
// (core-and-optout.md §3.2). The wrapping error says what is wrong and
// names only the base name, never a presigned URL.
var ErrFileName = errors.New("optout: malformed file name")

// FileKind says whether a file is a delta or a partition.
type FileKind uint8

// File kinds.
const (
	Delta FileKind = iota + 1
	Partition
)

func (k FileKind) String() string {
	switch k {
	case Delta:
		return "delta"
	case Partition:
		return "partition"
	}
	return "unknown"
}

// SyntheticReplica is the replica id of synthetic files (§3.2).
const SyntheticReplica = 999

// FileName is a parsed Opt-Out file name:
// optout-<delta|partition>-<NNN>_<yyyy-MM-ddTHH.mm.ssZ>_<8 hex>.dat.
type FileName struct {
	Kind    FileKind
	Replica int
	// Time is the file's timestamp (UTC, whole seconds).
	Time time.Time
	// Suffix is the 8-hex-digit random suffix.
	Suffix uint32
}

// Synthetic reports whether the file comes from the synthetic replica 999.
func (f FileName) Synthetic() bool { return f.Replica == SyntheticReplica }

// fileTimeLayout is the timestamp with ':' written as '.', as Opt-Out
// names files (Java Instant text, seconds precision).
const fileTimeLayout = "2006-01-02T15.04.05Z"

// ParseFileName parses the base name of an Opt-Out file. It is stricter than
// the reference, which only reads the timestamp between the first two
// underscores: the prefix, a 3–9 digit replica id, the timestamp (exactly
// 20 characters, no fraction), 8 hex digits and ".dat" are all required.
func ParseFileName(name string) (FileName, error) {
	var f FileName
	bad := func(why string) (FileName, error) {
		return FileName{}, fmt.Errorf("%w: %q: %s", ErrFileName, truncName(name), why)
	}
	rest, ok := strings.CutPrefix(name, "optout-")
	if !ok {
		return bad("no optout- prefix")
	}
	switch {
	case strings.HasPrefix(rest, "delta-"):
		f.Kind, rest = Delta, rest[len("delta-"):]
	case strings.HasPrefix(rest, "partition-"):
		f.Kind, rest = Partition, rest[len("partition-"):]
	default:
		return bad("neither delta nor partition")
	}
	rest, ok = strings.CutSuffix(rest, ".dat")
	if !ok {
		return bad("no .dat extension")
	}
	replica, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return bad("no replica id")
	}
	if len(replica) < 3 || len(replica) > 9 || !allDigits(replica) {
		return bad("replica id is not 3 to 9 digits")
	}
	f.Replica, _ = strconv.Atoi(replica)
	ts, suffix, ok := strings.Cut(rest, "_")
	if !ok {
		return bad("no random suffix")
	}
	// time.Parse would accept a fraction after the seconds; the reference
	// (Instant.parse after '.'→':') does not, so check the length first.
	if len(ts) != len(fileTimeLayout) {
		return bad("timestamp is not yyyy-MM-ddTHH.mm.ssZ")
	}
	t, err := time.Parse(fileTimeLayout, ts)
	if err != nil {
		return bad("timestamp is not yyyy-MM-ddTHH.mm.ssZ")
	}
	f.Time = t.UTC()
	if len(suffix) != 8 {
		return bad("suffix is not 8 hex digits")
	}
	v, err := strconv.ParseUint(suffix, 16, 32)
	if err != nil {
		return bad("suffix is not 8 hex digits")
	}
	f.Suffix = uint32(v)
	return f, nil
}

// String formats f the way Opt-Out names files.
func (f FileName) String() string {
	return fmt.Sprintf("optout-%s-%03d_%s_%08x.dat", f.Kind, f.Replica, f.Time.UTC().Format(fileTimeLayout), f.Suffix)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncName keeps error text short for hostile input.
func truncName(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
