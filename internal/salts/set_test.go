package salts_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
)

// oneBucket returns a one-bucket table whose bucket id is id, so tests can
// tell snapshots apart.
func oneBucket(t *testing.T, id int) *salts.Table {
	t.Helper()
	tb, err := salts.ParseFileBytes([]byte(strconv.Itoa(id)+",1,s,1,,,,,,,\n"), 1)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

type win struct{ eff, exp int64 }

// newSet builds a set whose i-th file (metadata order) has bucket id i.
func newSet(t *testing.T, loadedAt time.Time, wins ...win) *salts.Set {
	t.Helper()
	md := salts.Metadata{Version: 1, FirstLevel: "f", IDPrefix: "a", IDSecret: "s"}
	var tables []*salts.Table
	for i, w := range wins {
		md.Files = append(md.Files, salts.File{Effective: w.eff, Expires: w.exp, Location: "l", Size: 1})
		tables = append(tables, oneBucket(t, i))
	}
	s, err := salts.NewSet(md, tables, loadedAt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSetAt(t *testing.T) {
	tests := []struct {
		name   string
		wins   []win // in metadata order
		asOf   int64
		wantID int64 // metadata index of the chosen file
	}{
		{"single in force", []win{{100, 200}}, 150, 0},
		{"effective boundary inclusive", []win{{100, 200}, {150, 300}}, 150, 1},
		{"expires boundary exclusive", []win{{100, 200}}, 200, 0}, // none qualifies; last
		{"latest effective wins", []win{{100, 1000}, {200, 1000}, {300, 1000}}, 250, 1},
		{"none yet effective: last", []win{{100, 200}, {150, 300}, {400, 500}}, 50, 2},
		{"stop at first not yet effective", []win{{100, 200}, {150, 300}, {400, 500}}, 160, 1},
		{"all expired: last", []win{{100, 200}, {150, 300}}, 1000, 1},
		{"expired first entry stops the walk", []win{{100, 200}, {150, 300}, {400, 500}}, 250, 2},
		{"expired middle entry stops the walk", []win{{100, 1000}, {200, 250}, {300, 1000}}, 400, 0},
		{"sorted by effective", []win{{300, 1000}, {100, 1000}, {200, 1000}}, 250, 2},
		{"equal effective keeps file order", []win{{100, 1000}, {100, 1000}}, 150, 1},
		{"last of sorted list, not of metadata", []win{{300, 400}, {100, 200}}, 1000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSet(t, time.UnixMilli(0), tt.wins...)
			got := s.At(tt.asOf)
			if id := got.Table.Entry(0).ID; id != tt.wantID {
				t.Errorf("At(%d) chose file %d (%+v); want file %d", tt.asOf, id, *got, tt.wantID)
			}
		})
	}
}

func TestSetDefaultExpiry(t *testing.T) {
	loaded := time.UnixMilli(1_000_000)
	s := newSet(t, loaded, win{100, 0}, win{200, 0})
	wantExp := loaded.Add(365 * 24 * time.Hour).UnixMilli()
	for _, sn := range s.Snapshots() {
		if sn.Expires != wantExp {
			t.Errorf("Expires = %d; want %d", sn.Expires, wantExp)
		}
	}
	if id := s.At(wantExp - 1).Table.Entry(0).ID; id != 1 {
		t.Errorf("At(expiry-1) chose file %d; want 1", id)
	}
	// At expiry the first file stops the walk, so the last one is returned.
	if id := s.At(wantExp).Table.Entry(0).ID; id != 1 {
		t.Errorf("At(expiry) chose file %d; want 1", id)
	}
	if n := testing.AllocsPerRun(10, func() { s.At(500) }); n != 0 {
		t.Errorf("At allocates %v times; want 0", n)
	}
}

func TestSetAccessors(t *testing.T) {
	md := salts.Metadata{Version: 42, FirstLevel: "first", IDPrefix: "a", IDSecret: "s",
		Files: []salts.File{{Effective: 1, Location: "l", Size: 1}}}
	s, err := salts.NewSet(md, []*salts.Table{oneBucket(t, 1)}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != 42 || s.FirstLevel() != "first" {
		t.Errorf("Version, FirstLevel = %d, %q; want 42, first", s.Version(), s.FirstLevel())
	}
}

func TestNewSetErrors(t *testing.T) {
	md := salts.Metadata{Version: 1, FirstLevel: "f", IDPrefix: "a", IDSecret: "s",
		Files: []salts.File{{Effective: 1, Location: "l", Size: 1}}}
	two := md
	two.Files = []salts.File{{Effective: 1, Location: "l", Size: 2}}
	tests := []struct {
		name   string
		md     salts.Metadata
		tables []*salts.Table
	}{
		{"no files", salts.Metadata{}, nil},
		{"too few tables", md, nil},
		{"nil table", md, []*salts.Table{nil}},
		{"size mismatch", two, []*salts.Table{oneBucket(t, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := salts.NewSet(tt.md, tt.tables, time.Unix(0, 0)); err == nil {
				t.Errorf("NewSet succeeded; want error")
			}
		})
	}
}

const day = 86_400_000

func TestPreviousApplies(t *testing.T) {
	const asOf = 1_750_000_000_000
	withSalt := salts.Entry{PreviousSalt: "p"}
	withKey := salts.Entry{PreviousKey: km(1, key1, "ks")}
	keyNoSalt := salts.Entry{PreviousKey: km(1, key1, "")}
	tests := []struct {
		name        string
		e           salts.Entry
		lastUpdated int64
		want        bool
	}{
		{"89 days", withSalt, asOf - 89*day, true},
		{"one ms short of 90 days", withSalt, asOf - 90*day + 1, true},
		{"exactly 90 days", withSalt, asOf - 90*day, false},
		{"over 90 days", withSalt, asOf - 200*day, false},
		{"same instant", withSalt, asOf, true},
		{"future by one ms", withSalt, asOf + 1, true},
		{"future by 200 days", withSalt, asOf + 200*day, true},
		{"previous key material", withKey, asOf - day, true},
		{"previous key without salt", keyNoSalt, asOf - day, false},
		{"nothing previous", salts.Entry{CurrentSalt: "c"}, asOf - day, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.LastUpdated = tt.lastUpdated
			if got := salts.PreviousApplies(e, asOf); got != tt.want {
				t.Errorf("PreviousApplies(lastUpdated %d, asOf %d) = %v; want %v", e.LastUpdated, asOf, got, tt.want)
			}
		})
	}
}

func TestRefreshFrom(t *testing.T) {
	const midnight = 20_000 * day // 2024-10-04T00:00:00Z
	tests := []struct {
		name              string
		refreshFrom, asOf int64
		want              int64
	}{
		{"future kept", midnight + 5, midnight, midnight + 5},
		{"equal kept", midnight + 5, midnight + 5, midnight + 5},
		{"past: next midnight", midnight - 1, midnight + 12345, midnight + day},
		{"asOf at midnight: the next one", 0, midnight, midnight + day},
		{"asOf just before midnight", 0, midnight - 1, midnight},
		{"before 1970 floors", -5 * day, -1, 0},
		{"before 1970 at midnight", -5 * day, -day, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := salts.Entry{RefreshFrom: tt.refreshFrom}
			if got := salts.RefreshFrom(e, tt.asOf); got != tt.want {
				t.Errorf("RefreshFrom(%d, %d) = %d; want %d", tt.refreshFrom, tt.asOf, got, tt.want)
			}
		})
	}
}

// K-11 (operator-api.md §6): bucket ids of the OPR and CORE fixture sets.
func TestBucketIDKnownAnswers(t *testing.T) {
	sets := []struct {
		prefix, secret string
		want           map[int64]string
	}{
		{"b", "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", map[int64]string{
			1000000: "bKaoveQoPR", 1000001: "b1aZVGl7aB", 1000002: "bv3WM92zaA", 1000003: "bl5yy6kr58", 1000004: "be58Mjz13q"}},
		{"a", "m3yMIcbg9vCaFLJsn4m4PfruZnvAZ72OxmFG5QsGMOw=", map[int64]string{
			1000000: "aRm9D3Bz2n", 1000003: "a32MkAPRZV", 1000004: "aLZnQe8Om7"}},
	}
	for _, st := range sets {
		st.want[-1] = st.prefix // Java hashids encodes negatives as ""
		md := salts.Metadata{Version: 1, FirstLevel: "f", IDPrefix: st.prefix, IDSecret: st.secret,
			Files: []salts.File{{Effective: 1, Location: "l", Size: 1}}}
		s, err := salts.NewSet(md, []*salts.Table{oneBucket(t, 1)}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range st.want {
			if got := s.BucketID(id); got != want {
				t.Errorf("BucketID(%d) with prefix %q = %q; want %q", id, st.prefix, got, want)
			}
			if got := string(s.AppendBucketID([]byte("x:"), id)); got != "x:"+want {
				t.Errorf("AppendBucketID(x:, %d) = %q; want %q", id, got, "x:"+want)
			}
			// The cached form, on a fresh set whose bucket 0 has id:
			// computed, then unpacked from the cache.
			fresh, err := salts.NewSet(md, []*salts.Table{oneBucket(t, 1)}, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 {
				if got := string(fresh.AppendBucketIDAt([]byte("x:"), &fresh.Snapshots()[0], 0, id)); got != "x:"+want {
					t.Errorf("AppendBucketIDAt(x:, bucket 0, %d), call %d = %q; want %q", id, round+1, got, "x:"+want)
				}
			}
		}
	}
}

// TestBucketIDCache: the cached bucket ids equal the encoded ones for ids of
// every length, including those too long to pack (over 10 characters), and
// an index outside the snapshot falls back to encoding.
func TestBucketIDCache(t *testing.T) {
	md := salts.Metadata{Version: 1, FirstLevel: "f", IDPrefix: "p", IDSecret: "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=",
		Files: []salts.File{{Effective: 1, Location: "l", Size: 1}}}
	short, long := false, false
	for _, id := range []int64{0, 1, 61, 62, 1000000, 1 << 31, 1 << 40, 1 << 50, 1<<62 + 12345} {
		s, err := salts.NewSet(md, []*salts.Table{oneBucket(t, 1)}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := s.BucketID(id)
		short = short || len(want)-1 <= 10
		long = long || len(want)-1 > 10
		for round := range 2 {
			if got := string(s.AppendBucketIDAt(nil, &s.Snapshots()[0], 0, id)); got != want {
				t.Errorf("id %d call %d: cached %q; encoded %q", id, round+1, got, want)
			}
		}
		if got := string(s.AppendBucketIDAt(nil, &s.Snapshots()[0], 1, id)); got != want {
			t.Errorf("id %d at an index past the table: %q; want %q", id, got, want)
		}
	}
	if !short || !long {
		t.Errorf("ids packed: %v, too long to pack: %v; want both covered", short, long)
	}
}

// TestBucketIDCacheConcurrent: requests mapping into the same buckets fill
// and read the cache at once; run under -race, every caller still gets the
// encoded id.
func TestBucketIDCacheConcurrent(t *testing.T) {
	md := salts.Metadata{Version: 1, FirstLevel: "f", IDPrefix: "p", IDSecret: "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=",
		Files: []salts.File{{Effective: 1, Location: "l", Size: 1}}}
	s, err := salts.NewSet(md, []*salts.Table{oneBucket(t, 1)}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const id = 1000000
	want := s.BucketID(id)
	sn := &s.Snapshots()[0]
	var wg sync.WaitGroup
	got := make([]string, 8)
	for g := range got {
		wg.Go(func() {
			var b []byte
			for range 100 {
				b = s.AppendBucketIDAt(b[:0], sn, 0, id)
				if string(b) != want {
					break
				}
			}
			got[g] = string(b)
		})
	}
	wg.Wait()
	for g, id := range got {
		if id != want {
			t.Errorf("goroutine %d: bucket id %q; want %q", g, id, want)
		}
	}
}
