package optout

import (
	"bytes"
	"encoding/base64"
	"slices"
	"sync"
	"sync/atomic"
)

// Index is an immutable set of opt-outs: sorted first-level hashes with the
// latest timestamp each, and sorted advertising ids with the earliest
// (§3.4). It is compact: about 50 bytes per record.
type Index struct {
	flh   [][32]byte
	flhTS []int64
	ads   []adEntry
}

type adEntry struct {
	id  [33]byte
	n   uint8
	sec int64
}

// NewIndex builds an index from records, which it may reorder.
func NewIndex(recs []Record) *Index {
	slices.SortFunc(recs, func(a, b Record) int { return bytes.Compare(a.FLH[:], b.FLH[:]) })
	ix := &Index{}
	for i := range recs {
		r := &recs[i]
		if n := len(ix.flh); n > 0 && ix.flh[n-1] == r.FLH {
			ix.flhTS[n-1] = max(ix.flhTS[n-1], r.Timestamp)
			continue
		}
		ix.flh = append(ix.flh, r.FLH)
		ix.flhTS = append(ix.flhTS, r.Timestamp)
	}
	ads := make([]adEntry, 0, len(recs))
	for i := range recs {
		ads = append(ads, adEntry{id: recs[i].AdvertisingID, n: recs[i].AdIDLen, sec: recs[i].Timestamp})
	}
	slices.SortFunc(ads, compareAd)
	out := ads[:0]
	for _, a := range ads {
		if n := len(out); n > 0 && out[n-1].n == a.n && out[n-1].id == a.id {
			out[n-1].sec = min(out[n-1].sec, a.sec)
			continue
		}
		out = append(out, a)
	}
	ix.ads = slices.Clip(out)
	return ix
}

func compareAd(a, b adEntry) int {
	if c := bytes.Compare(a.id[:a.n], b.id[:b.n]); c != 0 {
		return c
	}
	return int(a.n) - int(b.n)
}

// Len returns the number of distinct first-level hashes.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.flh)
}

// Timestamp returns the opt-out time (epoch seconds) of a first-level hash.
func (ix *Index) Timestamp(flh *[32]byte) (int64, bool) {
	if ix == nil {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(ix.flh, flh, func(e [32]byte, t *[32]byte) int { return bytes.Compare(e[:], t[:]) })
	if !ok {
		return 0, false
	}
	return ix.flhTS[i], true
}

// AdvertisingIDTimestamp returns the earliest opt-out time (epoch seconds)
// of an advertising id given as standard base64. Only the exact canonical
// spelling matches, as in the reference's string-keyed map (§2.8).
func (ix *Index) AdvertisingIDTimestamp(b64 string) (int64, bool) {
	if ix == nil || len(b64) != 44 {
		return 0, false
	}
	var buf [33]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(b64))
	if err != nil || (n != 32 && n != 33) {
		return 0, false
	}
	var canon [44]byte
	base64.StdEncoding.Encode(canon[:], buf[:n])
	if string(canon[:]) != b64 {
		return 0, false
	}
	key := adEntry{id: buf, n: uint8(n)}
	i, ok := slices.BinarySearchFunc(ix.ads, key, compareAd)
	if !ok {
		return 0, false
	}
	return ix.ads[i].sec, true
}

// Store publishes the synced index and holds local opt-outs (logouts) that
// take effect at once, until a synced index contains them. Safe for
// concurrent use; lookups take no lock on the synced path.
type Store struct {
	// state is replaced whole, so a reader sees base and pending from the
	// same moment: with two pointers, a lookup could read the old base and
	// then the new pending, and miss a logout that moved from one to the
	// other in between.
	state atomic.Pointer[storeState]
	mu    sync.Mutex // serializes writers; guards local
	local []Record
}

// storeState is one published, immutable view of a Store.
type storeState struct {
	base    *Index // the synced index; nil before the first Replace
	pending *Index // local additions not yet in base
	synced  bool
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{} }

// noState is the view of a Store before its first write.
var noState storeState

func (s *Store) load() *storeState {
	if st := s.state.Load(); st != nil {
		return st
	}
	return &noState
}

// Replace publishes a synced index and drops local additions it contains.
func (s *Store) Replace(ix *Index) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.local[:0]
	for _, r := range s.local {
		if _, ok := ix.Timestamp(&r.FLH); !ok {
			keep = append(keep, r)
		}
	}
	s.local = keep
	s.state.Store(&storeState{base: ix, pending: NewIndex(slices.Clone(keep)), synced: true})
}

// Add records local opt-outs, visible to lookups immediately.
func (s *Store) Add(recs ...Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.local = append(s.local, recs...)
	old := s.load()
	s.state.Store(&storeState{base: old.base, pending: NewIndex(slices.Clone(s.local)), synced: old.synced})
}

// Synced reports whether a synced index has been published.
func (s *Store) Synced() bool { return s.load().synced }

// Len returns the number of opted-out first-level hashes in the synced index.
func (s *Store) Len() int { return s.load().base.Len() }

// OptedOut reports whether any opt-out record exists for flh.
func (s *Store) OptedOut(flh *[32]byte) bool {
	st := s.load()
	if _, ok := st.base.Timestamp(flh); ok {
		return true
	}
	_, ok := st.pending.Timestamp(flh)
	return ok
}

// AdvertisingIDTimestamp returns the earliest opt-out time (epoch seconds) of
// an advertising id in standard base64.
func (s *Store) AdvertisingIDTimestamp(b64 string) (int64, bool) {
	st := s.load()
	a, okA := st.base.AdvertisingIDTimestamp(b64)
	b, okB := st.pending.AdvertisingIDTimestamp(b64)
	switch {
	case okA && okB:
		return min(a, b), true
	case okA:
		return a, true
	}
	return b, okB
}
