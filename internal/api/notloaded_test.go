package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// TestFailClosedBeforeLoad: until the stores hold data, every API route
// answers 503 and the health check says why (no keys, no service).
func TestFailClosedBeforeLoad(t *testing.T) {
	h := api.New(api.Options{Store: store.New(nil), CSTG: true}).Handler()
	for _, path := range []string{"/v2/token/generate", "/v2/token/refresh", "/v2/token/client-generate",
		"/v3/identity/map", "/v2/key/sharing"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader("x")))
		if w.Code != 503 || w.Body.String() != "Service Unavailable" {
			t.Errorf("POST %s = %d %q; want 503 Service Unavailable", path, w.Code, w.Body)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ops/healthcheck", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "no data") {
		t.Errorf("healthcheck = %d %q; want 503 naming the missing data", w.Code, w.Body)
	}
}
