package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's Prometheus metrics. Labels are bounded: path is a
// route pattern, site_id a site of the client store.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	identities *prometheus.CounterVec
}

// NewMetrics registers the API metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uid2_http_requests_total",
			Help: "API requests by route, HTTP status and the authenticated client's site.",
		}, []string{"path", "status", "site_id"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uid2_http_request_duration_seconds",
			Help:    "API request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"path"}),
		identities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uid2_operator_identity_map_inputs_total",
			Help: "Identities in identity-map requests by endpoint and result (mapped, optout, invalid).",
		}, []string{"path", "result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.identities)
	return m
}

// IdentitiesMapped counts identity-map results; safe on a nil *Metrics.
func (m *Metrics) IdentitiesMapped(path string, mapped, optout, invalid int) {
	if m == nil {
		return
	}
	m.identities.WithLabelValues(path, "mapped").Add(float64(mapped))
	m.identities.WithLabelValues(path, "optout").Add(float64(optout))
	m.identities.WithLabelValues(path, "invalid").Add(float64(invalid))
}

// statusRecorder captures the status code and the client's site for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
	site int32
	auth bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// noteClient records the authenticated client's site on w, if w records.
func noteClient(w http.ResponseWriter, site int32) {
	if r, ok := w.(*statusRecorder); ok {
		r.site, r.auth = site, true
	}
}

// instrument wraps a route's handler with request metrics.
func (m *Metrics) instrument(path string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	lat := m.latency.WithLabelValues(path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		lat.Observe(time.Since(start).Seconds())
		site := ""
		if rec.auth {
			site = strconv.Itoa(int(rec.site))
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(path, strconv.Itoa(code), site).Inc()
	})
}
