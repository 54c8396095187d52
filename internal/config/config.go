// Package config holds the operator's configuration: the reference operator's
// JSON config keys (core-and-optout.md §4.1–§4.2, operator-api.md §1.6) with
// their defaults, parsing, the environment-variable overlay and validation.
// cli decides the order of the layers and applies flags.
//
// The keys of the store parts (metadata paths, refresh intervals, switches)
// are fields like any other; which part each belongs to comes from the store
// table, which cli hands over as Config.Stores, and the key-driven accessors
// (Text, Int, Bool) let that table name keys instead of fields.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Defaults of the operator's own (non-reference) settings.
const (
	DefaultHTTPAddr        = ":8080"
	DefaultMetricsAddr     = ":9080"
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 120 * time.Second
	DefaultShutdownTimeout = 25 * time.Second
	// DefaultDrainDelay is how long SIGTERM keeps serving (readiness 503,
	// "Connection: close") before Shutdown: it covers endpoint propagation
	// on AKS (EndpointSlice → kube-proxy / Azure load balancer, a few
	// seconds; 15 s leaves margin). With DefaultShutdownTimeout it must fit
	// the 45 s terminationGracePeriodSeconds of deploy/aks and the chart.
	DefaultDrainDelay     = 15 * time.Second
	DefaultMaxRequestBody = 1 << 20
	// DefaultRefreshInterval is every store's refresh period (the *_refresh_ms keys).
	DefaultRefreshInterval = 10 * time.Second
	// DefaultOptoutRefresh is the opt-out sync period (cloud_refresh_interval).
	DefaultOptoutRefresh = 60 * time.Second
	// DefaultStaleShutdownTime is store_refresh_stale_shutdown_hours and
	// DefaultSaltsExpiredShutdown salts_expired_shutdown_hours (§5.2).
	DefaultStaleShutdownTime    = 12 * time.Hour
	DefaultSaltsExpiredShutdown = 12 * time.Hour
	// DefaultStartupTimeout bounds Core-mode start-up (attest, first load of
	// every store and opt-outs). The reference exits on the first failure;
	// we retry with backoff for this long, then exit so Kubernetes restarts
	// the pod.
	DefaultStartupTimeout = 10 * time.Minute
)

// Config is the operator configuration. JSON names are the reference's keys,
// so an existing operator config file works unchanged.
type Config struct {
	// Core / attestation.
	CoreAttestURL string `json:"core_attest_url"`
	CoreAPIToken  string `json:"core_api_token"`
	OperatorType  string `json:"operator_type"`
	// EnclavePlatform selects the attestation protocol and the source of
	// the operator key: "" (trusted: core_api_token) or "azure-cc" (SKR/MAA
	// attestation, key from Key Vault azure_vault_name/azure_secret_name).
	EnclavePlatform     string `json:"enclave_platform"`
	UIDInstanceIDPrefix string `json:"uid_instance_id_prefix"`
	StorageMock         bool   `json:"storage_mock"`
	// MaaServerBaseURL is the MAA instance for azure-cc attestation; empty
	// means the reference's default, https://sharedeus.eus.attest.azure.net.
	MaaServerBaseURL string `json:"maa_server_base_url"`
	// AzureVaultName and AzureSecretName name the Key Vault secret holding
	// the operator key when enclave_platform is azure-cc. The reference's
	// azr.py exports them as environment variables.
	AzureVaultName  string `json:"azure_vault_name"`
	AzureSecretName string `json:"azure_secret_name"`

	// Store metadata paths: absolute URLs in Core mode, dataset paths locally.
	ClientsMetadataPath             string `json:"clients_metadata_path"`
	KeysetsMetadataPath             string `json:"keysets_metadata_path"`
	KeysetKeysMetadataPath          string `json:"keyset_keys_metadata_path"`
	SaltsMetadataPath               string `json:"salts_metadata_path"`
	SitesMetadataPath               string `json:"sites_metadata_path"`
	ClientSideKeypairsMetadataPath  string `json:"client_side_keypairs_metadata_path"`
	ServicesMetadataPath            string `json:"services_metadata_path"`
	ServiceLinksMetadataPath        string `json:"service_links_metadata_path"`
	CloudEncryptionKeysMetadataPath string `json:"cloud_encryption_keys_metadata_path"`
	RuntimeConfigMetadataPath       string `json:"runtime_config_metadata_path"`
	OptoutMetadataPath              string `json:"optout_metadata_path"`
	OptoutAPIURI                    string `json:"optout_api_uri"`

	// Feature flags that change the wire protocol (operator-api.md §1.6).
	EncryptedFiles                   bool   `json:"encrypted_files"`
	EnableRemoteConfig               bool   `json:"enable_remote_config"`
	ClientSideTokenGenerate          bool   `json:"client_side_token_generate"`
	CSTGDomainNameCheckEnabled       bool   `json:"client_side_token_generate_domain_name_check_enabled"`
	KeySharingEndpointProvideAppName bool   `json:"key_sharing_endpoint_provide_app_names"`
	ValidateServiceLinks             bool   `json:"validate_service_links"`
	IdentityScope                    string `json:"identity_scope"`
	EnableV2Encryption               bool   `json:"enable_v2_encryption"`
	IdentityV3                       bool   `json:"identity_v3"`
	EnablePhoneSupport               bool   `json:"enable_phone_support"`
	OptoutStatusAPIEnabled           bool   `json:"optout_status_api_enabled"`
	OptoutStatusMaxRequestSize       int    `json:"optout_status_max_request_size"`
	TCFVendorID                      int    `json:"tcf_vendor_id"`
	AllowClockSkewSeconds            int64  `json:"allow_clock_skew_seconds"`

	// Opt-out sync.
	OptoutS3Folder             string `json:"optout_s3_folder"`
	OptoutDeltaRotateInterval  int64  `json:"optout_delta_rotate_interval"`
	OptoutDeltaBacktrackInDays int64  `json:"optout_delta_backtrack_in_days"`
	OptoutPartitionInterval    int64  `json:"optout_partition_interval"`
	OptoutMaxPartitions        int64  `json:"optout_max_partitions"`
	CloudRefreshInterval       int64  `json:"cloud_refresh_interval"`
	// OptoutS3PathCompat renames log↔delta and snapshot↔partition when
	// matching listed locations (core-and-optout.md §3.1).
	OptoutS3PathCompat bool `json:"optout_s3_path_compat"`
	// OptoutSyntheticLogsEnabled loads <optout_s3_folder>synthetic/ and
	// replica-999 files; OptoutSyntheticLogsCount caps how many synthetic
	// files are listed (0: all).
	OptoutSyntheticLogsEnabled bool  `json:"optout_synthetic_logs_enabled"`
	OptoutSyntheticLogsCount   int64 `json:"optout_synthetic_logs_count"`

	// Refresh intervals in milliseconds (core-and-optout.md §2.1).
	SiteRefreshMs                int64 `json:"site_refresh_ms"`
	ClientSideKeypairsRefreshMs  int64 `json:"client_side_keypairs_refresh_ms"`
	ConfigScanPeriodMs           int64 `json:"config_scan_period_ms"`
	AuthRefreshMs                int64 `json:"auth_refresh_ms"`
	KeysetRefreshMs              int64 `json:"keyset_refresh_ms"`
	KeysetKeyRefreshMs           int64 `json:"keysetkey_refresh_ms"`
	SaltRefreshMs                int64 `json:"salt_refresh_ms"`
	ServiceRefreshMs             int64 `json:"service_refresh_ms"`
	ServiceLinkRefreshMs         int64 `json:"service_link_refresh_ms"`
	CloudEncryptionKeysRefreshMs int64 `json:"cloud_encryption_keys_refresh_ms"`

	// Shutdown rules (core-and-optout.md §5.2).
	SaltsExpiredShutdownHours     int64 `json:"salts_expired_shutdown_hours"`
	StoreRefreshStaleShutdownHour int64 `json:"store_refresh_stale_shutdown_hours"`

	// Runtime config used when enable_remote_config is false (§2.4.2).
	IdentityTokenExpiresAfterSeconds int64  `json:"identity_token_expires_after_seconds"`
	RefreshTokenExpiresAfterSeconds  int64  `json:"refresh_token_expires_after_seconds"`
	RefreshIdentityTokenAfterSeconds int64  `json:"refresh_identity_token_after_seconds"`
	SharingTokenExpirySeconds        int64  `json:"sharing_token_expiry_seconds"`
	MaxBidstreamLifetimeSeconds      int64  `json:"max_bidstream_lifetime_seconds"`
	MaxSharingLifetimeSeconds        int64  `json:"max_sharing_lifetime_seconds"`
	IdentityEnvironment              string `json:"identity_environment"`

	// Our own settings (not reference keys): set by flags.
	HTTPAddr        string        `json:"-"`
	MetricsAddr     string        `json:"-"`
	ReadTimeout     time.Duration `json:"-"`
	WriteTimeout    time.Duration `json:"-"`
	IdleTimeout     time.Duration `json:"-"`
	ShutdownTimeout time.Duration `json:"-"`
	DrainDelay      time.Duration `json:"-"`
	StartupTimeout  time.Duration `json:"-"`
	// DatasetDir, when set, replaces the embedded local dataset.
	DatasetDir string `json:"-"`

	// Memory and heavy-request admission (internal/admission), set by
	// flags. Zero values are filled at start-up: MemoryLimit from the
	// cgroup, AdmissionBudget from the limit, AdmissionSlots from the CPUs.
	MemoryLimit     int64         `json:"-"` // bytes
	AdmissionBudget int64         `json:"-"` // bytes
	AdmissionSlots  int           `json:"-"`
	AdmissionWait   time.Duration `json:"-"`

	// Stores are the store parts whose metadata paths DeriveCorePaths
	// fills and Validate checks in Core mode (from store.Parts; cli sets
	// them). Core mode without them fails validation.
	Stores []StorePart `json:"-"`

	// explicit holds the keys a config file or an environment variable set,
	// so code defaults that depend on the mode never replace them.
	explicit map[string]bool
}

// Enclave platforms (enclave_platform).
const (
	PlatformTrusted = ""
	PlatformAzureCC = "azure-cc"
)

// DefaultAdmissionWait is how long a heavy request waits for admission
// before 429: long enough to ride out a burst, well inside the read and
// write timeouts (the wait counts against both).
const DefaultAdmissionWait = 2 * time.Second

// Default returns the configuration with every default spelled out: local
// mode on the embedded dataset, v2 encryption on, UID2 scope.
func Default() Config {
	const refreshMs = int64(DefaultRefreshInterval / time.Millisecond)
	return Config{
		OperatorType:               "private",
		UIDInstanceIDPrefix:        "local-operator",
		StorageMock:                true,
		EnableRemoteConfig:         true,
		ClientSideTokenGenerate:    true,
		CSTGDomainNameCheckEnabled: true,
		IdentityScope:              "uid2",
		EnableV2Encryption:         true,
		EnablePhoneSupport:         true,
		OptoutStatusAPIEnabled:     true,
		OptoutStatusMaxRequestSize: 5000,
		TCFVendorID:                21,
		AllowClockSkewSeconds:      1800,
		OptoutS3Folder:             "optout/",
		OptoutDeltaRotateInterval:  300,
		OptoutDeltaBacktrackInDays: 1,
		OptoutPartitionInterval:    86400,
		OptoutMaxPartitions:        30,
		CloudRefreshInterval:       int64(DefaultOptoutRefresh / time.Second),

		SiteRefreshMs:                refreshMs,
		ClientSideKeypairsRefreshMs:  refreshMs,
		ConfigScanPeriodMs:           refreshMs,
		AuthRefreshMs:                refreshMs,
		KeysetRefreshMs:              refreshMs,
		KeysetKeyRefreshMs:           refreshMs,
		SaltRefreshMs:                refreshMs,
		ServiceRefreshMs:             refreshMs,
		ServiceLinkRefreshMs:         refreshMs,
		CloudEncryptionKeysRefreshMs: refreshMs,

		SaltsExpiredShutdownHours:     int64(DefaultSaltsExpiredShutdown / time.Hour),
		StoreRefreshStaleShutdownHour: int64(DefaultStaleShutdownTime / time.Hour),

		HTTPAddr:        DefaultHTTPAddr,
		MetricsAddr:     DefaultMetricsAddr,
		ReadTimeout:     DefaultReadTimeout,
		WriteTimeout:    DefaultWriteTimeout,
		IdleTimeout:     DefaultIdleTimeout,
		ShutdownTimeout: DefaultShutdownTimeout,
		DrainDelay:      DefaultDrainDelay,
		StartupTimeout:  DefaultStartupTimeout,

		AdmissionWait: DefaultAdmissionWait,
	}
}

// Parse overlays the JSON document r on c. Known keys replace what is there;
// unknown key names are returned (sorted) so the caller can log them once;
// values of unknown keys are never echoed because they may be secrets.
func (c *Config) Parse(r io.Reader) (unknown []string, err error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for k := range raw {
		if _, ok := keyKinds[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for k, v := range raw {
		if _, ok := keyKinds[k]; !ok {
			continue
		}
		if err := c.set(k, v); err != nil {
			return nil, fmt.Errorf("config: %s: %v", k, typeError(err))
		}
	}
	return unknown, nil
}

// ApplyEnv overlays environment variables named exactly like a config key
// (lower case, e.g. enable_v2_encryption=false), as the reference's "env"
// config store does (uid2-shared VertxUtils#createConfigRetriever). Values
// are converted the way that store converts them: true/false in any case for
// switches, a decimal integer for numbers, the raw text for everything else.
// A value a switch or number cannot take is an error naming the variable.
// ApplyEnv returns the names of the keys it set (never their values).
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) (set []string, err error) {
	for _, k := range fields {
		v, ok := lookup(k)
		if !ok {
			continue
		}
		raw, err := envValue(k, v)
		if err != nil {
			return nil, err
		}
		if err := c.set(k, raw); err != nil {
			return nil, &ValidationError{"environment variable " + k, v, typeError(err)}
		}
		set = append(set, k)
	}
	return set, nil
}

// envValue turns the text of environment variable k into the JSON value of
// its key.
func envValue(k, v string) (json.RawMessage, error) {
	switch keyKinds[k] {
	case kindBool:
		switch {
		case strings.EqualFold(v, "true"):
			return json.RawMessage("true"), nil
		case strings.EqualFold(v, "false"):
			return json.RawMessage("false"), nil
		}
		return nil, &ValidationError{"environment variable " + k, v, "must be true or false"}
	case kindNumber:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, &ValidationError{"environment variable " + k, v, "must be an integer"}
		}
		return strconv.AppendInt(nil, n, 10), nil
	}
	b, _ := json.Marshal(v) // a Go string always marshals
	return b, nil
}

// set decodes one key's JSON value into c and records the key as explicit.
func (c *Config) set(k string, v json.RawMessage) error {
	one, _ := json.Marshal(map[string]json.RawMessage{k: v})
	if err := json.Unmarshal(one, c); err != nil {
		return err
	}
	if c.explicit == nil {
		c.explicit = map[string]bool{}
	}
	c.explicit[k] = true
	return nil
}

// IsSet reports whether a config file or an environment variable set key.
func (c *Config) IsSet(key string) bool { return c.explicit[key] }

func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("must be %s (got %s)", te.Type, te.Value)
	}
	return err.Error()
}

// ValidationError names the config field and what is wrong with it.
type ValidationError struct {
	Field string
	Value string
	Msg   string
}

func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s (got %q)", e.Field, e.Msg, e.Value)
}

// CoreMode reports whether the operator syncs from a Core service.
func (c *Config) CoreMode() bool { return c.CoreAttestURL != "" }

// Scope is the identity scope identity_scope names (UID2 unless "euid";
// Validate rejects other values).
func (c *Config) Scope() identity.Scope {
	s, _ := identity.ParseScope(c.IdentityScope)
	return s
}

// Validate checks the values a bad config would otherwise turn into odd
// runtime behaviour.
func (c *Config) Validate() error {
	if _, ok := identity.ParseScope(c.IdentityScope); !ok {
		return &ValidationError{"identity_scope", c.IdentityScope, "must be uid2 or euid"}
	}
	switch c.OperatorType {
	case "public", "private":
	default:
		return &ValidationError{"operator_type", c.OperatorType, "must be public or private"}
	}
	if c.OptoutStatusMaxRequestSize <= 0 {
		return &ValidationError{"optout_status_max_request_size", fmt.Sprint(c.OptoutStatusMaxRequestSize), "must be positive"}
	}
	if c.AllowClockSkewSeconds < 0 {
		return &ValidationError{"allow_clock_skew_seconds", fmt.Sprint(c.AllowClockSkewSeconds), "must not be negative"}
	}
	for _, v := range []struct {
		field string
		v     int64
	}{
		{"optout_delta_rotate_interval", c.OptoutDeltaRotateInterval},
		{"optout_delta_backtrack_in_days", c.OptoutDeltaBacktrackInDays},
		{"optout_partition_interval", c.OptoutPartitionInterval},
		{"optout_max_partitions", c.OptoutMaxPartitions},
	} {
		if v.v <= 0 {
			return &ValidationError{v.field, fmt.Sprint(v.v), "must be positive"}
		}
	}
	switch c.EnclavePlatform {
	case PlatformTrusted, PlatformAzureCC:
	case "aws-nitro", "gcp-oidc":
		return &ValidationError{"enclave_platform", c.EnclavePlatform, "is not supported by this operator, which runs on Azure; use empty (trusted) or azure-cc"}
	default:
		return &ValidationError{"enclave_platform", c.EnclavePlatform, "must be empty (trusted) or azure-cc"}
	}
	if c.MaaServerBaseURL != "" {
		if u, err := url.Parse(c.MaaServerBaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return &ValidationError{"maa_server_base_url", c.MaaServerBaseURL, "must be an https URL like https://sharedeus.eus.attest.azure.net"}
		}
	}
	if c.OptoutSyntheticLogsCount < 0 {
		return &ValidationError{"optout_synthetic_logs_count", fmt.Sprint(c.OptoutSyntheticLogsCount), "must not be negative"}
	}
	if c.CoreMode() {
		if err := checkURL("core_attest_url", c.CoreAttestURL); err != nil {
			return err
		}
		if c.CoreAPIToken == "" && c.EnclavePlatform != PlatformAzureCC {
			return &ValidationError{Field: "core_api_token", Msg: "required in Core mode (set --operator-key or UID2_OPERATOR_KEY; with enclave_platform azure-cc it comes from Key Vault)"}
		}
		if c.UIDInstanceIDPrefix == "" {
			return &ValidationError{Field: "uid_instance_id_prefix", Msg: "required in Core mode"}
		}
		if err := c.validateCorePaths(); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		// Named by the serve flags that set them (they have no config key).
		{"--read-timeout", c.ReadTimeout}, {"--write-timeout", c.WriteTimeout}, {"--idle-timeout", c.IdleTimeout},
		{"--shutdown-timeout", c.ShutdownTimeout}, {"--startup-timeout", c.StartupTimeout},
	} {
		if d.v <= 0 {
			return &ValidationError{d.name, d.v.String(), "must be positive"}
		}
	}
	if c.DrainDelay < 0 {
		return &ValidationError{"--drain-delay", c.DrainDelay.String(), "must not be negative"}
	}
	return nil
}

func checkURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &ValidationError{field, v, "must be an absolute http(s) URL"}
	}
	return nil
}

// kind is the JSON type of a config key's value.
type kind uint8

const (
	kindString kind = iota
	kindBool
	kindNumber
)

// keyKinds maps every JSON name of Config to the type of its value, read off
// the encoding of the zero Config; fields lists the names, sorted.
var keyKinds, fields = func() (map[string]kind, []string) {
	b, _ := json.Marshal(Config{})
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	kinds := make(map[string]kind, len(m))
	var names []string
	for k, v := range m {
		switch v[0] {
		case 't', 'f':
			kinds[k] = kindBool
		case '"':
			kinds[k] = kindString
		default:
			kinds[k] = kindNumber
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return kinds, names
}()

// IsLocalPath reports whether a metadata path is a dataset path rather than a URL.
func IsLocalPath(p string) bool {
	return !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://")
}

// DeriveCorePaths fills every Core and Opt-Out URL that is still empty from
// the two base URLs, the way the reference's integ and prod configs spell
// them (core-and-optout.md §2.2, §4.2): <core>/attest, <core>/clients/refresh,
// …, <optout>/optout/refresh and <optout>/optout/replicate. optoutURL may be
// empty: the opt-out listing and replication then resolve against the
// optout_url Core returns from /attest.
func (c *Config) DeriveCorePaths(coreURL, optoutURL string) {
	core := strings.TrimRight(coreURL, "/")
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if core != "" {
		set(&c.CoreAttestURL, core+"/attest")
		for _, p := range c.Stores {
			c.setTextDefault(p.PathKey, core+p.CorePath)
		}
		set(&c.CloudEncryptionKeysMetadataPath, core+"/cloud_encryption_keys/retrieve")
	}
	if o := strings.TrimRight(optoutURL, "/"); o != "" {
		set(&c.OptoutMetadataPath, o+"/optout/refresh")
		set(&c.OptoutAPIURI, o+"/optout/replicate")
	} else {
		set(&c.OptoutMetadataPath, "/optout/refresh")
		set(&c.OptoutAPIURI, "/optout/replicate")
	}
}

// validateCorePaths checks that every enabled store's metadata path is an
// absolute URL, as Core mode requires (§2.3), and that a private operator
// turns on no part Core refuses it.
func (c *Config) validateCorePaths() error {
	if len(c.Stores) == 0 {
		return &ValidationError{Field: "stores", Msg: "no store parts to load (the program must set Config.Stores)"}
	}
	var paths []struct{ field, v string }
	for _, p := range c.Stores {
		if c.StoreOn(p) {
			paths = append(paths, struct{ field, v string }{p.PathKey, c.Text(p.PathKey)})
		}
	}
	if c.EncryptedFiles {
		paths = append(paths, struct{ field, v string }{"cloud_encryption_keys_metadata_path", c.CloudEncryptionKeysMetadataPath})
	}
	if strings.EqualFold(c.OperatorType, "private") {
		// Core answers 403 to private operators on these stores (§2.4).
		for _, sw := range c.Stores {
			if !sw.PublicOnly || sw.Switch == "" || !c.Bool(sw.Switch) {
				continue
			}
			var names []string
			for _, p := range c.Stores {
				if p.PublicOnly && p.Switch == sw.Switch {
					names = append(names, p.Name)
				}
			}
			return &ValidationError{sw.Switch, "true", "must be false for a private operator in Core mode (Core refuses " +
				strings.Join(names, " and ") + " to private operators)"}
		}
	}
	for _, p := range paths {
		if err := checkURL(p.field, p.v); err != nil {
			return err
		}
	}
	if c.OptoutAPIURI != "" && !strings.HasPrefix(c.OptoutAPIURI, "/") {
		if err := checkURL("optout_api_uri", c.OptoutAPIURI); err != nil {
			return err
		}
	}
	return nil
}
