package health_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/health"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

func TestHealthyReasons(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	last := map[store.Part]time.Time{store.PartSalts: now, store.PartClients: now}
	attested := now.Add(time.Hour)
	optoutSync := now
	c := &health.Checker{
		Store:          store.New(nil), // empty: no data
		AttestedUntil:  func() time.Time { return attested },
		LastSuccess:    func() map[store.Part]time.Time { return last },
		OptoutLastSync: func() time.Time { return optoutSync },
		StaleLimit:     time.Hour,
		Now:            func() time.Time { return now },
	}
	ok, reason := c.Healthy()
	if ok || reason != "store: no data loaded yet" {
		t.Fatalf("Healthy() = %v %q; want false and the no-data reason", ok, reason)
	}
	now = now.Add(90 * time.Minute)
	ok, reason = c.Healthy()
	for _, want := range []string{"attestation: token expired", "auth-rotator: no successful refresh for 1h30m0s",
		"salt-rotator: no successful refresh for 1h30m0s", "optout: no successful sync for 1h30m0s"} {
		if ok || !strings.Contains(reason, want) {
			t.Errorf("Healthy() = %v %q; want a line %q", ok, reason, want)
		}
	}
	var fe *health.FatalError
	if err := c.Check(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "store_refresh_stale_shutdown_hours") {
		t.Errorf("Check() = %v; want a stale-stores FatalError", err)
	}
	c.ShuttingDown("")
	if _, reason = c.Healthy(); !strings.HasPrefix(reason, "server: shutting down") {
		t.Errorf("after ShuttingDown: %q", reason)
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
