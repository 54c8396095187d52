package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

type probe struct {
	ok     bool
	reason string
}

func (p probe) Healthy() (bool, string) { return p.ok, p.reason }
func (p probe) Live() (bool, string)    { return p.ok, p.reason }

type status map[string]any

func (s status) Status() any { return map[string]any(s) }

// TestOpsProbes: readiness and liveness answer independently (a Core outage
// may leave readiness degraded but never fails liveness), and /ops/status
// renders the reporter's JSON, or 404 without one.
func TestOpsProbes(t *testing.T) {
	tests := []struct {
		name     string
		opt      api.Options
		path     string
		wantCode int
		wantBody string
	}{
		{"ready", api.Options{Health: probe{true, ""}}, "/ops/healthcheck", 200, "OK"},
		{"not ready", api.Options{Health: probe{false, "server: shutting down"}}, "/ops/healthcheck", 503, "server: shutting down"},
		{"not ready, still live", api.Options{Health: probe{false, "server: shutting down"}}, "/ops/live", 200, "OK"},
		{"live", api.Options{Liveness: probe{true, ""}}, "/ops/live", 200, "OK"},
		{"wedged", api.Options{Liveness: probe{false, "heartbeat: none for 31s (limit 30s)"}}, "/ops/live", 503, "heartbeat: none for 31s (limit 30s)"},
		{"status", api.Options{Status: status{"ready": true}}, "/ops/status", 200, "{\n  \"ready\": true\n}\n"},
		{"no status", api.Options{}, "/ops/status", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Store = store.New(nil)
			w := httptest.NewRecorder()
			api.New(tt.opt).Handler().ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, w.Code, w.Body, tt.wantCode, tt.wantBody)
			}
		})
	}
}
