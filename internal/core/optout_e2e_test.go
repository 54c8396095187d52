package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// TestOptOutSelectionWithStandIn: against the stand-in Opt-Out serving a
// partition and deltas, the operator loads yesterday's partition, skips a
// delta the partition already covers (older than the grace window), and a
// logout becomes a delta that the selection picks up: the identity is
// opted out on a second operator and /v2/token/generate answers optout.
func TestOptOutSelectionWithStandIn(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	clk := clock.NewFake(now)
	c := newCore(t, standin.Options{Now: clk.Now})
	lastPartition := now.Truncate(24 * time.Hour).Add(-24*time.Hour + 5*time.Minute)
	inPartition := optout.Record{FLH: [32]byte{0xA1}, AdIDLen: 32, Timestamp: lastPartition.Unix()}
	merged := optout.Record{FLH: [32]byte{0xB2}, AdIDLen: 32, Timestamp: lastPartition.Add(-time.Hour).Unix()}
	c.standin.AddPartition(lastPartition, inPartition)
	c.standin.ForTest.AddDelta(lastPartition.Add(-time.Hour), merged) // before last partition − 3×300 s

	start := func() *core.Operator {
		t.Helper()
		cfg := c.config(false)
		cfg.Clock = clk
		cfg.Metrics = core.NewMetrics(prometheus.NewRegistry())
		o, err := core.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.OptOutSync.Selection = core.OptOutSelection{DeltaRotateInterval: 300 * time.Second, DeltaBacktrackDays: 1}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := o.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		return o
	}
	o1, o2 := start(), start()
	for _, o := range []*core.Operator{o1, o2} {
		if !o.OptOuts.OptedOut(&inPartition.FLH) {
			t.Fatal("the partition's opt-out is not loaded")
		}
		if o.OptOuts.OptedOut(&merged.FLH) {
			t.Fatal("a delta older than the grace window was loaded")
		}
	}

	h, _ := identity.EmailHash("leaver@example.com")
	flh := identity.FirstLevelHash(h, o1.Store.Load().Salts.FirstLevel())
	oc := creds(t).Optout
	cl := &client.Client{BaseURL: serveAPI(t, o1, nil).URL, APIKey: oc.APIKey, Secret: oc.Secret}
	b, err := cl.Do(context.Background(), "/v2/token/logout", []byte(`{"email":"leaver@example.com"}`))
	if err != nil {
		t.Fatalf("logout: %v", err)
	}
	if r, _ := client.ParseResponse(b); r.Status != "success" {
		t.Fatalf("logout status = %q; want success", r.Status)
	}
	if o2.OptOuts.OptedOut(&flh) {
		t.Fatal("second operator opted out before syncing")
	}
	if err := o2.OptOutSync.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !o2.OptOuts.OptedOut(&flh) || !o2.OptOuts.OptedOut(&inPartition.FLH) || o2.OptOuts.OptedOut(&merged.FLH) {
		t.Fatal("after the logout's delta: want the logout and the partition opted out, the merged delta not loaded")
	}
	if n := o2.OptOutSync.BadFileNames(); n != 0 {
		t.Fatalf("BadFileNames = %d; want 0 for the stand-in's names", n)
	}
	if r := generate(t, serveAPI(t, o2, nil).URL, creds(t).Generator, "leaver@example.com"); r.Status != "optout" {
		t.Fatalf("generate after logout status = %q; want optout", r.Status)
	}
}

// TestOptOutSyncBadNamesAndWrongFolder: a malformed delta name is skipped,
// logged and counted while the rest loads; a listing whose files are all
// malformed, or none under optout_s3_folder, fails the sync and keeps the
// previous index instead of publishing an empty set.
func TestOptOutSyncBadNamesAndWrongFolder(t *testing.T) {
	c := newCore(t, standin.Options{})
	good := optout.AppendRecord(nil, &optout.Record{FLH: [32]byte{7}, AdIDLen: 32, Timestamp: 5})
	var listing atomic.Pointer[string]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /optout/refresh", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.ReplaceAll(*listing.Load(), "HOST", r.Host)))
	})
	mux.HandleFunc("GET /optout/delta/2026-01-01/{f}", func(w http.ResponseWriter, _ *http.Request) { w.Write(good) })
	fake := httptest.NewServer(mux)
	defer fake.Close()
	set := func(names ...string) {
		var logs []string
		for _, n := range names {
			logs = append(logs, `{"type":"delta","location":"http://HOST/`+n+`?sig=1"}`)
		}
		s := `{"version":1,"optout_logs":[` + strings.Join(logs, ",") + `]}`
		listing.Store(&s)
	}

	cfg := c.config(false)
	cfg.OptoutPath = fake.URL + "/optout/refresh"
	reg := prometheus.NewRegistry()
	cfg.Metrics = core.NewMetrics(reg)
	o, _ := core.New(cfg)
	ctx := context.Background()
	set("optout/delta/2026-01-01/optout-delta-000_2026-01-01T00.05.00Z_0a1b2c3d.dat", "optout/delta/2026-01-01/bad.dat")
	if err := o.OptOutSync.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	flh := [32]byte{7}
	if !o.OptOuts.OptedOut(&flh) || o.OptOutSync.BadFileNames() != 1 {
		t.Fatalf("opted out %v, bad names %d; want true, 1", o.OptOuts.OptedOut(&flh), o.OptOutSync.BadFileNames())
	}

	for _, tc := range []struct {
		name  string
		files []string
		want  error
	}{
		{"every name malformed", []string{"optout/delta/2026-01-01/bad.dat"}, optout.ErrFileName},
		{"nothing under the folder", []string{"optout-v2/delta/2026-01-01/optout-delta-000_2026-01-01T00.05.00Z_0a1b2c3d.dat"}, nil},
		{"malformed partition", []string{"optout/partition/optout-partition-000_x_0a1b2c3d.dat"}, core.ErrOptOutPartitionName},
	} {
		set(tc.files...)
		err := o.OptOutSync.Sync(ctx)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Sync = %v; want an error (%v)", tc.name, err, tc.want)
		}
		if strings.Contains(fmt.Sprint(err), "sig=") {
			t.Errorf("%s: error %q leaks a presigned query", tc.name, err)
		}
		if !o.OptOuts.OptedOut(&flh) {
			t.Fatalf("%s: the failed sync dropped the previous index", tc.name)
		}
	}
	if got := counterValue(t, reg, "uid2_cloud_refresh_failures_total"); got != 3 {
		t.Fatalf("uid2_cloud_refresh_failures_total{store=\"optout\"} = %v; want 3", got)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
