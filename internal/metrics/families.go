// Package metrics names the operator's Prometheus metric families in one
// place: the reference operator's families (IABTechLab/uid2-operator 5.70 and
// uid2-shared 11.x: Main#setupMetrics, OperatorMetrics,
// TokenResponseStatsCollector, RequestCapturingHandler, RotatingStoreVerticle,
// CloudSyncVerticle, HealthManager, the Vert.x HTTP server metrics) with their
// names, labels and meanings, so dashboards and alerts built on the reference
// work unchanged, plus the few of ours that add something (marked Ours).
//
// Every family carries the reference's common label application="uid2-operator".
// Label values are bounded: routes, statuses and enum names are fixed sets;
// site ids, site names and api contacts come from the client and site stores;
// free-form header values go through Bounded. No label ever holds DII, a token,
// a key or a raw URL.
//
// Families are declared here; core builds its vectors from them, and API
// (api.go) records the HTTP API's families from facts the api package hands
// it (it imports no net/http). Label children are cached (Cache) so the
// request path does not allocate.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Application is the value of the common label "application" that the
// reference adds to every metric (Main#setupMetrics commonTags).
const Application = "uid2-operator"

// Kind is a family's Prometheus type.
type Kind string

// Kinds.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Summary   Kind = "summary"
	Histogram Kind = "histogram"
)

// Family is one metric family: its exposed name (counters end in _total, as
// Micrometer's Prometheus names do), type, labels (without application) and
// meaning.
type Family struct {
	Name   string
	Kind   Kind
	Labels []string
	Help   string
	// Ours marks families the reference does not have.
	Ours bool
}

// HTTP families (api).
var (
	HTTPRequests = Family{Name: "uid2_http_requests_total", Kind: Counter,
		Labels: []string{"api_contact", "site_id", "site_name", "host", "status", "method", "path"},
		Help:   "API requests by the caller's api contact, site, Host header, HTTP status, method and route path; path \"unknown\" when no route matched (RequestCapturingHandler)."}
	ClientVersions = Family{Name: "uid2_client_versions_total", Kind: Counter,
		Labels: []string{"api_contact", "client_name", "client_version"},
		Help:   "Requests by the X-UID2-AppVersion header's client name and version."}
	ClientSDKVersions = Family{Name: "uid2_client_sdk_versions_total", Kind: Counter,
		Labels: []string{"site_id", "api_contact", "client_version", "path"},
		Help:   "Token refreshes (without an API key: api_contact \"unknown\", the token's site) and /v2/identity/map requests by the X-UID2-Client-Version header (operator-served SDK usage, as the reference records it)."}
	VertxRequests = Family{Name: "vertx_http_server_requests_total", Kind: Counter,
		Labels: []string{"code", "method", "path"},
		Help:   "Processed requests by status code, method and route path (Vert.x HTTP server metrics; 404s are not recorded)."}
	VertxResponseTime = Family{Name: "vertx_http_server_response_time_seconds", Kind: Summary,
		Labels: []string{"code", "method", "path"},
		Help:   "Request processing time with the 0.9, 0.95 and 0.99 quantiles (Vert.x HTTP server metrics)."}
	VertxResponseTimeMax = Family{Name: "vertx_http_server_response_time_seconds_max", Kind: Gauge,
		Labels: []string{"code", "method", "path"},
		Help:   "Longest request processing time in the last 2 minutes (Micrometer's timer _max)."}
	VertxActiveRequests = Family{Name: "vertx_http_server_active_requests", Kind: Gauge,
		Labels: []string{"method", "path"},
		Help:   "Requests being processed (Vert.x HTTP server metrics)."}
	RequestDuration = Family{Name: "uid2_http_request_duration_seconds", Kind: Histogram, Ours: true,
		Labels: []string{"method", "path"},
		Help:   "API request latency by route as a histogram, aggregatable across pods for latency objectives."}
)

// Token families (api).
var (
	TokenResponseStatus = Family{Name: "uid2_token_response_status_count_total", Kind: Counter,
		Labels: []string{"site_id", "site_name", "token_endpoint", "token_response_status", "advertising_token_version", "cstg", "platform_type"},
		Help:   "Token generate, refresh and client-side generate outcomes (TokenResponseStatsCollector)."}
	TokenValidate = Family{Name: "uid2_token_validate_total", Kind: Counter,
		Labels: []string{"site_id", "site_name", "result"},
		Help:   "/v2/token/validate results: match, mismatch, unauthorized, invalid_token, invalid_input, error."}
	RefreshTokenReceived = Family{Name: "uid2_refresh_token_received_count_total", Kind: Counter,
		Labels: []string{"site_id", "refresh_token_version"},
		Help:   "Refresh tokens received by version."}
	RefreshTokenServed = Family{Name: "uid2_refresh_token_served_count_total", Kind: Counter,
		Labels: []string{"site_id", "refresh_token_version"},
		Help:   "Refresh tokens issued by version."}
	TokenRefreshDuration = Family{Name: "uid2_token_refresh_duration_seconds", Kind: Summary,
		Labels: []string{"site_id", "site_name", "api_contact", "has_origin_header"},
		Help:   "Seconds between a token's last refresh and this successful refresh."}
	TokenExpiredOnRefresh = Family{Name: "uid2_advertising_token_expired_on_refresh_total", Kind: Counter,
		Labels: []string{"site_id", "site_name", "has_origin_header", "is_expired"},
		Help:   "Successful refreshes by whether the previous advertising token had already expired."}
	RawUIDVersion = Family{Name: "uid2_raw_uid_version_total", Kind: Counter,
		Labels: []string{"version"},
		Help:   "Raw UIDs derived, by version (V2/V3 from a salt, V4 from key material)."}
	SiteKeysetStatus = Family{Name: "uid2_site_keyset_status_total", Kind: Counter,
		Labels: []string{"site_id", "status"},
		Help:   "Site key lookups for advertising tokens: site_keyset_found, fallback_keyset_found, keyset_not_found."}
	TCFUsage = Family{Name: "uid2_token_generate_tcf_usage_total", Kind: Counter,
		Labels: []string{"api_contact"},
		Help:   "EUID token generate requests carrying a TCF consent string."}
)

// Identity map and opt-out status families (api).
var (
	IdentityMapInputs = Family{Name: "uid2_operator_identity_map_inputs", Kind: Summary,
		Labels: []string{"api_contact", "path", "dii_type"},
		Help:   "Identifiers per identity-map request by DII type (email, email_hash, phone, phone_hash); _sum is the identifier count."}
	IdentityMapUnmapped = Family{Name: "uid2_operator_identity_map_unmapped_total", Kind: Counter,
		Labels: []string{"api_contact", "reason", "path"},
		Help:   "Identity-map identifiers left unmapped, by reason (invalid, optout)."}
	IdentityMapUnmappedRequests = Family{Name: "uid2_operator_identity_map_unmapped_requests_total", Kind: Counter,
		Labels: []string{"api_contact", "path"},
		Help:   "Identity-map requests with at least one unmapped identifier."}
	OptoutStatusInputSize = Family{Name: "uid2_operator_optout_status_input_size", Kind: Summary,
		Labels: []string{"api_contact"},
		Help:   "Advertising ids per /v2/optout/status request."}
	OptoutStatusOptoutSize = Family{Name: "uid2_operator_optout_status_optout_size", Kind: Summary,
		Labels: []string{"api_contact"},
		Help:   "Opted-out advertising ids per /v2/optout/status request."}
)

// Heavy-request admission families (internal/admission via cli).
var (
	AdmissionRejected = Family{Name: "uid2_admission_rejected_total", Kind: Counter, Ours: true,
		Help: "Heavy requests answered 429 because the budget or slots stayed full for the admission wait."}
	AdmissionInUse = Family{Name: "uid2_admission_in_use_bytes", Kind: Gauge, Ours: true,
		Help: "Estimated memory held by admitted heavy requests."}
	AdmissionBudget = Family{Name: "uid2_admission_budget_bytes", Kind: Gauge, Ours: true,
		Help: "Memory heavy requests may hold together."}
	AdmissionRunning = Family{Name: "uid2_admission_running", Kind: Gauge, Ours: true,
		Help: "Heavy requests being served."}
	AdmissionWaiting = Family{Name: "uid2_admission_waiting", Kind: Gauge, Ours: true,
		Help: "Heavy requests waiting for admission."}
)

// Store, salt and key families (core and the snapshot collector).
var (
	SaltLastUpdatedMax = Family{Name: "uid2_second_level_salt_last_updated_max", Kind: Gauge,
		Help: "Newest last-updated time of the effective second-level salts (epoch ms)."}
	SaltLastUpdatedMin = Family{Name: "uid2_second_level_salt_last_updated_min", Kind: Gauge,
		Help: "Oldest last-updated time of the effective second-level salts (epoch ms)."}
	SaltCurrentEffective = Family{Name: "uid2_second_level_salt_current_effective", Kind: Gauge,
		Help: "Effective time of the current second-level salt set (epoch ms)."}
	EncryptionKeyActivates = Family{Name: "uid2_encryption_key_activates", Kind: Gauge,
		Labels: []string{"site_id"},
		Help:   "Activation time of each site's active encryption key (epoch seconds)."}
	StoreRefreshed = Family{Name: "uid2_config_store_refreshed_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Successful store refreshes."}
	StoreRefreshFailures = Family{Name: "uid2_config_store_refresh_failures_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Failed store refreshes."}
	StoreRefreshTimeMs = Family{Name: "uid2_config_store_refreshtime_ms_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Milliseconds spent refreshing the store."}
	StoreVersion = Family{Name: "uid2_config_store_version", Kind: Gauge,
		Labels: []string{"store"}, Help: "Metadata version of the loaded store."}
	StoreEntryCount = Family{Name: "uid2_config_store_entry_count", Kind: Gauge,
		Labels: []string{"store"}, Help: "Entries in the loaded store."}
	StoreConsecutiveFailures = Family{Name: "uid2_config_store_consecutive_refresh_failures", Kind: Gauge,
		Labels: []string{"store"}, Help: "1 while the store's last refresh failed, else 0 (the reference's flag)."}
	StoreRefreshDuration = Family{Name: "uid2_store_refresh_duration_seconds", Kind: Summary,
		Labels: []string{"store_name"}, Help: "Duration of the store's initial load."}
	StoreLastSuccess = Family{Name: "uid2_config_store_last_success_timestamp_seconds", Kind: Gauge, Ours: true,
		Labels: []string{"store"}, Help: "Last successful refresh of the store (epoch seconds); time() minus this is its staleness."}
	ComponentHealth = Family{Name: "uid2_component_health", Kind: Gauge,
		Labels: []string{"component"},
		Help:   "1 when the component is healthy: http-server, <store>-rotator, cloudsync-optout, attestation."}
	AttestationExpiry = Family{Name: "uid2_attestation_expiry_timestamp_seconds", Kind: Gauge, Ours: true,
		Help: "Expiry of the current attestation token (epoch seconds)."}
	AttestationFailures = Family{Name: "uid2_attestation_failures_total", Kind: Counter, Ours: true,
		Help: "Failed attestation attempts with Core."}
)

// Opt-out families (core).
var (
	CloudRefreshed = Family{Name: "uid2_cloud_refreshed_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Opt-out listing refreshes that succeeded (CloudSyncVerticle)."}
	CloudRefreshFailures = Family{Name: "uid2_cloud_refresh_failures_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Opt-out listing refreshes that failed."}
	CloudDownloaded = Family{Name: "uid2_cloud_downloaded_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Opt-out files downloaded."}
	CloudDownloadFailures = Family{Name: "uid2_cloud_download_failures_total", Kind: Counter,
		Labels: []string{"store"}, Help: "Opt-out file downloads that failed."}
	CloudConsecutiveFailures = Family{Name: "uid2_cloud_downloaded_consecutive_refresh_failures", Kind: Gauge,
		Labels: []string{"store"}, Help: "1 while the last opt-out refresh failed, else 0."}
	CloudDownloading = Family{Name: "uid2_cloud_downloading", Kind: Gauge,
		Labels: []string{"store"}, Help: "Opt-out files pending download."}
	CloudDownloadDuration = Family{Name: "uid2_cloud_download_duration_seconds", Kind: Summary,
		Labels: []string{"store_name", "status"}, Help: "Opt-out file download time by status (success, failure)."}
	OptoutEntriesIndexed = Family{Name: "uid2_optout_entries_indexed", Kind: Gauge,
		Help: "Opt-out entries in the index."}
	OptoutDeltasIndexed = Family{Name: "uid2_optout_deltas_indexed_total", Kind: Counter,
		Help: "Opt-out delta files indexed."}
	OptoutPartitionsIndexed = Family{Name: "uid2_optout_partitions_indexed_total", Kind: Counter,
		Help: "Opt-out partition files indexed."}
	OptoutIndexUpdated = Family{Name: "uid2_optout_index_updated_total", Kind: Counter,
		Help: "Opt-out index rebuilds."}
	OptoutLastSync = Family{Name: "uid2_optout_last_sync_timestamp_seconds", Kind: Gauge, Ours: true,
		Help: "Last successful opt-out sync (epoch seconds)."}
	OptoutDataTimestamp = Family{Name: "uid2_optout_data_timestamp_seconds", Kind: Gauge, Ours: true,
		Help: "Time of Opt-Out's newest file in the last synced listing (epoch seconds); time() minus this is the opt-out lag."}
	OptoutFiles = Family{Name: "uid2_optout_files", Kind: Gauge, Ours: true,
		Help: "Opt-out delta and partition files in the local cache."}
	OptoutBadFileNames = Family{Name: "uid2_optout_bad_file_names_total", Kind: Counter, Ours: true,
		Help: "Opt-out files skipped because their names do not parse."}
)

// Process families (cli).
var (
	Ready = Family{Name: "uid2_operator_ready", Kind: Gauge, Ours: true,
		Help: "1 when /ops/healthcheck answers 200 (readiness), else 0."}
	DegradedConditions = Family{Name: "uid2_operator_degraded_conditions", Kind: Gauge, Ours: true,
		Help: "Degraded conditions (still serving; listed in /ops/status): Core, Opt-Out or attestation failing, salts expired."}
	ResponsesCut = Family{Name: "uid2_operator_responses_cut_total", Kind: Counter, Ours: true,
		Help: "Responses cut by the write timeout (--write-timeout)."}
	AppStatus = Family{Name: "app_status", Kind: Gauge, Labels: []string{"version"},
		Help: "Always 1; the version label is the operator's image version."}
)

// Families lists every family in README order.
func Families() []Family {
	return []Family{
		HTTPRequests, ClientVersions, ClientSDKVersions, VertxRequests, VertxResponseTime, VertxResponseTimeMax, VertxActiveRequests, RequestDuration,
		TokenResponseStatus, TokenValidate, RefreshTokenReceived, RefreshTokenServed, TokenRefreshDuration,
		TokenExpiredOnRefresh, RawUIDVersion, SiteKeysetStatus, TCFUsage,
		IdentityMapInputs, IdentityMapUnmapped, IdentityMapUnmappedRequests, OptoutStatusInputSize, OptoutStatusOptoutSize,
		AdmissionRejected, AdmissionInUse, AdmissionBudget, AdmissionRunning, AdmissionWaiting,
		SaltLastUpdatedMax, SaltLastUpdatedMin, SaltCurrentEffective, EncryptionKeyActivates,
		StoreRefreshed, StoreRefreshFailures, StoreRefreshTimeMs, StoreVersion, StoreEntryCount, StoreConsecutiveFailures,
		StoreRefreshDuration, StoreLastSuccess, ComponentHealth, AttestationExpiry, AttestationFailures,
		CloudRefreshed, CloudRefreshFailures, CloudDownloaded, CloudDownloadFailures, CloudConsecutiveFailures,
		CloudDownloading, CloudDownloadDuration,
		OptoutEntriesIndexed, OptoutDeltasIndexed, OptoutPartitionsIndexed, OptoutIndexUpdated,
		OptoutLastSync, OptoutDataTimestamp, OptoutFiles, OptoutBadFileNames,
		Ready, DegradedConditions, ResponsesCut, AppStatus,
	}
}

// constLabels is the common label set.
var constLabels = prometheus.Labels{"application": Application}

// Desc returns f's descriptor, for collectors that compute values at scrape.
func (f Family) Desc() *prometheus.Desc {
	return prometheus.NewDesc(f.Name, f.Help, f.Labels, constLabels)
}

// NewCounterVec returns a counter vector for f.
func (f Family) NewCounterVec() *prometheus.CounterVec {
	f.must(Counter)
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels}, f.Labels)
}

// NewGaugeVec returns a gauge vector for f.
func (f Family) NewGaugeVec() *prometheus.GaugeVec {
	f.must(Gauge)
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels}, f.Labels)
}

// NewSummaryVec returns a summary vector for f with the given quantile
// objectives (nil: count and sum only, like a Micrometer DistributionSummary
// without percentiles).
func (f Family) NewSummaryVec(objectives map[float64]float64) *prometheus.SummaryVec {
	f.must(Summary)
	return prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels,
		Objectives: objectives}, f.Labels)
}

// NewHistogramVec returns a histogram vector for f.
func (f Family) NewHistogramVec(buckets []float64) *prometheus.HistogramVec {
	f.must(Histogram)
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels,
		Buckets: buckets}, f.Labels)
}

// NewGaugeFunc returns a gauge for f (no labels) whose value fn computes at scrape.
func (f Family) NewGaugeFunc(fn func() float64) prometheus.GaugeFunc {
	f.must(Gauge)
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels}, fn)
}

// NewCounterFunc returns a counter for f (no labels) whose value fn computes at scrape.
func (f Family) NewCounterFunc(fn func() float64) prometheus.CounterFunc {
	f.must(Counter)
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: f.Name, Help: f.Help, ConstLabels: constLabels}, fn)
}

// must panics on a programming error: a family built as the wrong kind.
func (f Family) must(k Kind) {
	if f.Kind != k {
		panic("metrics: " + f.Name + " is a " + string(f.Kind) + ", not a " + string(k))
	}
}

// SampleNames returns the sample names f exposes: the name itself, plus
// _count and _sum for summaries, and _bucket, _count and _sum for histograms.
func (f Family) SampleNames() []string {
	switch f.Kind {
	case Summary:
		return []string{f.Name, f.Name + "_count", f.Name + "_sum"}
	case Histogram:
		return []string{f.Name + "_bucket", f.Name + "_count", f.Name + "_sum"}
	}
	return []string{f.Name}
}
