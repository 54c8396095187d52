package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// TestRunLoopsUnderLoad runs every background loop on a fake clock while
// requests read the store (run with -race): a version bump is picked up,
// tokens are renewed, an opt-out delta arrives, and Run stops when ctx ends.
func TestRunLoopsUnderLoad(t *testing.T) {
	c := newCore(t, standin.Options{TokenLifetime: 5 * time.Minute, NoJitter: true}) // always inside the renewal window
	const tick = 10 * time.Second
	clk := clock.NewFake(time.Now())
	cfg := c.config(false)
	cfg.Clock = clk
	cfg.DefaultInterval = tick
	cfg.OptoutInterval = tick
	cfg.AttestCheck = tick
	o := startOperator(t, cfg)
	var attests atomic.Int32
	o.Client.OnAttest = func(*attest.Token) { attests.Add(1) }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	loops := 1 + len(o.Sync.Parts()) + 1 // attestation, each store, opt-out
	waitCtx, stopWait := context.WithTimeout(ctx, 30*time.Second)
	defer stopWait()
	if err := clk.BlockUntil(waitCtx, loops); err != nil {
		t.Fatalf("%d loops did not start: %v", loops, err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := o.Store.Load()
				if !snap.Complete() {
					t.Error("incomplete snapshot published")
					return
				}
				var h [32]byte
				o.OptOuts.OptedOut(&h)
			}
		}()
	}
	// Each loop has finished a tick's work once it has received the next
	// tick: two ticks, and the first one's refresh is done.
	c.bump(t, localdata.ClientsMetadata)
	clk.Advance(tick)
	clk.Advance(tick)
	if v := o.Sync.Loader.Version(store.PartClients); v != 2 {
		t.Errorf("clients version after a tick = %d; want 2", v)
	}
	if n := attests.Load(); n < 2 {
		t.Errorf("re-attestations after a tick = %d; want at least 2 (at start and on the tick)", n)
	}
	c.standin.ForTest.AddOptOuts(optout.Record{FLH: [32]byte{1}, AdIDLen: 32, Timestamp: 1})
	clk.Advance(tick)
	clk.Advance(tick)
	if n := o.OptOuts.Len(); n != 1 {
		t.Errorf("opt-outs after a tick = %d; want the new delta's 1", n)
	}
	close(stop)
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after cancel", err)
	}
}

// TestAttestRetryableFailuresGiveUpAfter12h: non-200 answers other than
// 401/403 are retryable until they have lasted 12 h (§1.8); a success resets.
func TestAttestRetryableFailuresGiveUpAfter12h(t *testing.T) {
	c := newCore(t, standin.Options{})
	clk := clock.NewFake(time.Now())
	cfg := c.config(false)
	cfg.Clock = clk
	o, _ := core.New(cfg)
	ctx := context.Background()
	c.standin.ForTest.SetAttestStatus(http.StatusInternalServerError)
	err := o.Client.Attest(ctx)
	var ae *core.AttestError
	if !errors.As(err, &ae) || ae.Status != 500 || core.IsFatal(err) {
		t.Fatalf("first 500 = %v; want retryable *AttestError", err)
	}
	clk.Advance(11 * time.Hour)
	if err := o.Client.Attest(ctx); core.IsFatal(err) {
		t.Fatalf("500 after 11 h = %v; want retryable", err)
	}
	clk.Advance(2 * time.Hour)
	if err := o.Client.Attest(ctx); !core.IsFatal(err) {
		t.Fatalf("500 after 13 h = %v; want fatal", err)
	}
	c.standin.ForTest.SetAttestStatus(0)
	if err := o.Client.Attest(ctx); err != nil {
		t.Fatal(err)
	}
	c.standin.ForTest.SetAttestStatus(http.StatusBadGateway)
	if err := o.Client.Attest(ctx); core.IsFatal(err) {
		t.Fatalf("502 right after a success = %v; want retryable (timer reset)", err)
	}
}

// TestOptOutSyncFailuresAreLoud: a corrupt file, an unreachable listing and
// a missing optout_url are errors that keep the previous index; none turns
// into an empty opt-out set.
func TestOptOutSyncFailuresAreLoud(t *testing.T) {
	c := newCore(t, standin.Options{})
	good := optout.AppendRecord(nil, &optout.Record{FLH: [32]byte{7}, AdIDLen: 32, Timestamp: 5})
	var body atomic.Pointer[[]byte]
	body.Store(&good)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /optout/refresh", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"version":1,"optout_logs":[{"type":"delta","location":"http://` + r.Host + `/optout/delta/2026-01-01/optout-delta-000_2026-01-01T00.05.00Z_0a1b2c3d.dat"},` +
			`{"type":"delta","location":"http://` + r.Host + `/elsewhere/f.dat"}]}`))
	})
	mux.HandleFunc("GET /optout/delta/2026-01-01/optout-delta-000_2026-01-01T00.05.00Z_0a1b2c3d.dat", func(w http.ResponseWriter, _ *http.Request) { w.Write(*body.Load()) })
	fake := httptest.NewServer(mux)
	defer fake.Close()

	cfg := c.config(false)
	cfg.OptoutPath = fake.URL + "/optout/refresh"
	o, _ := core.New(cfg)
	ctx := context.Background()
	if err := o.OptOutSync.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	flh := [32]byte{7}
	if !o.OptOuts.OptedOut(&flh) || o.OptOuts.Len() != 1 {
		t.Fatalf("after sync: opted out %v, len %d; want the one record (the file outside optout/ ignored)", o.OptOuts.OptedOut(&flh), o.OptOuts.Len())
	}

	// The same location with new, corrupt content is not re-downloaded
	// (files are immutable); a new listing with a corrupt file fails.
	o2, _ := core.New(cfg)
	bad := good[:71]
	body.Store(&bad)
	if err := o2.OptOutSync.Sync(ctx); !errors.Is(err, optout.ErrFileSize) {
		t.Fatalf("corrupt file: Sync = %v; want ErrFileSize", err)
	}
	if o2.OptOuts.Synced() {
		t.Fatal("a failed first sync published an index")
	}
	fake.Close()
	if err := o.OptOutSync.Sync(ctx); err == nil {
		t.Fatal("Sync with Opt-Out down succeeded")
	}
	if !o.OptOuts.OptedOut(&flh) {
		t.Fatal("failed sync dropped the previous index")
	}

	// No optout_url from Core and a relative path: ErrNoOptoutURL.
	cfg.OptoutPath = "/optout/refresh"
	o3, _ := core.New(cfg)
	if err := o3.OptOutSync.Sync(ctx); !errors.Is(err, core.ErrNoOptoutURL) {
		t.Fatalf("before attestation: Sync = %v; want ErrNoOptoutURL", err)
	}
}

// TestStartBackoffRunsOnTheClock: start-up retries a failing /attest after
// 500 ms, then 1 s (doubling), waiting on the injected clock; once Core
// answers, Start loads everything and returns.
func TestStartBackoffRunsOnTheClock(t *testing.T) {
	c := newCore(t, standin.Options{})
	c.standin.ForTest.SetAttestStatus(http.StatusServiceUnavailable)
	clk := clock.NewFake(time.Now())
	cfg := c.config(false)
	cfg.Clock = clk
	cfg.Metrics = core.NewMetrics(prometheus.NewRegistry())
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int32
	o.Client.OnAttestError = func(error) { failures.Add(1) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.Start(ctx) }()

	backoff := func(n int32) {
		t.Helper()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("no backoff timer after failure %d: %v", n, err)
		}
		if got := failures.Load(); got != n {
			t.Fatalf("failed attempts = %d; want %d", got, n)
		}
	}
	backoff(1)
	clk.Advance(499 * time.Millisecond)
	if got := failures.Load(); got != 1 || clk.Waiters() != 1 {
		t.Fatalf("before 500 ms: %d attempts, %d timers; want still waiting after 1", got, clk.Waiters())
	}
	clk.Advance(time.Millisecond) // second attempt, fails again
	backoff(2)
	c.standin.ForTest.SetAttestStatus(0)
	clk.Advance(999 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Start returned %v before the 1 s backoff ended", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Start = %v; want nil once Core answers", err)
	}
	if got := failures.Load(); got != 2 || !o.Store.Load().Complete() {
		t.Fatalf("after Start: %d failed attempts, complete snapshot %v; want 2 and true", got, o.Store.Load().Complete())
	}
}
