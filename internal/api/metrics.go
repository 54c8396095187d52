package api

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Metrics reports the API's metric families (internal/metrics: names, labels
// and meanings of the reference operator). Label children are resolved once
// per distinct label set and cached, so a request costs map lookups and
// atomic adds, no allocations. A nil *Metrics records nothing.
type Metrics struct {
	httpRequests, vertxRequests                 *prometheus.CounterVec
	vertxTime                                   *metrics.QuantileSummary
	vertxActive                                 *prometheus.GaugeVec
	duration                                    *prometheus.HistogramVec
	clientVersions, sdkVersions                 *prometheus.CounterVec
	tokenStatus, validate                       *prometheus.CounterVec
	refreshReceived, refreshServed              *prometheus.CounterVec
	refreshDuration                             *prometheus.SummaryVec
	expiredOnRefresh, rawUID, keysetStatus, tcf *prometheus.CounterVec
	mapInputs, optoutInput, optoutOptout        *prometheus.SummaryVec
	mapUnmapped, mapUnmappedReq                 *prometheus.CounterVec

	requests  metrics.Cache[requestKey, requestSeries]
	counters  metrics.Cache[seriesKey, prometheus.Counter]
	observers metrics.Cache[seriesKey, prometheus.Observer]
	rawUIDs   [rawUIDVersions]prometheus.Counter

	// Free-form header values become bounded label values.
	hosts, appNames, appVersions, sdkVersionLabels, methods metrics.Bounded
}

// latencyBuckets are uid2_http_request_duration_seconds' buckets: 100 µs to
// 2.5 s, fine enough for a per-route latency objective.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// vertxQuantiles are the percentiles the reference publishes for
// vertx_http_server_response_time_seconds (Main#setupMetrics).
var vertxQuantiles = []float64{0.9, 0.95, 0.99}

// NewMetrics registers the API families on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		httpRequests:     metrics.HTTPRequests.NewCounterVec(),
		vertxRequests:    metrics.VertxRequests.NewCounterVec(),
		vertxTime:        metrics.VertxResponseTime.NewQuantileSummary(vertxQuantiles, nil).WithMax(metrics.VertxResponseTimeMax),
		vertxActive:      metrics.VertxActiveRequests.NewGaugeVec(),
		duration:         metrics.RequestDuration.NewHistogramVec(latencyBuckets),
		clientVersions:   metrics.ClientVersions.NewCounterVec(),
		sdkVersions:      metrics.ClientSDKVersions.NewCounterVec(),
		tokenStatus:      metrics.TokenResponseStatus.NewCounterVec(),
		validate:         metrics.TokenValidate.NewCounterVec(),
		refreshReceived:  metrics.RefreshTokenReceived.NewCounterVec(),
		refreshServed:    metrics.RefreshTokenServed.NewCounterVec(),
		refreshDuration:  metrics.TokenRefreshDuration.NewSummaryVec(nil),
		expiredOnRefresh: metrics.TokenExpiredOnRefresh.NewCounterVec(),
		rawUID:           metrics.RawUIDVersion.NewCounterVec(),
		keysetStatus:     metrics.SiteKeysetStatus.NewCounterVec(),
		tcf:              metrics.TCFUsage.NewCounterVec(),
		mapInputs:        metrics.IdentityMapInputs.NewSummaryVec(nil),
		mapUnmapped:      metrics.IdentityMapUnmapped.NewCounterVec(),
		mapUnmappedReq:   metrics.IdentityMapUnmappedRequests.NewCounterVec(),
		optoutInput:      metrics.OptoutStatusInputSize.NewSummaryVec(nil),
		optoutOptout:     metrics.OptoutStatusOptoutSize.NewSummaryVec(nil),
	}
	m.sdkVersionLabels.MaxLen = 40
	m.methods.Max, m.methods.MaxLen = 16, 16
	for v := range m.rawUIDs {
		m.rawUIDs[v] = m.rawUID.WithLabelValues(rawUIDVersionNames[v])
	}
	reg.MustRegister(m.httpRequests, m.vertxRequests, m.vertxTime, m.vertxActive, m.duration,
		m.clientVersions, m.sdkVersions, m.tokenStatus, m.validate, m.refreshReceived, m.refreshServed,
		m.refreshDuration, m.expiredOnRefresh, m.rawUID, m.keysetStatus, m.tcf,
		m.mapInputs, m.mapUnmapped, m.mapUnmappedReq, m.optoutInput, m.optoutOptout)
	return m
}

// routeMetrics are one route's request-independent children.
type routeMetrics struct {
	method, path string
	active       prometheus.Gauge
	duration     prometheus.Observer
}

// requestKey is the label set of one request's series, as comparable values.
type requestKey struct {
	route   *routeMetrics
	method  string // unknown routes only; a route's method is fixed
	status  int
	contact string
	site    int32
	auth    bool
	host    string
}

type requestSeries struct {
	http, vertx prometheus.Counter
	vertxTime   *metrics.QuantileChild
}

// statusRecorder captures the status code and the authenticated client for
// metrics. Recorders are pooled: the request path allocates none.
type statusRecorder struct {
	http.ResponseWriter
	code   int
	client *store.Client
	snap   *store.Snapshot
	site   int32 // the caller's site; with client nil, a refresh token's
	auth   bool  // site is known
	routed bool  // a route handled the request
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

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

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noteClient records the authenticated client on w, if w records.
func noteClient(w http.ResponseWriter, snap *store.Snapshot, c *store.Client) {
	if r, ok := w.(*statusRecorder); ok {
		r.client, r.snap, r.site, r.auth = c, snap, c.SiteID, true
	}
}

// noteSite records the site of an unauthenticated request (a refresh
// token's publisher), as the reference's RoutingContextData.SiteId does.
func noteSite(w http.ResponseWriter, snap *store.Snapshot, site int32) {
	if r, ok := w.(*statusRecorder); ok && !r.auth {
		r.snap, r.site, r.auth = snap, site, true
	}
}

// instrument wraps a route's handler with request metrics.
func (m *Metrics) instrument(pattern string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	method, path, _ := strings.Cut(pattern, " ")
	rt := &routeMetrics{method: method, path: path,
		active:   m.vertxActive.WithLabelValues(method, path),
		duration: m.duration.WithLabelValues(method, path)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rt.active.Inc()
		// unrouted (outside) normally hands us its recorder; reuse it.
		rec, shared := w.(*statusRecorder)
		if !shared {
			rec = recorders.Get().(*statusRecorder)
			rec.ResponseWriter = w
		}
		rec.routed = true
		h.ServeHTTP(rec, r)
		elapsed := time.Since(start).Seconds()
		rt.active.Dec()
		rt.duration.Observe(elapsed)
		m.record(rt, rec, r, elapsed, start)
		if !shared {
			*rec = statusRecorder{}
			recorders.Put(rec)
		}
	})
}

// unknownRoute stands for every request no route takes.
var unknownRoute = &routeMetrics{path: "unknown"}

// unrouted wraps the whole API handler: it lends its recorder to the route
// (instrument) and counts requests that reached none — 404s, 405s and
// answered CORS preflights — in uid2_http_requests_total with path
// "unknown", as the reference's RequestCapturingHandler does (its Vert.x
// metrics drop the 404s). Their method label is bounded.
func (m *Metrics) unrouted(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorders.Get().(*statusRecorder)
		rec.ResponseWriter = w
		var start time.Time
		next.ServeHTTP(rec, r)
		if !rec.routed {
			m.record(unknownRoute, rec, r, 0, start)
		}
		*rec = statusRecorder{}
		recorders.Put(rec)
	})
}

// record counts one request on route rt.
func (m *Metrics) record(rt *routeMetrics, rec *statusRecorder, r *http.Request, elapsed float64, start time.Time) {
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	k := requestKey{route: rt, status: code, site: rec.site, auth: rec.auth, host: m.hostLabel(r.Host)}
	if rt == unknownRoute {
		k.method = m.methods.Label(r.Method)
	}
	if rec.client != nil {
		k.contact = rec.client.Contact
	}
	s, ok := m.requests.Get(k)
	if !ok {
		s = m.requests.Add(k, m.newRequestSeries(k, rec.snap))
	}
	s.http.Inc()
	// The reference's Vert.x meter filter drops 404s; unknown routes have
	// no Vert.x route metrics here.
	if code != http.StatusNotFound && rt != unknownRoute {
		s.vertx.Inc()
		s.vertxTime.ObserveAt(elapsed, start)
	}
	if v := header(r, headerAppVersion); v != "" {
		m.appVersion(k.contact, rec.client != nil, v)
	}
}

func (m *Metrics) newRequestSeries(k requestKey, snap *store.Snapshot) requestSeries {
	code := strconv.Itoa(k.status)
	site, name := siteLabels(snap, k.site, k.auth)
	contact := contactLabel(k.contact, k.auth)
	method := k.route.method
	if k.route == unknownRoute {
		method = k.method
		return requestSeries{http: m.httpRequests.WithLabelValues(contact, site, name, k.host, code, method, k.route.path)}
	}
	return requestSeries{
		http:      m.httpRequests.WithLabelValues(contact, site, name, k.host, code, method, k.route.path),
		vertx:     m.vertxRequests.WithLabelValues(code, method, k.route.path),
		vertxTime: m.vertxTime.With(code, method, k.route.path),
	}
}

// hostLabel masks private 10.x addresses as the reference does; an absent
// Host is "NotSpecified"; other values are bounded.
func (m *Metrics) hostLabel(host string) string {
	switch {
	case host == "":
		return "NotSpecified"
	case strings.HasPrefix(host, "10."):
		return "10.x.x.x:xx"
	}
	return m.hosts.Label(host)
}

// siteLabels returns site_id and site_name: "null" and "unknown" without a
// site, the store's name or "unknown" otherwise.
func siteLabels(snap *store.Snapshot, site int32, known bool) (id, name string) {
	if !known {
		return "null", "unknown"
	}
	name = "unknown"
	if snap != nil {
		if s := snap.Sites.Get(site); s != nil && s.Name != "" {
			name = s.Name
		}
	}
	return strconv.Itoa(int(site)), name
}

func contactLabel(contact string, known bool) string {
	if !known || contact == "" {
		return "unknown"
	}
	return contact
}

// Header names the metrics read, in canonical form: http.Header.Get would
// allocate to canonicalize "X-UID2-…" on every request.
const (
	headerAppVersion    = "X-Uid2-Appversion"     // X-UID2-AppVersion
	headerClientVersion = "X-Uid2-Client-Version" // X-UID2-Client-Version
)

// header returns the first value of a header given in canonical form.
func header(r *http.Request, canonical string) string {
	if v := r.Header[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// appVersion counts X-UID2-AppVersion like the reference's
// uid2_client_versions_total: the name is the text before the first "=", the
// version what follows it up to the next ";" (VertxUtils#parseClientAppVersion).
func (m *Metrics) appVersion(contact string, known bool, header string) {
	name, rest, ok := strings.Cut(header, "=")
	if !ok {
		return
	}
	version, _, _ := strings.Cut(rest, ";")
	k := seriesKey{fam: famClientVersions, contact: contact, known: known,
		s1: m.appNames.Label(name), s2: m.appVersions.Label(version)}
	m.counter(k, nil).Inc()
}

// seriesKey is the label set of one series of the smaller families, as
// comparable values; fam says which family and what the fields mean.
type seriesKey struct {
	fam        family
	site       int32
	known      bool // site (and contact) known
	contact    string
	a, b, c, d uint8
	s1, s2     string // bounded labels
}

type family uint8

const (
	famTokenStatus family = iota
	famValidate
	famRefreshReceived
	famRefreshServed
	famExpiredOnRefresh
	famKeysetStatus
	famTCF
	famClientVersions
	famSDKVersions
	famMapUnmapped
	famMapUnmappedReq
	famRefreshDuration
	famMapInputs
	famOptoutInput
	famOptoutOptout
)

func (m *Metrics) counter(k seriesKey, snap *store.Snapshot) prometheus.Counter {
	if c, ok := m.counters.Get(k); ok {
		return c
	}
	site, name := siteLabels(snap, k.site, k.known)
	contact := contactLabel(k.contact, k.known)
	var c prometheus.Counter
	switch k.fam {
	case famTokenStatus:
		c = m.tokenStatus.WithLabelValues(site, name, tokenEndpointNames[k.a], tokenStatusNames[k.b],
			tokenVersionNames[k.c], strconv.FormatBool(k.s1 == "cstg"), platformNames[k.d])
	case famValidate:
		c = m.validate.WithLabelValues(site, name, validateResultNames[k.a])
	case famRefreshReceived:
		c = m.refreshReceived.WithLabelValues(site, refreshVersionNames[k.a])
	case famRefreshServed:
		c = m.refreshServed.WithLabelValues(site, refreshVersionNames[k.a])
	case famExpiredOnRefresh:
		c = m.expiredOnRefresh.WithLabelValues(site, name, strconv.FormatBool(k.a == 1), strconv.FormatBool(k.b == 1))
	case famKeysetStatus:
		c = m.keysetStatus.WithLabelValues(site, keysetStatusNames[k.a])
	case famTCF:
		c = m.tcf.WithLabelValues(contact)
	case famClientVersions:
		c = m.clientVersions.WithLabelValues(contact, k.s1, k.s2)
	case famSDKVersions:
		c = m.sdkVersions.WithLabelValues(site, contact, k.s1, k.s2)
	case famMapUnmapped:
		c = m.mapUnmapped.WithLabelValues(contact, unmappedReasonNames[k.a], k.s1)
	case famMapUnmappedReq:
		c = m.mapUnmappedReq.WithLabelValues(contact, k.s1)
	default:
		panic("api: counter for an observer family")
	}
	return m.counters.Add(k, c)
}

func (m *Metrics) observer(k seriesKey, snap *store.Snapshot) prometheus.Observer {
	if o, ok := m.observers.Get(k); ok {
		return o
	}
	site, name := siteLabels(snap, k.site, k.known)
	contact := contactLabel(k.contact, k.known)
	var o prometheus.Observer
	switch k.fam {
	case famRefreshDuration:
		o = m.refreshDuration.WithLabelValues(site, name, contact, strconv.FormatBool(k.a == 1))
	case famMapInputs:
		o = m.mapInputs.WithLabelValues(contact, k.s1, k.s2)
	case famOptoutInput:
		o = m.optoutInput.WithLabelValues(contact)
	case famOptoutOptout:
		o = m.optoutOptout.WithLabelValues(contact)
	default:
		panic("api: observer for a counter family")
	}
	return m.observers.Add(k, o)
}

// Token endpoints, statuses and versions as TokenResponseStatsCollector names them.
type tokenEndpoint uint8

const (
	endpointGenerate tokenEndpoint = iota
	endpointRefresh
	endpointCSTG
)

var tokenEndpointNames = [...]string{"GenerateV2", "RefreshV2", "ClientSideTokenGenerateV2"}

type tokenStatus uint8

const (
	tsSuccess tokenStatus = iota
	tsInsufficientUserConsent
	tsInvalidUserConsentString
	tsOptOut
	tsExpiredToken
	tsInvalidToken
	tsMissingParams
	tsBadPublicKey
	tsBadSubscriptionID
	tsInvalidHTTPOrigin
	tsInvalidAppName
	tsBadIV
	tsBadPayload
	tsBadJSONPayload
	tsPayloadHasNoBody
	tsUnknown
	tsNoActiveKey
	tsUnauthorized
)

var tokenStatusNames = [...]string{"Success", "InsufficientUserConsent", "InvalidUserConsentString", "OptOut",
	"ExpiredToken", "InvalidToken", "MissingParams", "BadPublicKey", "BadSubscriptionId", "InvalidHttpOrigin",
	"InvalidAppName", "BadIV", "BadPayload", "BadJsonPayload", "PayloadHasNoBody", "Unknown", "NoActiveKey",
	"Unauthorized"}

// Advertising token versions; tokens are always V4 here, "null" when none was issued.
const (
	tokenVersionNull uint8 = iota
	tokenVersionV4
)

var tokenVersionNames = [...]string{"null", "V4"}

type platform uint8

const (
	platformInApp platform = iota
	platformOrigin
	platformOther
)

var platformNames = [...]string{"InApp", "HasOriginHeader", "Other"}

// platformOf classifies a request like the reference's getPlatformType.
func platformOf(r *http.Request) platform {
	if v := header(r, headerClientVersion); v != "" {
		for _, p := range [...]string{"Android", "ios", "tvos"} {
			if strings.Contains(v, p) {
				return platformInApp
			}
		}
	}
	if header(r, "Origin") != "" {
		return platformOrigin
	}
	return platformOther
}

// tokenResponse counts one token endpoint outcome for site.
func (m *Metrics) tokenResponse(snap *store.Snapshot, site int32, ep tokenEndpoint, st tokenStatus, p platform) {
	if m == nil {
		return
	}
	k := seriesKey{fam: famTokenStatus, site: site, known: true, a: uint8(ep), b: uint8(st), d: uint8(p)}
	if st == tsSuccess {
		k.c = tokenVersionV4
	}
	if ep == endpointCSTG {
		k.s1 = "cstg"
	}
	m.counter(k, snap).Inc()
}

// Token validate results.
const (
	validateMatch uint8 = iota
	validateMismatch
	validateUnauthorized
	validateInvalidToken
	validateInvalidInput
)

var validateResultNames = [...]string{"match", "mismatch", "unauthorized", "invalid_token", "invalid_input"}

func (m *Metrics) validated(snap *store.Snapshot, site int32, result uint8) {
	if m != nil {
		m.counter(seriesKey{fam: famValidate, site: site, known: true, a: result}, snap).Inc()
	}
}

// Refresh token versions.
const (
	refreshV2 uint8 = iota
	refreshV3
)

var refreshVersionNames = [...]string{"v2", "v3"}

func (m *Metrics) refreshReceivedFor(snap *store.Snapshot, site int32, legacyV2 bool) {
	if m != nil {
		v := refreshV3
		if legacyV2 {
			v = refreshV2
		}
		m.counter(seriesKey{fam: famRefreshReceived, site: site, known: true, a: v}, snap).Inc()
	}
}

func (m *Metrics) refreshServedFor(snap *store.Snapshot, site int32) {
	if m != nil {
		m.counter(seriesKey{fam: famRefreshServed, site: site, known: true, a: refreshV3}, snap).Inc()
	}
}

// refreshedAfter records the time since a token's last refresh and whether
// its advertising token had expired by then.
func (m *Metrics) refreshedAfter(snap *store.Snapshot, site int32, contact string, origin bool, since, identityTTL time.Duration) {
	if m == nil {
		return
	}
	var o, exp uint8
	if origin {
		o = 1
	}
	if since > identityTTL {
		exp = 1
	}
	m.observer(seriesKey{fam: famRefreshDuration, site: site, known: true, contact: contact, a: o}, snap).Observe(float64(since / time.Second))
	m.counter(seriesKey{fam: famExpiredOnRefresh, site: site, known: true, a: o, b: exp}, snap).Inc()
}

// Site keyset statuses (KeyManager).
const (
	keysetFound uint8 = iota
	keysetFallback
	keysetNotFound
)

var keysetStatusNames = [...]string{"site_keyset_found", "fallback_keyset_found", "keyset_not_found"}

func (m *Metrics) keysetLookup(snap *store.Snapshot, site int32, status uint8) {
	if m != nil {
		m.counter(seriesKey{fam: famKeysetStatus, site: site, known: true, a: status}, snap).Inc()
	}
}

// Raw UID versions.
const (
	rawUIDv2 = iota
	rawUIDv3
	rawUIDv4
	rawUIDVersions
)

var rawUIDVersionNames = [rawUIDVersions]string{"V2", "V3", "V4"}

// rawUIDDerived counts one derived raw UID of version v.
func (m *Metrics) rawUIDDerived(v int) {
	if m != nil {
		m.rawUIDs[v].Inc()
	}
}

// rawUIDsDerived counts derived raw UIDs by version.
func (m *Metrics) rawUIDsDerived(counts *[rawUIDVersions]int) {
	if m == nil {
		return
	}
	for v, n := range counts {
		if n > 0 {
			m.rawUIDs[v].Add(float64(n))
		}
	}
}

func (m *Metrics) tcfUsed(c *store.Client) {
	if m != nil {
		m.counter(seriesKey{fam: famTCF, contact: c.Contact, known: true}, nil).Inc()
	}
}

// sdkVersion counts a refresh's X-UID2-Client-Version (operator-served SDK usage).
func (m *Metrics) sdkVersion(snap *store.Snapshot, c *store.Client, path, version string) {
	if m == nil || c == nil || version == "" {
		return
	}
	k := seriesKey{fam: famSDKVersions, site: c.SiteID, known: true, contact: c.Contact,
		s1: m.sdkVersionLabels.Label(version), s2: path}
	m.counter(k, snap).Inc()
}

// Unmapped reasons.
const (
	unmappedInvalid uint8 = iota
	unmappedOptout
)

var unmappedReasonNames = [...]string{"invalid", "optout"}

// identityMap records one identity-map request: identifiers per DII type
// (indexed by identity.InputKind-1), unmapped counts and raw UID versions.
func (m *Metrics) identityMap(c *store.Client, path string, perKind *[4]int, invalid, optout int) {
	if m == nil {
		return
	}
	for i, n := range perKind {
		if n > 0 {
			m.observer(seriesKey{fam: famMapInputs, contact: c.Contact, known: true, s1: path, s2: diiTypeNames[i]}, nil).Observe(float64(n))
		}
	}
	inv := m.counter(seriesKey{fam: famMapUnmapped, contact: c.Contact, known: true, a: unmappedInvalid, s1: path}, nil)
	opt := m.counter(seriesKey{fam: famMapUnmapped, contact: c.Contact, known: true, a: unmappedOptout, s1: path}, nil)
	req := m.counter(seriesKey{fam: famMapUnmappedReq, contact: c.Contact, known: true, s1: path}, nil)
	if invalid > 0 {
		inv.Add(float64(invalid))
	}
	if optout > 0 {
		opt.Add(float64(optout))
	}
	if invalid > 0 || optout > 0 {
		req.Inc()
	}
}

// diiTypeNames are the request keys, in identity.InputKind order.
var diiTypeNames = [4]string{"email", "email_hash", "phone", "phone_hash"}

// optoutStatus records one /v2/optout/status request's sizes.
func (m *Metrics) optoutStatus(c *store.Client, inputs, optedOut int) {
	if m == nil {
		return
	}
	m.observer(seriesKey{fam: famOptoutInput, contact: c.Contact, known: true}, nil).Observe(float64(inputs))
	m.observer(seriesKey{fam: famOptoutOptout, contact: c.Contact, known: true}, nil).Observe(float64(optedOut))
}
