package aks_test

import (
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

// TestRenderRefusesShortLiveness: the API port opens only after the first
// attestation and load, so a liveness probe that gives up before
// --startup-timeout would kill a slow cold start instead of letting the
// operator exit with its reason.
func TestRenderRefusesShortLiveness(t *testing.T) {
	short := strings.Replace(string(aksmanifest.Operator), "initialDelaySeconds: 600", "initialDelaySeconds: 300", 1)
	if short == string(aksmanifest.Operator) {
		t.Fatal("the manifest's liveness initialDelaySeconds is no longer 600; update this test")
	}
	_, err := aks.Render([]byte(short), renderVars())
	if err == nil || !strings.Contains(err.Error(), "livenessProbe") {
		t.Fatalf("Render(liveness window 7m) = %v; want a livenessProbe error", err)
	}
	if _, err := aks.Render(aksmanifest.Operator, renderVars()); err != nil {
		t.Fatalf("Render(manifest) = %v", err)
	}
}
