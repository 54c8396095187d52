// Package api is the operator's public HTTP API (operator-api.md §1–§2): the
// route table, API-key authentication, the v2 envelope on the wire, request
// handlers and error rendering. It is the only package that picks HTTP status
// codes.
//
// It is HTTP only. A handler reads like a recipe: decode and validate the
// payload, call a domain package with the request's one store snapshot and
// time (issuer for tokens, mapping for identity maps and buckets, cstg for
// client-side generation, keyshare for keys, optout for opt-out), render the
// result. Domain packages return typed errors and facts; api turns them into
// the reference's status and message and reports the facts to metrics. The
// archtest keeps cryptography (crypto/ecdh, x509, elliptic) out of it.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/bufpool"
	"github.com/uid2-private-operator/uid2-operator/internal/cors"
	"github.com/uid2-private-operator/uid2-operator/internal/framing"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/issuer"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/keyshare"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/ratelog"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// MaxRequestBody is the request body limit of every endpoint (§1.1).
const MaxRequestBody = 1 << 20

// Snapshots gives handlers the current store snapshot.
type Snapshots interface {
	Load() *store.Snapshot
}

// OptOuts answers opt-out lookups (operator-api.md §2.15, §2.8).
type OptOuts interface {
	// OptedOut reports whether any opt-out record exists for a first-level hash.
	OptedOut(flh *[32]byte) bool
	// AdvertisingIDTimestamp returns the opt-out time (epoch seconds) of an
	// advertising id given exactly as standard base64.
	AdvertisingIDTimestamp(b64 string) (int64, bool)
}

// Logouts records /v2/token/logout requests (replicating them to Opt-Out in
// Core mode).
type Logouts interface {
	Logout(ctx context.Context, l optout.Logout) error
}

// Health reports whether the operator can serve, with a short reason when not.
type Health interface {
	Healthy() (ok bool, reason string)
}

// Liveness reports whether the process is alive (not wedged), with a short
// reason when not.
type Liveness interface {
	Live() (ok bool, reason string)
}

// StatusReporter returns the operator's detailed state for /ops/status: a
// value that encoding/json renders, holding no secrets.
type StatusReporter interface {
	Status() any
}

// Options configures a Server. Zero values are the reference defaults except
// where noted.
type Options struct {
	Scope identity.Scope
	// DisableV2Encryption makes v2 endpoints take and return plain JSON
	// (enable_v2_encryption=false).
	DisableV2Encryption bool
	// DisablePhone ignores phone and phone_hash inputs (enable_phone_support=false).
	DisablePhone bool
	// IdentityV3 builds 33-byte raw UID v3 for salt buckets.
	IdentityV3 bool

	// CSTG enables /v2/token/client-generate and site_data in key responses
	// (client_side_token_generate).
	CSTG bool
	// DisableCSTGDomainCheck turns off the CSTG origin/app-name check
	// (client_side_token_generate_domain_name_check_enabled=false).
	DisableCSTGDomainCheck bool
	// ProvideAppNames adds app names to site_data.domain_names
	// (key_sharing_endpoint_provide_app_names).
	ProvideAppNames bool
	// DisableOptoutStatus removes /v2/optout/status (optout_status_api_enabled=false).
	DisableOptoutStatus bool
	// OptoutStatusMaxRequestSize bounds advertising_ids (default 5000).
	OptoutStatusMaxRequestSize int
	// AllowClockSkewSeconds is echoed by the key endpoints (default 1800).
	AllowClockSkewSeconds int64
	// TCFVendorID is the vendor whose consent EUID generate checks (default 21).
	TCFVendorID int

	Store   Snapshots
	OptOuts OptOuts // nil: only the built-in test identities and special hashes
	Logouts Logouts // nil: /v2/token/logout answers 500, as without optout_api_uri
	Health  Health  // nil: healthy whenever the store is complete
	// Liveness backs /ops/live; nil: always live.
	Liveness Liveness
	// Status backs /ops/status; nil: the route answers 404.
	Status  StatusReporter
	Metrics *metrics.API // nil: no metrics
	Logger  *slog.Logger
	Now     func() time.Time
	Rand    io.Reader

	// Admission bounds the bulk routes (identity map v2/v3, buckets,
	// opt-out status); the zero value admits everything.
	Admission Admission
}

// Server serves the public API. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opt  Options
	log  *slog.Logger
	now  func() time.Time
	rand io.Reader
	mux  *http.ServeMux
	bufs bufpool.Pool
	// optouts decides opt-out: test identities, special hashes, opt.OptOuts.
	optouts *optout.Policy
	// mapping configures the identity-map engine and raw UID derivation.
	mapping mapping.Config
	// issuer issues, refreshes and validates identities.
	issuer issuer.Config
	// keys configures the key documents.
	keys keyshare.Options
	// busyLog and mandatedLog rate-limit warnings a client can cause at
	// its request rate: admission rejections and reference-mandated 5xx.
	busyLog, mandatedLog ratelog.Log
}

// New returns a Server for opt.
func New(opt Options) *Server {
	s := &Server{opt: opt, log: opt.Logger, now: opt.Now, rand: opt.Rand}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.opt.OptoutStatusMaxRequestSize <= 0 {
		s.opt.OptoutStatusMaxRequestSize = 5000
	}
	if s.opt.AllowClockSkewSeconds == 0 {
		s.opt.AllowClockSkewSeconds = 1800
	}
	if s.opt.TCFVendorID == 0 {
		s.opt.TCFVendorID = 21
	}
	s.optouts = optout.NewPolicy(opt.OptOuts)
	s.keys = keyshare.Options{Scope: s.opt.Scope, AllowClockSkewSeconds: s.opt.AllowClockSkewSeconds,
		SiteData: s.opt.CSTG, AppNames: s.opt.ProvideAppNames}
	s.mapping = mapping.Config{Scope: opt.Scope, IdentityV3: opt.IdentityV3, OptOuts: s.optouts}
	s.issuer = issuer.Config{Scope: opt.Scope, Plain: opt.DisableV2Encryption, Mapping: &s.mapping, OptOuts: s.optouts,
		Rand: s.rand, Bufs: &s.bufs}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// Handler returns the HTTP handler with CORS and body limits applied. It
// rejects requests that carried both Content-Length and Transfer-Encoding
// when served from a framing.GuardListener with framing.ConnContext.
func (s *Server) Handler() http.Handler {
	next := httpmetrics.Unrouted(s.opt.Metrics, cors.Handler(s.mux))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !framing.Reject(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// route is one endpoint of the route table; off leaves it out (a 404).
type route struct {
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request) error
	off     bool
}

// routes registers every endpoint, each wrapped with its request metrics.
func (s *Server) routes() {
	const statusRoles = store.RoleMapper | store.RoleSharer | store.RoleIDReader
	for _, rt := range []route{
		{"GET /ops/healthcheck", s.handleHealthcheck, false},
		{"GET /ops/live", s.handleLive, false},
		{"GET /ops/status", s.handleStatus, s.opt.Status == nil},
		{"POST /v2/token/generate", s.v2(store.RoleGenerator, s.handleGenerate), false},
		{"POST /v2/token/refresh", s.handleRefresh, false},
		{"POST /v2/token/validate", s.v2(store.RoleGenerator, s.handleValidate), false},
		{"POST /v2/token/logout", s.v2(store.RoleOptout, s.handleLogout), false},
		{"POST /v2/token/client-generate", s.handleCSTG, !s.opt.CSTG},
		{"POST /v2/identity/map", s.v2Bulk(store.RoleMapper, s.handleIdentityMapV2, 0), false},
		{"POST /v3/identity/map", s.v2Bulk(store.RoleMapper, s.handleIdentityMapV3, uncheckedPayload), false},
		{"POST /v2/identity/buckets", s.v2Bulk(store.RoleMapper, s.handleBuckets, 0), false},
		{"POST /v2/optout/status", s.v2Bulk(statusRoles, s.handleOptoutStatus, 0), s.opt.DisableOptoutStatus},
		{"POST /v2/key/latest", s.v2(store.RoleIDReader, s.handleKeysLatest), false},
		{"POST /v2/key/sharing", s.v2(store.RoleSharer|store.RoleIDReader, s.handleKeysSharing), false},
		{"POST /v2/key/bidstream", s.v2(store.RoleIDReader, s.handleKeysBidstream), false},
	} {
		if !rt.off {
			s.mux.Handle(rt.pattern, httpmetrics.Instrument(s.opt.Metrics, rt.pattern, s.adapt(rt.handle)))
		}
	}
}

// adapt turns an error-returning handler into an http.Handler: it caps the
// body and renders *Error values; any other error is a 500.
func (s *Server) adapt(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		}
		if id := r.Header.Get("X-Amzn-Trace-Id"); id != "" {
			w.Header().Set("X-Amzn-Trace-Id", id)
		}
		if err := h(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = plainError(http.StatusInternalServerError, err)
	}
	switch {
	case e.Mandated:
		s.mandatedLog.Warn(s.log, s.now(), "reference-mandated 5xx answered to bad client input",
			"path", r.URL.Path, "status", e.HTTP, "err", e.Err, "interval", ratelog.Interval.String())
	case e.HTTP >= 500:
		s.log.Error("request failed", "path", r.URL.Path, "status", e.HTTP, "err", e.Err)
	case e.Err != nil:
		s.log.Debug("request rejected", "path", r.URL.Path, "status", e.HTTP, "err", e.Err)
	}
	if e.Status == "" {
		w.Header()["Content-Type"] = valueTextPlain
		w.WriteHeader(e.HTTP)
		io.WriteString(w, http.StatusText(e.HTTP))
		return
	}
	writeJSON(w, e.HTTP, jsonw.AppendStatus(nil, e.Status, e.Message))
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header()["Content-Type"] = valueJSON
	w.WriteHeader(code)
	w.Write(body)
}

// errNotLoaded answers requests that arrive before the first full load
// (fail closed: no keys, no service).
var errNotLoaded = errors.New("store not loaded")

// readRequest reads the body and returns it with the snapshot the whole
// request uses; a store without data yet is 503.
func (s *Server) readRequest(r *http.Request) ([]byte, *store.Snapshot, error) {
	// One byte more than Content-Length, so the read that sees EOF needs no
	// probe buffer.
	return s.readRequestInto(r, make([]byte, 0, bodyCap(r)+1))
}

// readRequestInto is readRequest reading into buf, which grows if needed.
// On error it still returns the buffer (its bytes are no body) so that the
// caller recycles it: a flood of over-limit bodies or of requests before
// the first load must not turn into a megabyte of garbage each.
func (s *Server) readRequestInto(r *http.Request, buf []byte) ([]byte, *store.Snapshot, error) {
	body, err := readBody(r, buf)
	if err != nil {
		return body[:0], nil, err
	}
	snap := s.opt.Store.Load()
	if !snap.Complete() {
		return body[:0], nil, plainError(http.StatusServiceUnavailable, errNotLoaded)
	}
	return body, snap, nil
}

// bodyCap is the buffer capacity for r's body: Content-Length (capped),
// so typical bodies are read into one buffer of exactly their size.
func bodyCap(r *http.Request) int {
	if r.ContentLength > 0 {
		return int(min(r.ContentLength, MaxRequestBody))
	}
	return 512
}

// readBody reads the (already capped) body into b[:0], growing it as
// needed; an over-limit body is 413. On error it returns the buffer too.
func readBody(r *http.Request, b []byte) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := bufpool.ReadAll(r.Body, b)
	if err != nil {
		return b, bodyError(err)
	}
	return b, nil
}

// bodyError is 413 for a body over the limit, else 400.
func bodyError(err error) *Error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return plainError(http.StatusRequestEntityTooLarge, err)
	}
	return plainError(http.StatusBadRequest, err)
}

// bearerKey extracts the API key from Authorization (§1.3): trimmed, a
// case-insensitive "bearer " prefix with exactly one space, the rest verbatim.
func bearerKey(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return ""
	}
	return v[7:]
}

// authenticate returns the client for the request's API key if it exists,
// is enabled and holds one of roles; otherwise the 401 of §1.3.
func authenticate(r *http.Request, snap *store.Snapshot, roles store.Role) (*store.Client, error) {
	if snap.Clients == nil {
		return nil, unauthorized()
	}
	c := snap.Clients.ByKey(bearerKey(r))
	if c == nil || c.Disabled || !c.Roles.Has(roles) {
		return nil, unauthorized()
	}
	return c, nil
}
