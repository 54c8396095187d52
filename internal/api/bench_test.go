package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// benchServer is an operator handler on the embedded dataset with a fixed clock.
func benchServer(b testing.TB) (http.Handler, *fixture, time.Time) {
	now := time.Now()
	f := newFixture(b, api.Options{Now: func() time.Time { return now }})
	// Metrics on, as in production: the request path must stay allocation-free with them.
	m := metrics.NewAPI(prometheus.NewRegistry())
	h := api.New(api.Options{Store: f.store, Metrics: m, Now: func() time.Time { return now }}).Handler()
	return h, f, now
}

// BenchmarkGenerate measures POST /v2/token/generate end to end in process:
// auth, envelope open, normalization, tokens, response seal.
func BenchmarkGenerate(b *testing.B) {
	h, f, now := benchServer(b)
	secret, _ := base64.StdEncoding.DecodeString(f.creds.Generator.Secret)
	env, err := envelope.SealRequest(nil, secret, []byte(`{"email":"user@example.com"}`), now, [8]byte{1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(base64.StdEncoding.EncodeToString(env))
	serveLoop(b, h, "/v2/token/generate", f.creds.Generator.APIKey, body)
}

// BenchmarkRefresh measures POST /v2/token/refresh with a 388-char wrapper.
func BenchmarkRefresh(b *testing.B) {
	h, f, _ := benchServer(b)
	c := f.client(f.creds.Generator)
	out, err := c.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"user@example.com"}`))
	if err != nil {
		b.Fatal(err)
	}
	r, _ := client.ParseResponse(out)
	id := decodeIdentityB(b, r.Body)
	serveLoop(b, h, "/v2/token/refresh", "", []byte(id.RefreshToken))
}

// serveLoop posts body to path (with apiKey, if any) through h on every
// iteration, reusing the request and a discarding writer so the benchmark
// measures the handler, and fails on any status but 200.
func serveLoop(b *testing.B, h http.Handler, path, apiKey string, body []byte) {
	b.Helper()
	req := httptest.NewRequest("POST", path, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	rd := bytes.NewReader(body)
	var w discardWriter
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		w.reset()
		h.ServeHTTP(&w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

func decodeIdentityB(b *testing.B, body []byte) client.Identity {
	var id client.Identity
	if err := json.Unmarshal(body, &id); err != nil {
		b.Fatal(err)
	}
	return id
}

// discardWriter is a reusable http.ResponseWriter that keeps only the status,
// so benchmarks measure the handler rather than the recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) reset() {
	if w.h == nil {
		w.h = http.Header{}
	}
	clear(w.h)
	w.code = 0
}
func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }

// BenchmarkMetricsOverhead measures what request metrics cost on the
// cheapest route (GET /ops/healthcheck): off, on, and on from every CPU at
// once (the children are shared, so this shows contention).
func BenchmarkMetricsOverhead(b *testing.B) {
	f := newFixture(b, api.Options{})
	for _, bc := range []struct {
		name     string
		metrics  *metrics.API
		parallel bool
	}{
		{"off", nil, false},
		{"on", metrics.NewAPI(prometheus.NewRegistry()), false},
		{"on-parallel", metrics.NewAPI(prometheus.NewRegistry()), true},
	} {
		h := api.New(api.Options{Store: f.store, Metrics: bc.metrics}).Handler()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			if !bc.parallel {
				req := httptest.NewRequest("GET", "/ops/healthcheck", nil)
				var w discardWriter
				for b.Loop() {
					w.reset()
					h.ServeHTTP(&w, req)
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/ops/healthcheck", nil)
				var w discardWriter
				for pb.Next() {
					w.reset()
					h.ServeHTTP(&w, req)
				}
			})
		})
	}
}
