// Package httpmetrics is the HTTP side of the API's request metrics: a
// pooled recorder that captures each request's status and client, the
// per-route wrapper, the wrapper that counts requests no route takes, and
// the header readers the metrics need. The families and their recording
// live in internal/metrics, which knows nothing of HTTP.
package httpmetrics

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// statusRecorder captures the status code and the authenticated client for
// metrics. Recorders are pooled: the request path allocates none.
type statusRecorder struct {
	http.ResponseWriter
	req    metrics.Request
	routed bool // a route handled the request
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

func (r *statusRecorder) WriteHeader(code int) {
	if r.req.Code == 0 {
		r.req.Code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.req.Code == 0 {
		r.req.Code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// NoteClient records the authenticated client on w, if w records.
func NoteClient(w http.ResponseWriter, snap *store.Snapshot, c *store.Client) {
	if r, ok := w.(*statusRecorder); ok {
		r.req.Client, r.req.Snap, r.req.Site, r.req.Auth = c, snap, c.SiteID, true
	}
}

// NoteSite records the site of an unauthenticated request (a refresh
// token's publisher), as the reference's RoutingContextData.SiteId does.
func NoteSite(w http.ResponseWriter, snap *store.Snapshot, site int32) {
	if r, ok := w.(*statusRecorder); ok && !r.req.Auth {
		r.req.Snap, r.req.Site, r.req.Auth = snap, site, true
	}
}

// Instrument wraps a route's handler with request metrics.
func Instrument(m *metrics.API, pattern string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	rt := m.Route(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rt.Start()
		// Unrouted (outside) normally hands us its recorder; reuse it.
		rec, shared := w.(*statusRecorder)
		if !shared {
			rec = recorders.Get().(*statusRecorder)
			rec.ResponseWriter = w
		}
		rec.routed = true
		h.ServeHTTP(rec, r)
		elapsed := time.Since(start).Seconds()
		rt.Done(elapsed)
		record(m, rt, rec, r, elapsed, start)
		if !shared {
			*rec = statusRecorder{}
			recorders.Put(rec)
		}
	})
}

// Unrouted wraps the whole API handler: it lends its recorder to the route
// (Instrument) and counts requests that reached none — 404s, 405s and
// answered CORS preflights — in uid2_http_requests_total with path
// "unknown", as the reference's RequestCapturingHandler does (its Vert.x
// metrics drop the 404s). Their method label is bounded.
func Unrouted(m *metrics.API, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorders.Get().(*statusRecorder)
		rec.ResponseWriter = w
		next.ServeHTTP(rec, r)
		if !rec.routed {
			record(m, metrics.UnknownRoute, rec, r, 0, time.Time{})
		}
		*rec = statusRecorder{}
		recorders.Put(rec)
	})
}

// record hands one request's facts to the metrics.
func record(m *metrics.API, rt *metrics.Route, rec *statusRecorder, r *http.Request, elapsed float64, start time.Time) {
	rec.req.Host, rec.req.Method, rec.req.AppVersion = r.Host, r.Method, Header(r.Header, AppVersion)
	m.Record(rt, &rec.req, elapsed, start)
}

// Header names the metrics read, in canonical form: http.Header.Get would
// allocate to canonicalize "X-UID2-…" on every request.
const (
	AppVersion    = "X-Uid2-Appversion"     // X-UID2-AppVersion
	ClientVersion = "X-Uid2-Client-Version" // X-UID2-Client-Version
)

// Header returns the first value of a header given in canonical form.
func Header(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Platform classifies a request like the reference's getPlatformType.
func Platform(h http.Header) metrics.Platform {
	if v := Header(h, ClientVersion); v != "" {
		for _, p := range [...]string{"Android", "ios", "tvos"} {
			if strings.Contains(v, p) {
				return metrics.PlatformInApp
			}
		}
	}
	if Header(h, "Origin") != "" {
		return metrics.PlatformOrigin
	}
	return metrics.PlatformOther
}
