package core

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// Defaults of OptOutSelection: the reference's conf/default-config.json
// values (core-and-optout.md §4.2).
const (
	DefaultOptoutDeltaRotateInterval = 300 * time.Second
	DefaultOptoutDeltaBacktrackDays  = 1
	DefaultOptoutPartitionInterval   = 86400 * time.Second
	DefaultOptoutMaxPartitions       = 30
)

// ErrOptOutPartitionName means a file listed under <folder>partition/ has
// a malformed name. Like the reference, which cannot order such a file,
// the sync fails and the previous index stays: skipping a partition would
// publish a set that lacks its opt-outs.
var ErrOptOutPartitionName = errors.New("optout: malformed partition file name")

// OptOutSelection is the reference's choice of which listed Opt-Out files
// to load (core-and-optout.md §3.1, §3.4). The zero value of each field
// means the reference's default; the zero OptOutSelection is the
// reference's default configuration.
type OptOutSelection struct {
	// DeltaRotateInterval is optout_delta_rotate_interval. Deltas older
	// than the last partition minus 3× this are not loaded (default 300 s).
	DeltaRotateInterval time.Duration
	// DeltaBacktrackDays is optout_delta_backtrack_in_days: once a
	// partition exists, deltas are listed from the day this many days
	// before it (default 1).
	DeltaBacktrackDays int
	// PartitionInterval is optout_partition_interval and MaxPartitions
	// optout_max_partitions. Partitions older than their product (the
	// reference's "max lifespan", default 30 days) are not loaded.
	PartitionInterval time.Duration
	MaxPartitions     int
	// SyntheticLogsEnabled is optout_synthetic_logs_enabled: list
	// <folder>synthetic/ (the first SyntheticLogsCount names, all when 0)
	// and load replica-999 files, which never expire. When false every
	// replica-999 file is ignored.
	SyntheticLogsEnabled bool
	SyntheticLogsCount   int
	// PathCompat is optout_s3_path_compat: the store names deltas "log"
	// and partitions "snapshot", so prefixes are matched with delta→log,
	// partition→snapshot and listed names read with log→delta,
	// snapshot→partition.
	PathCompat bool
}

func (s OptOutSelection) grace() time.Duration {
	if s.DeltaRotateInterval > 0 {
		return 3 * s.DeltaRotateInterval
	}
	return 3 * DefaultOptoutDeltaRotateInterval
}

func (s OptOutSelection) backtrack() int {
	if s.DeltaBacktrackDays > 0 {
		return s.DeltaBacktrackDays
	}
	return DefaultOptoutDeltaBacktrackDays
}

func (s OptOutSelection) lifespan() time.Duration {
	iv, n := s.PartitionInterval, s.MaxPartitions
	if iv <= 0 {
		iv = DefaultOptoutPartitionInterval
	}
	if n <= 0 {
		n = DefaultOptoutMaxPartitions
	}
	return iv * time.Duration(n)
}

// toStore and fromStore are the reference's PathConversionWrapper renames.
var (
	toStore   = strings.NewReplacer("delta", "log", "partition", "snapshot")
	fromStore = strings.NewReplacer("log", "delta", "snapshot", "partition")
)

// OptOutFile is one selected file.
type OptOutFile struct {
	// Location is the listed URL, downloaded as is.
	Location string
	Name     optout.FileName
}

// OptOutFiles is the result of OptOutSelection.Select.
type OptOutFiles struct {
	// Files to load: partitions (oldest first), then deltas and synthetic
	// files (oldest first).
	Files []OptOutFile
	// Listed counts the distinct locations matched by a listing prefix.
	Listed int
	// BadNames are the base names rejected by optout.ParseFileName, each
	// with its reason. A bad delta or synthetic name is skipped; a bad
	// partition name makes Select fail.
	BadNames []error
	// Skipped counts well-formed listed files not selected: superseded or
	// expired partitions, deltas before the grace window, synthetic files
	// while disabled.
	Skipped int
}

type listed struct {
	loc  string
	base string // base name after the path-compat rename
}

// Select picks the files to load from an /optout/refresh listing, the way
// the reference lists (OptOutCloudSync) and indexes (CloudSyncOptOutStore)
// them:
//
//  1. List <folder>partition/: the locations that contain it (presigned
//     URLs contain the S3 key).
//  2. No partition: list <folder>delta/. Otherwise list
//     <folder>delta/<yyyy-MM-dd>/ for each UTC day from the last partition
//     minus DeltaBacktrackDays through today.
//  3. With SyntheticLogsEnabled, list <folder>synthetic/.
//  4. Keep the earliest partition of each UTC day, not older than the
//     lifespan; deltas not older than the last kept partition minus the
//     grace; replica-999 files only with SyntheticLogsEnabled.
//
// now is the current time.
func (s OptOutSelection) Select(locations []string, folder string, now time.Time) (OptOutFiles, error) {
	var res OptOutFiles
	seen := make(map[string]bool)
	list := func(prefix string) []listed {
		if s.PathCompat {
			prefix = toStore.Replace(prefix)
		}
		var out []listed
		for _, loc := range locations {
			if seen[loc] || !strings.Contains(loc, prefix) {
				continue
			}
			seen[loc] = true
			b := baseName(loc)
			if s.PathCompat {
				b = fromStore.Replace(b)
			}
			out = append(out, listed{loc: loc, base: b})
		}
		return out
	}

	var parts, deltas []OptOutFile
	add := func(l listed, fn optout.FileName) {
		f := OptOutFile{Location: l.loc, Name: fn}
		if fn.Kind == optout.Partition {
			parts = append(parts, f)
		} else {
			deltas = append(deltas, f)
		}
	}

	// 1. Partitions; the last one decides which delta days are listed.
	var lastListed time.Time
	var badPartition error
	for _, l := range list(folder + "partition/") {
		fn, err := optout.ParseFileName(l.base)
		if err != nil {
			res.BadNames = append(res.BadNames, err)
			badPartition = cmp.Or(badPartition, err)
			continue
		}
		if fn.Kind == optout.Partition && fn.Time.After(lastListed) {
			lastListed = fn.Time
		}
		add(l, fn)
	}

	// 2. Deltas.
	var deltaListing []listed
	if lastListed.IsZero() {
		deltaListing = list(folder + "delta/")
	} else {
		// The reference steps a full instant (last partition − N days) while
		// it is before now, so it skips today's folder whenever now's time
		// of day is before the partition's; we list through today.
		day := lastListed.AddDate(0, 0, -s.backtrack()).Truncate(24 * time.Hour)
		today := now.UTC().Truncate(24 * time.Hour)
		for ; !day.After(today); day = day.AddDate(0, 0, 1) {
			deltaListing = append(deltaListing, list(folder+"delta/"+day.Format(time.DateOnly)+"/")...)
		}
	}

	// 3. Synthetic files: the first SyntheticLogsCount names.
	var synth []listed
	if s.SyntheticLogsEnabled {
		synth = list(folder + "synthetic/")
		slices.SortFunc(synth, func(a, b listed) int { return strings.Compare(a.loc, b.loc) })
		if n := s.SyntheticLogsCount; n > 0 && len(synth) > n {
			res.Skipped += len(synth) - n
			synth = synth[:n]
		}
	}
	for _, l := range slices.Concat(deltaListing, synth) {
		fn, err := optout.ParseFileName(l.base)
		if err != nil {
			res.BadNames = append(res.BadNames, err)
			continue
		}
		add(l, fn)
	}
	res.Listed = len(seen)
	if badPartition != nil {
		return res, fmt.Errorf("%w: %w", ErrOptOutPartitionName, badPartition)
	}

	// 4. Index selection.
	var synthetic []OptOutFile
	keep := func(f OptOutFile) bool {
		if f.Name.Synthetic() {
			if s.SyntheticLogsEnabled {
				synthetic = append(synthetic, f)
			} else {
				res.Skipped++
			}
			return false
		}
		return true
	}
	byDay := make(map[time.Time]OptOutFile)
	expired := now.Add(-s.lifespan())
	for _, f := range parts {
		if !keep(f) {
			continue
		}
		if f.Name.Time.Before(expired) {
			res.Skipped++
			continue
		}
		day := f.Name.Time.Truncate(24 * time.Hour)
		if old, ok := byDay[day]; ok {
			res.Skipped++
			if earlier(old, f) {
				continue
			}
		}
		byDay[day] = f
	}
	var last time.Time
	for _, f := range byDay {
		res.Files = append(res.Files, f)
		if f.Name.Time.After(last) {
			last = f.Name.Time
		}
	}
	sortFiles(res.Files)
	cutoff := last
	if !last.IsZero() {
		cutoff = last.Add(-s.grace())
	}
	n := len(res.Files)
	for _, f := range deltas {
		if !keep(f) {
			continue
		}
		if f.Name.Time.Before(cutoff) {
			res.Skipped++
			continue
		}
		res.Files = append(res.Files, f)
	}
	res.Files = append(res.Files, synthetic...)
	sortFiles(res.Files[n:])
	return res, nil
}

// earlier reports whether a sorts before b: by time, then location.
func earlier(a, b OptOutFile) bool {
	if c := a.Name.Time.Compare(b.Name.Time); c != 0 {
		return c < 0
	}
	return a.Location < b.Location
}

func sortFiles(fs []OptOutFile) {
	slices.SortFunc(fs, func(a, b OptOutFile) int {
		if earlier(a, b) {
			return -1
		}
		if earlier(b, a) {
			return 1
		}
		return 0
	})
}

// baseName returns the last path element of a location: a URL's path, or a
// plain path without any query.
func baseName(loc string) string {
	p := loc
	if u, err := url.Parse(loc); err == nil && u.Path != "" {
		p = u.Path
	} else if i := strings.IndexAny(loc, "?#"); i >= 0 {
		p = loc[:i]
	}
	return path.Base(p)
}
