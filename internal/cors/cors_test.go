package cors_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cors"
)

func TestHandler(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("next")) })
	const base = "X-UID2-Client-Version,Access-Control-Request-Method,Access-Control-Allow-Credentials," +
		"Access-Control-Allow-Origin,Access-Control-Allow-Headers,Content-Type"
	for _, tc := range []struct {
		name, method, path, origin, requestMethod string
		code                                      int
		body, allowOrigin, allowHeaders           string
	}{
		{"no origin", "POST", "/v2/token/generate", "", "", 200, "next", "", ""},
		{"origin echoed", "POST", "/v2/token/generate", "https://a.example", "", 200, "next", "https://a.example", ""},
		{"preflight", "OPTIONS", "/v2/token/generate", "https://a.example", "POST", 204, "", "https://a.example", base},
		{"preflight of validate", "OPTIONS", "/v2/token/validate", "null", "POST", 204, "", "null", base + ",Authorization"},
		{"OPTIONS without a request method", "OPTIONS", "/x", "https://a.example", "", 200, "next", "https://a.example", ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.requestMethod != "" {
			r.Header.Set("Access-Control-Request-Method", tc.requestMethod)
		}
		w := httptest.NewRecorder()
		w.Header().Add("Vary", "Accept") // a value set before keeps its place
		cors.Handler(next).ServeHTTP(w, r)
		h := w.Result().Header
		if w.Code != tc.code || w.Body.String() != tc.body || h.Get("Access-Control-Allow-Origin") != tc.allowOrigin ||
			h.Get("Access-Control-Allow-Headers") != tc.allowHeaders || strings.Join(h.Values("Vary"), ",") != "Accept,Origin" {
			t.Errorf("%s: %d %q, headers %v", tc.name, w.Code, w.Body, h)
		}
		if tc.code == 204 && (h.Get("Access-Control-Allow-Methods") != "GET,POST,OPTIONS" || h.Get("Access-Control-Max-Age") != "") {
			t.Errorf("%s: preflight headers %v", tc.name, h)
		}
	}
}
