package core_test

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// s3 returns a presigned-looking URL for key.
func s3(key string) string {
	return "https://bucket.s3.amazonaws.com/" + key + "?X-Amz-Credential=AKIA%2Fdelta%2Fpartition&X-Amz-Signature=0f0f"
}

// fname builds an Opt-Out file name: kind is "delta", "partition" or a
// legacy "log"/"snapshot"; ts is yyyy-MM-ddTHH:mm:ssZ.
func fname(kind string, replica int, ts string) string {
	return fmt.Sprintf("optout-%s-%03d_%s_%08x.dat", kind, replica, strings.ReplaceAll(ts, ":", "."), len(ts)*7919+replica)
}

func part(folder, ts string) string { return s3(folder + "partition/" + fname("partition", 0, ts)) }

// delta puts a delta in the day folder of its timestamp.
func delta(folder, ts string) string { return deltaIn(folder, ts[:10], ts) }

func deltaIn(folder, day, ts string) string {
	return s3(folder + "delta/" + day + "/" + fname("delta", 0, ts))
}

func base(loc string) string { return path.Base(strings.SplitN(loc, "?", 2)[0]) }

func TestOptOutSelection(t *testing.T) {
	const f = "optout/"
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		sel         core.OptOutSelection
		folder      string
		now         time.Time
		locs        []string
		want        []string // selected base names, in order
		wantSkipped int
		wantBad     int
	}{
		{
			name: "no partition: every delta under delta/",
			locs: []string{delta(f, "2026-01-01T00:00:00Z"), delta(f, "2026-03-10T11:00:00Z"), s3("elsewhere/" + fname("delta", 0, "2026-03-10T11:00:00Z"))},
			want: []string{fname("delta", 0, "2026-01-01T00:00:00Z"), fname("delta", 0, "2026-03-10T11:00:00Z")},
		},
		{
			name: "partitions across days: the earliest of each UTC day",
			locs: []string{
				part(f, "2026-03-08T06:00:00Z"), part(f, "2026-03-08T00:05:00Z"), part(f, "2026-03-09T00:05:00Z"),
				part(f, "2026-03-09T23:59:59Z"),
			},
			want:        []string{fname("partition", 0, "2026-03-08T00:05:00Z"), fname("partition", 0, "2026-03-09T00:05:00Z")},
			wantSkipped: 2,
		},
		{
			name: "backtrack window and grace: deltas before last partition − 15 min are dropped",
			locs: []string{
				part(f, "2026-03-09T00:05:00Z"),
				delta(f, "2026-03-07T12:00:00Z"), // day folder not listed (backtrack 1 day)
				delta(f, "2026-03-08T10:00:00Z"), // listed, before the grace window
				delta(f, "2026-03-08T23:50:00Z"), // exactly last partition − 3×300 s: kept
				delta(f, "2026-03-09T00:01:00Z"),
				delta(f, "2026-03-10T11:00:00Z"),
			},
			want: []string{fname("partition", 0, "2026-03-09T00:05:00Z"),
				fname("delta", 0, "2026-03-08T23:50:00Z"), fname("delta", 0, "2026-03-09T00:01:00Z"), fname("delta", 0, "2026-03-10T11:00:00Z")},
			wantSkipped: 1,
		},
		{
			name: "backtrack 2 days lists an older day folder",
			sel:  core.OptOutSelection{DeltaBacktrackDays: 2},
			locs: []string{part(f, "2026-03-09T00:05:00Z"), deltaIn(f, "2026-03-07", "2026-03-09T01:00:00Z")},
			want: []string{fname("partition", 0, "2026-03-09T00:05:00Z"), fname("delta", 0, "2026-03-09T01:00:00Z")},
		},
		{
			name: "backtrack 1 day does not list it",
			locs: []string{part(f, "2026-03-09T00:05:00Z"), deltaIn(f, "2026-03-07", "2026-03-09T01:00:00Z")},
			want: []string{fname("partition", 0, "2026-03-09T00:05:00Z")},
		},
		{
			name: "today's folder is listed even before the partition's time of day",
			now:  time.Date(2026, 3, 10, 0, 2, 0, 0, time.UTC),
			locs: []string{part(f, "2026-03-09T00:05:00Z"), delta(f, "2026-03-10T00:01:00Z")},
			want: []string{fname("partition", 0, "2026-03-09T00:05:00Z"), fname("delta", 0, "2026-03-10T00:01:00Z")},
		},
		{
			name:        "rotate interval 60 s: grace is 3 min",
			sel:         core.OptOutSelection{DeltaRotateInterval: time.Minute},
			locs:        []string{part(f, "2026-03-10T00:05:00Z"), delta(f, "2026-03-10T00:01:00Z"), delta(f, "2026-03-10T00:03:00Z")},
			want:        []string{fname("partition", 0, "2026-03-10T00:05:00Z"), fname("delta", 0, "2026-03-10T00:03:00Z")},
			wantSkipped: 1,
		},
		{
			name:        "max partitions × interval: older partitions are not loaded",
			sel:         core.OptOutSelection{MaxPartitions: 3},
			locs:        []string{part(f, "2026-03-06T00:05:00Z"), part(f, "2026-03-07T12:00:00Z"), part(f, "2026-03-09T00:05:00Z")},
			want:        []string{fname("partition", 0, "2026-03-07T12:00:00Z"), fname("partition", 0, "2026-03-09T00:05:00Z")},
			wantSkipped: 1,
		},
		{
			name: "synthetic disabled: synthetic/ not listed, replica 999 ignored",
			locs: []string{
				part(f, "2026-03-09T00:05:00Z"),
				s3(f + "partition/" + fname("partition", 999, "2026-03-09T00:00:00Z")),
				s3(f + "synthetic/" + fname("partition", 999, "2026-01-01T00:00:00Z")),
				s3(f + "delta/2026-03-10/" + fname("delta", 999, "2026-03-10T01:00:00Z")),
			},
			want:        []string{fname("partition", 0, "2026-03-09T00:05:00Z")},
			wantSkipped: 2,
		},
		{
			name: "synthetic enabled: the first N by name, never expired, not a day's partition",
			sel:  core.OptOutSelection{SyntheticLogsEnabled: true, SyntheticLogsCount: 2},
			locs: []string{
				part(f, "2026-03-09T00:05:00Z"),
				s3(f + "synthetic/" + fname("partition", 999, "2021-04-21T00:00:00Z")),
				s3(f + "synthetic/" + fname("partition", 999, "2021-04-22T00:00:00Z")),
				s3(f + "synthetic/" + fname("partition", 999, "2021-04-23T00:00:00Z")),
				s3(f + "partition/" + fname("partition", 999, "2026-03-09T00:00:00Z")),
			},
			want: []string{fname("partition", 0, "2026-03-09T00:05:00Z"),
				fname("partition", 999, "2021-04-21T00:00:00Z"), fname("partition", 999, "2021-04-22T00:00:00Z"),
				fname("partition", 999, "2026-03-09T00:00:00Z")},
			wantSkipped: 1,
		},
		{
			name: "path compat: log and snapshot keys read as delta and partition",
			sel:  core.OptOutSelection{PathCompat: true},
			locs: []string{
				s3(f + "snapshot/" + fname("snapshot", 0, "2026-03-09T00:05:00Z")),
				s3(f + "log/2026-03-10/" + fname("log", 0, "2026-03-10T01:00:00Z")),
				delta(f, "2026-03-10T02:00:00Z"), // new-style key: not matched in compat mode
			},
			want: []string{fname("snapshot", 0, "2026-03-09T00:05:00Z"), fname("log", 0, "2026-03-10T01:00:00Z")},
		},
		{
			name: "path compat off: log and snapshot keys are not listed",
			locs: []string{s3(f + "snapshot/" + fname("snapshot", 0, "2026-03-09T00:05:00Z")), s3(f + "log/2026-03-10/" + fname("log", 0, "2026-03-10T01:00:00Z"))},
		},
		{
			name:   "folder is matched as a substring of the location",
			folder: "optout-v2/",
			locs:   []string{delta("optout-v2/", "2026-03-10T01:00:00Z"), delta("optout/", "2026-03-10T02:00:00Z")},
			want:   []string{fname("delta", 0, "2026-03-10T01:00:00Z")},
		},
		{
			name: "bad delta names are skipped and reported",
			locs: []string{
				delta(f, "2026-03-10T01:00:00Z"),
				s3(f + "delta/2026-03-10/optout-delta-000_2026-03-10T01.00.00Z.dat"),
				s3(f + "delta/2026-03-10/junk.dat"),
				s3(f + "delta/2026-03-10/optout-delta-000_2026-03-10T01:00:00Z_00000000.dat"),
			},
			want:    []string{fname("delta", 0, "2026-03-10T01:00:00Z")},
			wantBad: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			folder := cmpOr(tc.folder, f)
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			got, err := tc.sel.Select(tc.locs, folder, at)
			if err != nil {
				t.Fatalf("Select = %v", err)
			}
			var names []string
			for _, g := range got.Files {
				names = append(names, base(g.Location))
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("selected\n  %q\nwant\n  %q", names, tc.want)
			}
			if got.Skipped != tc.wantSkipped || len(got.BadNames) != tc.wantBad {
				t.Errorf("skipped %d, bad %d (%v); want %d, %d", got.Skipped, len(got.BadNames), got.BadNames, tc.wantSkipped, tc.wantBad)
			}
			for _, e := range got.BadNames {
				if !errors.Is(e, optout.ErrFileName) || strings.Contains(e.Error(), "X-Amz") {
					t.Errorf("bad name error %q: want ErrFileName naming only the base name", e)
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestOptOutSelectionBadPartitionName: a partition the selection cannot
// place fails the sync, as in the reference, instead of dropping its
// opt-outs.
func TestOptOutSelectionBadPartitionName(t *testing.T) {
	locs := []string{part("optout/", "2026-03-09T00:05:00Z"), s3("optout/partition/optout-partition-000_yesterday_00000000.dat")}
	got, err := core.OptOutSelection{}.Select(locs, "optout/", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	if !errors.Is(err, core.ErrOptOutPartitionName) || !errors.Is(err, optout.ErrFileName) {
		t.Fatalf("Select = %v; want ErrOptOutPartitionName wrapping ErrFileName", err)
	}
	if len(got.BadNames) != 1 {
		t.Fatalf("BadNames = %v; want the one partition", got.BadNames)
	}
}
