package salts

import (
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/hashids"
)

// Time constants of the reference operator, in milliseconds.
const (
	dayMs = 24 * 60 * 60 * 1000
	// DefaultExpiry is how long a snapshot without "expires" stays valid after
	// it was loaded (core-and-optout.md §2.4.1).
	DefaultExpiry = 365 * 24 * time.Hour
	// PreviousUIDDays is how long after lastUpdated a bucket's previous UID is
	// still returned (operator-api.md §3.5).
	PreviousUIDDays = 90
	// BucketIDMinLength is the hashids minimum length of bucket ids (§3.6).
	BucketIDMinLength = 9
)

// Snapshot is one salt file with its validity window (epoch ms). Callers must
// not modify it.
type Snapshot struct {
	Effective int64
	Expires   int64
	Table     *Table

	// bucketIDs caches the hashids part of each bucket's id (see
	// AppendBucketIDAt), packed; 0 is not computed yet. It is allocated
	// with the set, and the pages of buckets never asked for stay
	// untouched.
	bucketIDs []atomic.Uint64
}

// Set is everything loaded from one salts metadata version: the snapshots
// sorted by Effective plus the first-level salt and bucket-id scheme. A Set is
// immutable and safe for concurrent use.
type Set struct {
	version    int64
	firstLevel string
	idPrefix   string
	ids        *hashids.Encoder
	snaps      []Snapshot
}

// NewSet builds a Set from md and its parsed files; tables[i] belongs to
// md.Files[i] and must have md.Files[i].Size buckets. Files without an expiry
// expire DefaultExpiry after loadedAt.
func NewSet(md Metadata, tables []*Table, loadedAt time.Time) (*Set, error) {
	if len(md.Files) == 0 {
		return nil, errors.New("salts: no salt files")
	}
	if len(tables) != len(md.Files) {
		return nil, fmt.Errorf("salts: %d tables for %d salt files", len(tables), len(md.Files))
	}
	defaultExpires := loadedAt.Add(DefaultExpiry).UnixMilli()
	snaps := make([]Snapshot, len(md.Files))
	for i, f := range md.Files {
		t := tables[i]
		if t == nil || t.Len() != f.Size {
			return nil, fmt.Errorf("salts: salt file %d: table does not match size %d", i, f.Size)
		}
		s := Snapshot{Effective: f.Effective, Expires: f.Expires, Table: t, bucketIDs: make([]atomic.Uint64, t.Len())}
		if s.Expires == 0 {
			s.Expires = defaultExpires
		}
		snaps[i] = s
	}
	// Stable, like Java's sorted stream, so equal effective times keep file order.
	sort.SliceStable(snaps, func(a, b int) bool { return snaps[a].Effective < snaps[b].Effective })
	return &Set{
		version:    md.Version,
		firstLevel: md.FirstLevel,
		idPrefix:   md.IDPrefix,
		ids:        hashids.New(md.IDSecret, BucketIDMinLength),
		snaps:      snaps,
	}, nil
}

// Version returns the metadata version the set was loaded from.
func (s *Set) Version() int64 { return s.version }

// FirstLevel returns the first-level salt (operator-api.md §3.2).
func (s *Set) FirstLevel() string { return s.firstLevel }

// Snapshots returns the snapshots sorted by Effective. The slice is shared;
// do not modify it.
func (s *Set) Snapshots() []Snapshot { return s.snaps }

// At returns the snapshot in force at asOfMs, replicating the reference
// getSnapshot exactly (core-and-optout.md §2.4.1): walk the snapshots in
// Effective order and remember each one with Effective <= asOf < Expires, but
// stop at the first one that fails that test — even one that is merely
// expired. If none was remembered, return the last snapshot of the list, even
// if it is expired or not yet effective; salt-expiry detection relies on
// that. At never returns nil and does not allocate.
func (s *Set) At(asOfMs int64) *Snapshot {
	var cur *Snapshot
	for i := range s.snaps {
		sn := &s.snaps[i]
		if !(sn.Effective <= asOfMs && asOfMs < sn.Expires) {
			break
		}
		cur = sn
	}
	if cur == nil {
		return &s.snaps[len(s.snaps)-1]
	}
	return cur
}

// AppendBucketID appends the bucket id of the bucket whose column 0 is id:
// id_prefix followed by hashids(id_secret, min length 9) of id
// (operator-api.md §3.6). Like the Java hashids library, a negative id hashes
// to nothing, leaving just the prefix.
func (s *Set) AppendBucketID(dst []byte, id int64) []byte {
	dst = append(dst, s.idPrefix...)
	return s.ids.AppendEncode(dst, id)
}

// AppendBucketIDAt is AppendBucketID for bucket i of sn, a snapshot of s
// (from At or Snapshots) whose bucket i has column 0 id. The hashids
// encoding is a quarter of the CPU of /v2/identity/map, so each bucket's is
// computed once per set and kept packed in 8 bytes: up to 10 characters
// of [0-9a-zA-Z] at 6 bits each, with the length on top. Longer or other
// ids are encoded every time.
func (s *Set) AppendBucketIDAt(dst []byte, sn *Snapshot, i int, id int64) []byte {
	if i < 0 || i >= len(sn.bucketIDs) {
		return s.AppendBucketID(dst, id)
	}
	dst = append(dst, s.idPrefix...)
	if v := sn.bucketIDs[i].Load(); v != 0 {
		return appendUnpacked(dst, v)
	}
	start := len(dst)
	dst = s.ids.AppendEncode(dst, id)
	if v, ok := packID(dst[start:]); ok {
		sn.bucketIDs[i].Store(v) // racing writers store the same value
	}
	return dst
}

// idDigits are the characters a packed bucket id may hold, by 6-bit code.
const idDigits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// idCodes maps a character to its code in idDigits plus one; 0 for others.
var idCodes = func() (c [256]uint8) {
	for i := range len(idDigits) {
		c[idDigits[i]] = uint8(i + 1)
	}
	return c
}()

// packID packs 1 to 10 idDigits characters: the length in the top 4 bits,
// then 6 bits per character, first character highest.
func packID(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	v := uint64(len(b)) << 60
	for j, ch := range b {
		code := idCodes[ch]
		if code == 0 {
			return 0, false
		}
		v |= uint64(code-1) << (54 - 6*j)
	}
	return v, true
}

// appendUnpacked appends the characters packID packed into v.
func appendUnpacked(dst []byte, v uint64) []byte {
	n := int(v >> 60)
	for j := range n {
		dst = append(dst, idDigits[(v>>(54-6*j))&63])
	}
	return dst
}

// BucketID returns the bucket id as a string; see AppendBucketID.
func (s *Set) BucketID(id int64) string { return string(s.AppendBucketID(nil, id)) }

// PreviousApplies reports whether the v3 identity map returns a previous UID
// for bucket e at asOfMs (operator-api.md §3.5): the bucket was updated less
// than 90 whole days ago, counted with Java's truncating long division so a
// lastUpdated in the future counts as recent, and it has a previous salt or
// previous key material with a salt.
func PreviousApplies(e Entry, asOfMs int64) bool {
	if (asOfMs-e.LastUpdated)/dayMs >= PreviousUIDDays {
		return false
	}
	return e.PreviousSalt != "" || (e.PreviousKey.Valid && e.PreviousKey.Salt != "")
}

// RefreshFrom returns the refresh time (epoch ms) the v3 identity map reports
// for bucket e at asOfMs (operator-api.md §3.5): e.RefreshFrom if it is not in
// the past, else the next UTC midnight after asOfMs.
func RefreshFrom(e Entry, asOfMs int64) int64 {
	if e.RefreshFrom >= asOfMs {
		return e.RefreshFrom
	}
	// Instant.truncatedTo(DAYS) floors, also before 1970.
	day := asOfMs / dayMs
	if asOfMs%dayMs < 0 {
		day--
	}
	return (day + 1) * dayMs
}
