package optout_test

import (
	"encoding/base64"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// TestStoreLogoutNeverMissed is issue 10's opt-out race: a logout moves
// from the local pending index into the synced base when a Replace
// contains it, and a concurrent lookup must see it in one or the other.
// With base and pending published as two pointers, a reader could load the
// old base and then the new pending and miss it. Run with -race.
func TestStoreLogoutNeverMissed(t *testing.T) {
	logout := rec(7, 0x77, 32, 1700000000)
	// A large synced index makes a lookup's first step slow enough for the
	// writer to publish in between.
	var recs []optout.Record
	for i := range 1 << 16 {
		r := rec(0, 0x11, 32, 100)
		r.FLH[0], r.FLH[1], r.FLH[2] = byte(i>>16), byte(i>>8), byte(i)
		r.AdvertisingID[0], r.AdvertisingID[1] = byte(i>>8), byte(i)
		recs = append(recs, r)
	}
	synced := optout.NewIndex(recs)
	withLogout := optout.NewIndex(append(recs, logout))

	var cur atomic.Pointer[optout.Store]
	first := optout.NewStore()
	first.Replace(synced)
	first.Add(logout)
	cur.Store(first)

	var misses atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				s := cur.Load()
				if !s.OptedOut(&logout.FLH) {
					misses.Add(1)
				}
				if _, ok := s.AdvertisingIDTimestamp(adB64(logout)); !ok {
					misses.Add(1)
				}
			}
		}()
	}
	for range 200000 {
		s := optout.NewStore()
		s.Replace(synced)
		s.Add(logout) // pending holds it
		cur.Store(s)
		s.Replace(withLogout) // now the base holds it, pending does not
	}
	close(done)
	wg.Wait()
	if n := misses.Load(); n > 0 {
		t.Fatalf("a lookup missed a logout %d times while it moved from pending to the synced index", n)
	}
}

func adB64(r optout.Record) string {
	return base64.StdEncoding.EncodeToString(r.AdvertisingID[:r.AdIDLen])
}
