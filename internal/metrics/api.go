package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/issuer"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// API reports the HTTP API's metric families (names, labels and meanings
// of the reference operator, families.go). Label children are resolved once
// per distinct label set and cached, so a request costs map lookups and
// atomic adds, no allocations. A nil *API records nothing. api calls it from the request path; it knows
// nothing of HTTP itself (api passes the request's facts in a Request).
type API struct {
	httpRequests, vertxRequests                 *prometheus.CounterVec
	vertxTime                                   *QuantileSummary
	vertxActive                                 *prometheus.GaugeVec
	duration                                    *prometheus.HistogramVec
	clientVersions, sdkVersions                 *prometheus.CounterVec
	tokenStatus, validate                       *prometheus.CounterVec
	refreshReceived, refreshServed              *prometheus.CounterVec
	refreshDuration                             *prometheus.SummaryVec
	expiredOnRefresh, rawUID, keysetStatus, tcf *prometheus.CounterVec
	mapInputs, optoutInput, optoutOptout        *prometheus.SummaryVec
	mapUnmapped, mapUnmappedReq                 *prometheus.CounterVec

	requests  Cache[requestKey, requestSeries]
	counters  Cache[seriesKey, prometheus.Counter]
	observers Cache[seriesKey, prometheus.Observer]
	rawUIDs   [RawUIDVersions]prometheus.Counter

	// Free-form header values become bounded label values.
	hosts, appNames, appVersions, sdkVersionLabels, methods Bounded
}

// latencyBuckets are uid2_http_request_duration_seconds' buckets: 100 µs to
// 2.5 s, fine enough for a per-route latency objective.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// vertxQuantiles are the percentiles the reference publishes for
// vertx_http_server_response_time_seconds (Main#setupMetrics).
var vertxQuantiles = []float64{0.9, 0.95, 0.99}

// NewAPI registers the API families on reg.
func NewAPI(reg prometheus.Registerer) *API {
	m := &API{
		httpRequests:     HTTPRequests.NewCounterVec(),
		vertxRequests:    VertxRequests.NewCounterVec(),
		vertxTime:        VertxResponseTime.NewQuantileSummary(vertxQuantiles, nil).WithMax(VertxResponseTimeMax),
		vertxActive:      VertxActiveRequests.NewGaugeVec(),
		duration:         RequestDuration.NewHistogramVec(latencyBuckets),
		clientVersions:   ClientVersions.NewCounterVec(),
		sdkVersions:      ClientSDKVersions.NewCounterVec(),
		tokenStatus:      TokenResponseStatus.NewCounterVec(),
		validate:         TokenValidate.NewCounterVec(),
		refreshReceived:  RefreshTokenReceived.NewCounterVec(),
		refreshServed:    RefreshTokenServed.NewCounterVec(),
		refreshDuration:  TokenRefreshDuration.NewSummaryVec(nil),
		expiredOnRefresh: TokenExpiredOnRefresh.NewCounterVec(),
		rawUID:           RawUIDVersion.NewCounterVec(),
		keysetStatus:     SiteKeysetStatus.NewCounterVec(),
		tcf:              TCFUsage.NewCounterVec(),
		mapInputs:        IdentityMapInputs.NewSummaryVec(nil),
		mapUnmapped:      IdentityMapUnmapped.NewCounterVec(),
		mapUnmappedReq:   IdentityMapUnmappedRequests.NewCounterVec(),
		optoutInput:      OptoutStatusInputSize.NewSummaryVec(nil),
		optoutOptout:     OptoutStatusOptoutSize.NewSummaryVec(nil),
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

// Route holds one route's request-independent children. Create it once per
// route with API.Route; a nil *Route (from a nil *API) records nothing.
type Route struct {
	method, path string
	active       prometheus.Gauge
	duration     prometheus.Observer
}

// Route returns the children of the route with pattern "METHOD /path".
func (m *API) Route(pattern string) *Route {
	if m == nil {
		return nil
	}
	method, path, _ := strings.Cut(pattern, " ")
	return &Route{method: method, path: path,
		active:   m.vertxActive.WithLabelValues(method, path),
		duration: m.duration.WithLabelValues(method, path)}
}

// Start counts a request in progress on the route.
func (rt *Route) Start() { rt.active.Inc() }

// Done ends a request Start counted, elapsed seconds after it began.
func (rt *Route) Done(elapsed float64) {
	rt.active.Dec()
	rt.duration.Observe(elapsed)
}

// UnknownRoute stands for every request no route takes.
var UnknownRoute = &Route{path: "unknown"}

// Request is what a request's series need to know of it: api fills it in
// as the request goes (the authenticated client or the refresh token's
// site) and hands it to Record.
type Request struct {
	Code   int           // the HTTP status; 0 is 200
	Client *store.Client // the authenticated client, if any
	Snap   *store.Snapshot
	Site   int32 // the caller's site; with Client nil, a refresh token's
	Auth   bool  // Site is known

	Host, Method string // the Host header and the request method
	AppVersion   string // the X-UID2-AppVersion header
}

// Record counts one request on route rt that began at start and took
// elapsed seconds, as the reference's RequestCapturingHandler and Vert.x
// server metrics do.
func (m *API) Record(rt *Route, r *Request, elapsed float64, start time.Time) {
	code := r.Code
	if code == 0 {
		code = 200
	}
	k := requestKey{route: rt, status: code, site: r.Site, auth: r.Auth, host: m.hostLabel(r.Host)}
	if rt == UnknownRoute {
		k.method = m.methods.Label(r.Method)
	}
	if r.Client != nil {
		k.contact = r.Client.Contact
	}
	s, ok := m.requests.Get(k)
	if !ok {
		s = m.requests.Add(k, m.newRequestSeries(k, r.Snap))
	}
	s.http.Inc()
	// The reference's Vert.x meter filter drops 404s; unknown routes have
	// no Vert.x route metrics here.
	if code != 404 && rt != UnknownRoute {
		s.vertx.Inc()
		// At the request's end, as Micrometer's timer records it: a slow
		// request stays in the window for the window's full length.
		s.vertxTime.ObserveAt(elapsed, start.Add(time.Duration(elapsed*float64(time.Second))))
	}
	if r.AppVersion != "" {
		m.appVersion(k.contact, r.Client != nil, r.AppVersion)
	}
}

// requestKey is the label set of one request's series, as comparable values.
type requestKey struct {
	route   *Route
	method  string // unknown routes only; a route's method is fixed
	status  int
	contact string
	site    int32
	auth    bool
	host    string
}

type requestSeries struct {
	http, vertx prometheus.Counter
	vertxTime   *QuantileChild
}

func (m *API) newRequestSeries(k requestKey, snap *store.Snapshot) requestSeries {
	code := strconv.Itoa(k.status)
	site, name := siteLabels(snap, k.site, k.auth)
	contact := contactLabel(k.contact, k.auth)
	method := k.route.method
	if k.route == UnknownRoute {
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
// Host is "NotSpecified"; other values are bounded, and anything that is not
// a host name or address (an "@", say: a client could put an email there)
// is Other, so the label never carries DII.
func (m *API) hostLabel(host string) string {
	switch {
	case host == "":
		return "NotSpecified"
	case strings.HasPrefix(host, "10."):
		return "10.x.x.x:xx"
	case !isHost(host):
		return Other
	}
	return m.hosts.Label(host)
}

// isHost reports whether h has only the characters of a host name, an IP
// address and a port: letters, digits, '.', '-', '_', ':', '[' and ']'.
func isHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
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

// appVersion counts X-UID2-AppVersion like the reference's
// uid2_client_versions_total: the name is the text before the first "=", the
// version what follows it up to the next ";" (VertxUtils#parseClientAppVersion).
func (m *API) appVersion(contact string, known bool, header string) {
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

func (m *API) counter(k seriesKey, snap *store.Snapshot) prometheus.Counter {
	if c, ok := m.counters.Get(k); ok {
		return c
	}
	site, name := siteLabels(snap, k.site, k.known)
	contact := contactLabel(k.contact, k.known)
	var c prometheus.Counter
	switch k.fam {
	case famTokenStatus:
		c = m.tokenStatus.WithLabelValues(site, name, TokenEndpointNames[k.a], TokenStatusNames[k.b],
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
		panic("metrics: counter for an observer family")
	}
	return m.counters.Add(k, c)
}

func (m *API) observer(k seriesKey, snap *store.Snapshot) prometheus.Observer {
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
		panic("metrics: observer for a counter family")
	}
	return m.observers.Add(k, o)
}

// Token endpoints, statuses and versions as TokenResponseStatsCollector names them.
type TokenEndpoint uint8

const (
	EndpointGenerate TokenEndpoint = iota
	EndpointRefresh
	EndpointCSTG
)

var TokenEndpointNames = [...]string{"GenerateV2", "RefreshV2", "ClientSideTokenGenerateV2"}

type TokenStatus uint8

const (
	TokenSuccess TokenStatus = iota
	TokenInsufficientUserConsent
	TokenInvalidUserConsentString
	TokenOptOut
	TokenExpiredToken
	TokenInvalidToken
	TokenMissingParams
	TokenBadPublicKey
	TokenBadSubscriptionID
	TokenInvalidHTTPOrigin
	TokenInvalidAppName
	TokenBadIV
	TokenBadPayload
	TokenBadJSONPayload
	TokenPayloadHasNoBody
	TokenUnknown
	TokenNoActiveKey
	TokenUnauthorized
)

var TokenStatusNames = [...]string{"Success", "InsufficientUserConsent", "InvalidUserConsentString", "OptOut",
	"ExpiredToken", "InvalidToken", "MissingParams", "BadPublicKey", "BadSubscriptionId", "InvalidHttpOrigin",
	"InvalidAppName", "BadIV", "BadPayload", "BadJsonPayload", "PayloadHasNoBody", "Unknown", "NoActiveKey",
	"Unauthorized"}

// Advertising token versions; tokens are always V4 here, "null" when none was issued.
const (
	tokenVersionNull uint8 = iota
	tokenVersionV4
)

var tokenVersionNames = [...]string{"null", "V4"}

// Platform is the client platform of a token request (getPlatformType).
type Platform uint8

const (
	PlatformInApp Platform = iota
	PlatformOrigin
	PlatformOther
)

var platformNames = [...]string{"InApp", "HasOriginHeader", "Other"}

// TokenResponse counts one token endpoint outcome for site.
func (m *API) TokenResponse(snap *store.Snapshot, site int32, ep TokenEndpoint, st TokenStatus, p Platform) {
	if m == nil {
		return
	}
	k := seriesKey{fam: famTokenStatus, site: site, known: true, a: uint8(ep), b: uint8(st), d: uint8(p)}
	if st == TokenSuccess {
		k.c = tokenVersionV4
	}
	if ep == EndpointCSTG {
		k.s1 = "cstg"
	}
	m.counter(k, snap).Inc()
}

// ValidateResult is a token validation outcome.
type ValidateResult uint8

// Token validate results.
const (
	ValidateMatch ValidateResult = iota
	ValidateMismatch
	ValidateUnauthorized
	ValidateInvalidToken
	ValidateInvalidInput
)

var validateResultNames = [...]string{"match", "mismatch", "unauthorized", "invalid_token", "invalid_input"}

func (m *API) Validated(snap *store.Snapshot, site int32, result ValidateResult) {
	if m != nil {
		m.counter(seriesKey{fam: famValidate, site: site, known: true, a: uint8(result)}, snap).Inc()
	}
}

// Refresh token versions.
const (
	refreshV2 uint8 = iota
	refreshV3
)

var refreshVersionNames = [...]string{"v2", "v3"}

func (m *API) RefreshReceived(snap *store.Snapshot, site int32, legacyV2 bool) {
	if m != nil {
		v := refreshV3
		if legacyV2 {
			v = refreshV2
		}
		m.counter(seriesKey{fam: famRefreshReceived, site: site, known: true, a: v}, snap).Inc()
	}
}

func (m *API) RefreshServed(snap *store.Snapshot, site int32) {
	if m != nil {
		m.counter(seriesKey{fam: famRefreshServed, site: site, known: true, a: refreshV3}, snap).Inc()
	}
}

// RefreshedAfter records the time since a token's last refresh and whether
// its advertising token had expired by then.
func (m *API) RefreshedAfter(snap *store.Snapshot, site int32, contact string, origin bool, since, identityTTL time.Duration) {
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

// KeysetStatus is how a site key was found (KeyManager).
type KeysetStatus uint8

// Site keyset statuses.
const (
	KeysetFound KeysetStatus = iota
	KeysetFallback
	KeysetNotFound
)

var keysetStatusNames = [...]string{"site_keyset_found", "fallback_keyset_found", "keyset_not_found"}

func (m *API) KeysetLookup(snap *store.Snapshot, site int32, status KeysetStatus) {
	if m != nil {
		m.counter(seriesKey{fam: famKeysetStatus, site: site, known: true, a: uint8(status)}, snap).Inc()
	}
}

// Raw UID versions.
const (
	RawUIDv2 = iota
	RawUIDv3
	RawUIDv4
	RawUIDVersions
)

var rawUIDVersionNames = [RawUIDVersions]string{"V2", "V3", "V4"}

// RawUIDDerived counts one derived raw UID of version v.
func (m *API) RawUIDDerived(v int) {
	if m != nil {
		m.rawUIDs[v].Inc()
	}
}

// RawUIDsDerived counts derived raw UIDs by version.
func (m *API) RawUIDsDerived(counts *[RawUIDVersions]int) {
	if m == nil {
		return
	}
	for v, n := range counts {
		if n > 0 {
			m.rawUIDs[v].Add(float64(n))
		}
	}
}

func (m *API) TCFUsed(c *store.Client) {
	if m != nil {
		m.counter(seriesKey{fam: famTCF, contact: c.Contact, known: true}, nil).Inc()
	}
}

// SDKVersion counts the X-UID2-Client-Version of a token refresh or a
// /v2/identity/map request, the two routes on which the reference records
// operator-served SDK usage (not /v3/identity/map, not generate), for the
// request's site; contact is the caller's api contact, "" when the request
// carries no known API key (a browser's refresh counts as "unknown").
func (m *API) SDKVersion(snap *store.Snapshot, site int32, contact, path, version string) {
	if m == nil || version == "" {
		return
	}
	k := seriesKey{fam: famSDKVersions, site: site, known: true, contact: contact,
		s1: m.sdkVersionLabels.Label(version), s2: path}
	m.counter(k, snap).Inc()
}

// Unmapped reasons.
const (
	unmappedInvalid uint8 = iota
	unmappedOptout
)

var unmappedReasonNames = [...]string{"invalid", "optout"}

// IdentityMap records one identity-map request: identifiers per DII type
// (indexed by identity.InputKind-1), unmapped counts and raw UID versions.
func (m *API) IdentityMap(c *store.Client, path string, perKind *[4]int, invalid, optout int) {
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

// OptoutStatus records one /v2/optout/status request's sizes.
func (m *API) OptoutStatus(c *store.Client, inputs, optedOut int) {
	if m == nil {
		return
	}
	m.observer(seriesKey{fam: famOptoutInput, contact: c.Contact, known: true}, nil).Observe(float64(inputs))
	m.observer(seriesKey{fam: famOptoutOptout, contact: c.Contact, known: true}, nil).Observe(float64(optedOut))
}

// Issued records what an issue, refresh or raw UID derivation looked up
// (issuer.Facts): the site keyset lookup, the raw UID version and a served
// refresh token, for site.
func (m *API) Issued(snap *store.Snapshot, site int32, f *issuer.Facts) {
	if m == nil {
		return
	}
	switch f.Keyset {
	case issuer.KeysetOwn:
		m.KeysetLookup(snap, site, KeysetFound)
	case issuer.KeysetFallback:
		m.KeysetLookup(snap, site, KeysetFallback)
	case issuer.KeysetNotFound:
		m.KeysetLookup(snap, site, KeysetNotFound)
	}
	if f.UIDDerived {
		m.RawUIDDerived(f.UIDVersion)
	}
	if f.Served {
		m.RefreshServed(snap, site)
	}
}

// Mapped records one identity-map request's counts (mapping.Counts) for
// client c on route path.
func (m *API) Mapped(c *store.Client, path string, n *mapping.Counts) {
	m.IdentityMap(c, path, &n.PerKind, n.Invalid, n.OptedOut)
	m.RawUIDsDerived(&n.UIDs)
}

// Refresh is what one /v2/token/refresh answer reports.
type Refresh struct {
	Snap   *store.Snapshot
	Caller *store.Client // nil when unauthenticated
	Out    *issuer.Refresh
	// Failure is the token-response status of a refresh that failed with
	// an error (Failed).
	Failure       TokenStatus
	Failed        bool
	Platform      Platform
	ClientVersion string // the X-UID2-Client-Version header
	Origin        bool   // an Origin header was sent
	NowMs         int64
}

// Refreshed records a refresh the way the reference does: the site is the
// caller's, else the token's; nothing is counted without one.
func (m *API) Refreshed(r *Refresh) {
	if m == nil {
		return
	}
	out, snap := r.Out, r.Snap
	site, known := out.Token.SiteID, out.Decoded
	if r.Caller != nil {
		site, known = r.Caller.SiteID, true
	}
	if !known {
		return
	}
	if out.Decoded {
		m.RefreshReceived(snap, site, out.Token.Version == token.VersionV2)
	}
	contact := ""
	if r.Caller != nil {
		contact = r.Caller.Contact
	}
	m.SDKVersion(snap, site, contact, "/v2/token/refresh", r.ClientVersion)
	st := TokenSuccess
	switch {
	case r.Failed:
		st = r.Failure
	case out.Result == issuer.RefreshOptout:
		st = TokenOptOut
	case out.Result == issuer.RefreshInvalid:
		st = TokenInvalidToken
	case out.Result == issuer.RefreshExpired:
		st = TokenExpiredToken
	}
	m.TokenResponse(snap, site, EndpointRefresh, st, r.Platform)
	if st == TokenSuccess {
		since := time.Duration(r.NowMs-out.Token.Created) * time.Millisecond
		ttl := time.Duration(snap.Runtime.IdentityTokenExpiresAfterSeconds) * time.Second
		m.RefreshedAfter(snap, site, contact, r.Origin, since, ttl)
	}
}

// cstgStatuses are the token-response statuses of the CSTG rejections, by
// their wire message (TokenResponseStatsCollector).
var cstgStatuses = map[string]TokenStatus{
	cstg.MsgUnauthorized: TokenUnauthorized, cstg.MsgBadOrigin: TokenInvalidHTTPOrigin,
	cstg.MsgBadAppName: TokenInvalidAppName, cstg.MsgRequired: TokenMissingParams,
	cstg.MsgBadPublicKey: TokenBadPublicKey, cstg.MsgBadIV: TokenBadIV,
	cstg.MsgDecryptFailed: TokenBadPayload, cstg.MsgInvalidJSON: TokenBadPayload,
	cstg.MsgPhoneDisabled: TokenBadPayload, cstg.MsgExactlyOne: TokenBadPayload, cstg.MsgExactlyOneNoPhone: TokenBadPayload,
}

// CSTGStatus is the token-response status of a CSTG rejection (*cstg.Error)
// with message msg; Unknown for any other.
func CSTGStatus(msg string) TokenStatus {
	if st, ok := cstgStatuses[msg]; ok {
		return st
	}
	return TokenUnknown
}
