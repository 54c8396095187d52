package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/health"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// loaded returns a store holding the embedded dataset as of now.
func loaded(t *testing.T, now time.Time) *store.Store {
	t.Helper()
	fsys, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(nil)
	l := &store.Loader{Src: store.FSSource{FS: fsys}, Store: st, Paths: store.DatasetPaths(
		store.PartClients, store.PartKeysets, store.PartKeys, store.PartSalts, store.PartRuntime)}
	if err := l.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// world is the state the sources of a Core-mode checker report.
type world struct {
	attest health.Attestation
	stores map[store.Part]health.Refresh
	optout health.Refresh
}

func (w *world) checker(st *store.Store, clk clock.Clock) *health.Checker {
	return &health.Checker{
		Store:       st,
		Attestation: func() health.Attestation { return w.attest },
		Stores:      func() map[store.Part]health.Refresh { return w.stores },
		OptOut:      func() health.Refresh { return w.optout },
		Clock:       clk,
	}
}

func TestReadinessDegradedFatal(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	st := loaded(t, start)
	saltsExpire := time.UnixMilli(st.Load().Salts.At(start.UnixMilli()).Expires)
	healthy := func(now time.Time) world {
		ok := health.Refresh{LastSuccess: now.Add(-5 * time.Second), Version: 7}
		return world{
			attest: health.Attestation{Refresh: ok, ExpiresAt: now.Add(time.Hour)},
			stores: map[store.Part]health.Refresh{store.PartSalts: ok, store.PartClients: ok},
			optout: ok,
		}
	}
	coreDown := func(r *health.Refresh, since time.Time, n int) {
		r.Failures, r.FailingSince, r.LastError, r.LastErrorAt = n, since, "GET http://core/salt/refresh: connection refused", since
	}
	tests := []struct {
		name         string
		at           time.Time
		edit         func(w *world, now time.Time)
		notReady     []string // exact lines, in order
		degraded     []string // substrings, one per condition, in order
		wantFatal    string   // substring of the fatal reason; "" = none
		emptyStore   bool
		shuttingDown bool
	}{
		{name: "healthy", at: start},
		{name: "first load not done", at: start, emptyStore: true, notReady: []string{"store: no data loaded yet"}},
		{name: "never attested", at: start, edit: func(w *world, _ time.Time) { w.attest = health.Attestation{} },
			notReady: []string{"attestation: not attested yet"}},
		{name: "opt-out never synced", at: start, edit: func(w *world, _ time.Time) { w.optout = health.Refresh{} },
			notReady: []string{"optout: not synced yet"}},
		{name: "draining", at: start, shuttingDown: true, notReady: []string{"server: shutting down"}},
		{name: "core down, token expired, stores failing for 11h", at: start.Add(11 * time.Hour), edit: func(w *world, now time.Time) {
			down := start
			w.attest.ExpiresAt = down.Add(30 * time.Second)
			w.attest.LastSuccess = down
			coreDown(&w.attest.Refresh, down.Add(time.Minute), 600)
			for p, r := range w.stores {
				r.LastSuccess = down
				coreDown(&r, down.Add(10*time.Second), 3960)
				w.stores[p] = r
			}
			w.optout.LastSuccess = down
			coreDown(&w.optout, down.Add(time.Minute), 660)
		}, degraded: []string{
			"attestation: token expired at " + start.Add(30*time.Second).UTC().Format(time.RFC3339) + " (last error: GET http://core/salt/refresh: connection refused); serving from the last snapshots",
			"auth-rotator: 3960 failed refreshes, last success 11h0m0s ago (last error:",
			"salt-rotator: 3960 failed refreshes, last success 11h0m0s ago",
			"optout: 660 failed syncs, last success 11h0m0s ago",
		}},
		{name: "stores stale past 12h", at: start.Add(13 * time.Hour), edit: func(w *world, now time.Time) {
			w.attest.ExpiresAt = now.Add(time.Hour) // attestation works, downloads do not
			r := w.stores[store.PartSalts]
			r.LastSuccess = start
			coreDown(&r, start, 4680)
			w.stores[store.PartSalts] = r
		}, notReady: []string{"salt-rotator: no successful refresh for 13h0m0s"},
			wantFatal: "stores stale past store_refresh_stale_shutdown_hours (12h0m0s): salt-rotator: no successful refresh for 13h0m0s"},
		{name: "attestation failing, token still valid", at: start, edit: func(w *world, now time.Time) {
			coreDown(&w.attest.Refresh, now.Add(-time.Minute), 2)
			w.attest.LastError = "attest: core answered HTTP 503"
		}, degraded: []string{"attestation: 2 failures since"}},
		{name: "salts expired", at: saltsExpire.Add(time.Second), degraded: []string{"salts: the current salt file expired at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.at
			w := healthy(now)
			if tt.edit != nil {
				tt.edit(&w, now)
			}
			s := st
			if tt.emptyStore {
				s = store.New(nil)
			}
			c := w.checker(s, clock.NewFake(now))
			if tt.shuttingDown {
				c.ShuttingDown("")
			}
			ok, reason := c.Healthy()
			want := strings.Join(tt.notReady, "\n")
			if ok != (len(tt.notReady) == 0) || reason != want {
				t.Errorf("Healthy() = %v %q; want %q", ok, reason, want)
			}
			got := c.Degraded()
			if len(got) != len(tt.degraded) {
				t.Errorf("Degraded() = %q; want %d conditions", got, len(tt.degraded))
			} else {
				for i := range got {
					if !strings.Contains(got[i], tt.degraded[i]) {
						t.Errorf("Degraded()[%d] = %q; want it to contain %q", i, got[i], tt.degraded[i])
					}
				}
			}
			err := c.Check()
			var fe *health.FatalError
			if tt.wantFatal == "" && err != nil || tt.wantFatal != "" && (!errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantFatal)) {
				t.Errorf("Check() = %v; want fatal %q", err, tt.wantFatal)
			}
		})
	}
}

// TestSaltsExpiredTimer: expired salts degrade at once and are fatal only
// after salts_expired_shutdown_hours, counted from when they were first seen
// expired (as the reference does).
func TestSaltsExpiredTimer(t *testing.T) {
	start := time.Now()
	st := loaded(t, start)
	now := time.UnixMilli(st.Load().Salts.At(start.UnixMilli()).Expires).Add(time.Minute)
	clk := clock.NewFake(now)
	c := &health.Checker{Store: st, SaltsLimit: 2 * time.Hour, Clock: clk}
	if ok, _ := c.Healthy(); !ok || c.Check() != nil {
		t.Fatalf("salts just expired: Healthy %v, Check %v; want ready and no fatal", ok, c.Check())
	}
	clk.Advance(119 * time.Minute)
	if ok, _ := c.Healthy(); !ok || c.Check() != nil {
		t.Fatalf("expired 1h59m: Healthy %v, Check %v; want ready and no fatal", ok, c.Check())
	}
	clk.Advance(2 * time.Minute)
	ok, reason := c.Healthy()
	if ok || reason != "salts: expired for more than salts_expired_shutdown_hours (2h0m0s)" {
		t.Fatalf("expired 2h01m: Healthy() = %v %q", ok, reason)
	}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "salts_expired_shutdown_hours (2h0m0s)") {
		t.Fatalf("Check() = %v", err)
	}
}

// TestNoActiveKey: without an active master or refresh key no token can be
// issued, so readiness is 503.
func TestNoActiveKey(t *testing.T) {
	st := loaded(t, time.Now())
	now := time.Unix(st.Load().Keyring.Key(1).Expires, 0).Add(time.Second)
	c := &health.Checker{Store: st, Clock: clock.NewFake(now)}
	ok, reason := c.Healthy()
	for _, want := range []string{"keys: no active master key", "keys: no active refresh key", "keys: no active key in the fallback publisher keyset"} {
		if ok || !strings.Contains(reason, want) {
			t.Errorf("Healthy() = %v %q; want a line %q", ok, reason, want)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	st := loaded(t, now)
	w := world{
		attest: health.Attestation{Refresh: health.Refresh{LastSuccess: now.Add(-time.Minute), Failures: 1, FailingSince: now,
			LastError: "attest: connection refused", LastErrorAt: now}, ExpiresAt: now.Add(-time.Second)},
		stores: map[store.Part]health.Refresh{store.PartSalts: {LastSuccess: now.Add(-90 * time.Second), Version: 42}},
		optout: health.Refresh{LastSuccess: now.Add(-time.Minute), Version: 1700000000},
	}
	c := w.checker(st, clock.NewFake(now))
	b, err := json.Marshal(c.Status())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Ready       bool     `json:"ready"`
		NotReady    []string `json:"not_ready"`
		Degraded    []string `json:"degraded"`
		Attestation struct {
			ExpiresAt string `json:"expires_at"`
			Expired   bool   `json:"expired"`
			LastError string `json:"last_error"`
			Failures  int    `json:"consecutive_failures"`
		} `json:"attestation"`
		Stores []struct {
			Name       string  `json:"name"`
			Version    int64   `json:"version"`
			AgeSeconds float64 `json:"age_seconds"`
		} `json:"stores"`
		OptOut struct {
			Version int64 `json:"version"`
		} `json:"optout"`
		Keys struct {
			MasterKeyID int32 `json:"master_key_id"`
		} `json:"keys"`
		Salts struct {
			Expires string `json:"expires"`
			Expired bool   `json:"expired"`
		} `json:"salts"`
		Limits map[string]string `json:"limits"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Ready || len(got.NotReady) != 0 || len(got.Degraded) != 1 || !got.Attestation.Expired ||
		got.Attestation.LastError != "attest: connection refused" || got.Attestation.Failures != 1 ||
		got.Attestation.ExpiresAt != now.Add(-time.Second).UTC().Format(time.RFC3339) ||
		len(got.Stores) != 1 || got.Stores[0].Name != "salt" || got.Stores[0].Version != 42 || got.Stores[0].AgeSeconds != 90 ||
		got.OptOut.Version != 1700000000 || got.Keys.MasterKeyID == 0 || got.Limits["store_refresh_stale_shutdown"] != "12h0m0s" ||
		got.Salts.Expired || got.Salts.Expires != time.UnixMilli(st.Load().Salts.At(now.UnixMilli()).Expires).UTC().Format(time.RFC3339) {
		t.Fatalf("Status() = %s", b)
	}
}

func TestTerminationFile(t *testing.T) {
	p := t.TempDir() + "/pod_terminating"
	c := &health.Checker{Store: store.New(nil), TerminationFile: p}
	if _, reason := c.Healthy(); strings.Contains(reason, "PodTerminationMonitor") {
		t.Fatalf("reason %q before the file exists", reason)
	}
	os.WriteFile(p, nil, 0o644)
	if ok, reason := c.Healthy(); ok || !strings.Contains(reason, "PodTerminationMonitor: pod is terminating") {
		t.Fatalf("Healthy() = %v %q; want the termination reason", ok, reason)
	}
}

// TestWatchLogsChangesAndStopsOnFatal drives Watch on a fake clock: a
// degraded store is logged once when it appears (not on every tick), and
// the first tick past the stale limit returns the fatal error.
func TestWatchLogsChangesAndStopsOnFatal(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	st := loaded(t, start)
	ok := health.Refresh{LastSuccess: start, Version: 7}
	var state atomic.Pointer[world]
	state.Store(&world{
		attest: health.Attestation{Refresh: ok, ExpiresAt: start.Add(24 * time.Hour)},
		stores: map[store.Part]health.Refresh{store.PartSalts: ok, store.PartClients: ok},
		optout: ok,
	})
	clk := clock.NewFake(start)
	var logs bytes.Buffer
	c := &health.Checker{
		Store:       st,
		Attestation: func() health.Attestation { return state.Load().attest },
		Stores:      func() map[store.Part]health.Refresh { return state.Load().stores },
		OptOut:      func() health.Refresh { return state.Load().optout },
		SaltsLimit:  48 * time.Hour, // only the stale store may be fatal here
		Clock:       clk,
		Log:         slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const period = time.Hour
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, period) }()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}

	failing := health.Refresh{LastSuccess: start, Failures: 3, FailingSince: start, LastError: "connection refused", LastErrorAt: start}
	state.Store(&world{
		attest: state.Load().attest,
		stores: map[store.Part]health.Refresh{store.PartSalts: failing, store.PartClients: ok},
		optout: ok,
	})
	for range 3 {
		clk.Advance(period) // the second and third Advance wait for the previous check
	}
	select {
	case err := <-done:
		t.Fatalf("Watch returned %v with a store failing for 2 h; want it to keep watching", err)
	default:
	}
	clk.Advance(11 * period)
	select {
	case err := <-done:
		var fe *health.FatalError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "store_refresh_stale_shutdown_hours") ||
			!strings.Contains(err.Error(), string(store.PartSalts)) {
			t.Fatalf("Watch = %v; want the stale salts store as fatal", err)
		}
	case <-ctx.Done():
		t.Fatal("Watch did not return past the stale limit")
	}
	if n := strings.Count(logs.String(), "degraded: still serving"); n != 1 {
		t.Fatalf("logged the degraded store %d times; want once, when it appeared:\n%s", n, logs.String())
	}
}
