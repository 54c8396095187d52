package store_test

import (
	"strconv"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// settings is a config stand-in: the keys present are the keys "set".
type settings map[string]string

func (s settings) Bool(k string) bool { return s[k] == "true" }
func (s settings) Int(k string) int64 {
	n, _ := strconv.ParseInt(s[k], 10, 64)
	return n
}
func (s settings) Text(k string) string { return s[k] }
func (s settings) IsSet(k string) bool  { _, ok := s[k]; return ok }

// with returns a copy of s with k set to v, or removed when v is "-".
func (s settings) with(k, v string) settings {
	out := settings{}
	for a, b := range s {
		out[a] = b
	}
	if v == "-" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// bootstrapBase is a valid bootstrap config with enable_remote_config off.
var bootstrapBase = settings{
	"enable_remote_config":                 "false",
	"identity_token_expires_after_seconds": "7200",
	"refresh_token_expires_after_seconds":  "172800",
	"refresh_identity_token_after_seconds": "1800",
	"sharing_token_expiry_seconds":         "604800",
	"identity_environment":                 "integ",
}

// TestRuntimeConfigFromSettings: the runtime config read from the operator
// config keys, with the reference's defaults for the maxima and its
// validation messages.
func TestRuntimeConfigFromSettings(t *testing.T) {
	got, err := store.RuntimeConfigFromSettings(bootstrapBase)
	want := store.RuntimeConfig{IdentityTokenExpiresAfterSeconds: 7200, RefreshTokenExpiresAfterSeconds: 172800,
		RefreshIdentityTokenAfterSeconds: 1800, SharingTokenExpirySeconds: 604800,
		MaxBidstreamLifetimeSeconds: 7200, MaxSharingLifetimeSeconds: 604800, IdentityEnvironment: "integ"}
	if err != nil || got != want {
		t.Fatalf("RuntimeConfigFromSettings = %+v, %v; want %+v", got, err, want)
	}
	got, err = store.RuntimeConfigFromSettings(bootstrapBase.with("max_bidstream_lifetime_seconds", "9000").
		with("max_sharing_lifetime_seconds", "700000").with("identity_environment", "PROD"))
	if err != nil || got.MaxBidstreamLifetimeSeconds != 9000 || got.MaxSharingLifetimeSeconds != 700000 || got.IdentityEnvironment != "prod" {
		t.Fatalf("with maxima = %+v, %v", got, err)
	}
	// null in a config file reads as 0: the maxima take their defaults.
	got, err = store.RuntimeConfigFromSettings(bootstrapBase.with("max_bidstream_lifetime_seconds", "0").with("max_sharing_lifetime_seconds", "0"))
	if err != nil || got != want {
		t.Fatalf("with zero maxima = %+v, %v; want %+v", got, err, want)
	}
	for _, tc := range []struct {
		key, value, want string
	}{
		{"identity_token_expires_after_seconds", "-", "identity_token_expires_after_seconds is required"},
		{"refresh_token_expires_after_seconds", "-", "refresh_token_expires_after_seconds is required"},
		{"refresh_identity_token_after_seconds", "-", "refresh_identity_token_after_seconds is required"},
		{"sharing_token_expiry_seconds", "-", "sharing_token_expiry_seconds is required"},
		{"identity_environment", "-", "identity_environment is required"},
		{"identity_environment", "", "identity_environment is required"},
		{"identity_token_expires_after_seconds", "0", "identity_token_expires_after_seconds: must be positive (got 0)"},
		{"refresh_token_expires_after_seconds", "3600", "refresh_token_expires_after_seconds (3600) must be >= identity_token_expires_after_seconds (7200)"},
		{"refresh_identity_token_after_seconds", "7201", "identity_token_expires_after_seconds (7200) must be >= refresh_identity_token_after_seconds (7201)"},
		{"max_bidstream_lifetime_seconds", "7199", "max_bidstream_lifetime_seconds (7199) must be >= identity_token_expires_after_seconds (7200)"},
		{"max_sharing_lifetime_seconds", "-1", "max_sharing_lifetime_seconds: must be positive (got -1)"},
		{"identity_environment", "staging", `identity_environment: must be test, integ or prod (got "staging")`},
		// Past 100 years, now_ms + seconds*1000 could overflow into tokens born expired.
		{"refresh_token_expires_after_seconds", "9223372036854775807", "refresh_token_expires_after_seconds: must be at most 3153600000 (100 years) (got 9223372036854775807)"},
		{"max_bidstream_lifetime_seconds", "3153600001", "max_bidstream_lifetime_seconds: must be at most 3153600000 (100 years) (got 3153600001)"},
	} {
		_, err := store.RuntimeConfigFromSettings(bootstrapBase.with(tc.key, tc.value))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s=%s: err = %v; want %q", tc.key, tc.value, err, tc.want)
		}
	}
}

// TestParseRuntimeConfigRequired: Core's document is checked the same way;
// a missing value is "required", not "must be positive".
func TestParseRuntimeConfigRequired(t *testing.T) {
	_, err := store.ParseRuntimeConfig([]byte(`{"version":3,"runtime_config":{"identity_token_expires_after_seconds":10,"refresh_token_expires_after_seconds":20,"refresh_identity_token_after_seconds":5,"identity_environment":"test"}}`))
	if want := "runtime_config: sharing_token_expiry_seconds is required"; err == nil || err.Error() != want {
		t.Errorf("err = %v; want %q", err, want)
	}
	rc, err := store.ParseRuntimeConfig([]byte(`{"version":3,"runtime_config":{"identity_token_expires_after_seconds":10,"refresh_token_expires_after_seconds":20,"refresh_identity_token_after_seconds":5,"sharing_token_expiry_seconds":30,"identity_environment":"Test"}}`))
	if err != nil || rc.Version != 3 || rc.MaxBidstreamLifetimeSeconds != 10 || rc.MaxSharingLifetimeSeconds != 30 || rc.IdentityEnvironment != "test" {
		t.Errorf("ParseRuntimeConfig = %+v, %v", rc, err)
	}
}

// TestLoadBootstrap: with enable_remote_config off the runtime config is
// published from the config keys; with it on nothing is, and the part is
// left to the loader.
func TestLoadBootstrap(t *testing.T) {
	spec, _ := store.Spec(store.PartRuntime)
	if len(spec.BootstrapKeys) != 7 || spec.Switch != "enable_remote_config" {
		t.Fatalf("runtime row: switch %q, bootstrap keys %v", spec.Switch, spec.BootstrapKeys)
	}
	for _, p := range store.Parts() {
		if p.Part != store.PartRuntime && p.Bootstrapped(settings{}) {
			t.Errorf("%s: bootstrapped; only the runtime config is", p.Part)
		}
	}

	st := store.New(nil)
	parts, err := st.LoadBootstrap(bootstrapBase.with("enable_remote_config", "true"))
	if err != nil || len(parts) != 0 || st.Load().Runtime != nil {
		t.Fatalf("remote config on: parts %v, err %v, runtime %+v", parts, err, st.Load().Runtime)
	}
	parts, err = st.LoadBootstrap(bootstrapBase)
	snap := st.Load()
	if err != nil || len(parts) != 1 || parts[0] != store.PartRuntime || snap.Runtime == nil ||
		snap.Runtime.IdentityTokenExpiresAfterSeconds != 7200 || snap.Loaded[store.PartRuntime].IsZero() {
		t.Fatalf("remote config off: parts %v, err %v, runtime %+v", parts, err, snap.Runtime)
	}

	st = store.New(nil)
	_, err = st.LoadBootstrap(bootstrapBase.with("identity_environment", "-"))
	if want := "runtime config from the operator config (enable_remote_config is false): identity_environment is required"; err == nil || err.Error() != want {
		t.Errorf("err = %v; want %q", err, want)
	}
	if st.Load().Runtime != nil {
		t.Error("a failed bootstrap published a runtime config")
	}
}
