package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RuntimeConfig holds token lifetimes and the identity environment
// (operator-api.md §4.8, core-and-optout.md §2.4.2).
type RuntimeConfig struct {
	Version                          int64  `json:"-"`
	IdentityTokenExpiresAfterSeconds int64  `json:"identity_token_expires_after_seconds"`
	RefreshTokenExpiresAfterSeconds  int64  `json:"refresh_token_expires_after_seconds"`
	RefreshIdentityTokenAfterSeconds int64  `json:"refresh_identity_token_after_seconds"`
	SharingTokenExpirySeconds        int64  `json:"sharing_token_expiry_seconds"`
	MaxBidstreamLifetimeSeconds      int64  `json:"max_bidstream_lifetime_seconds,omitempty"`
	MaxSharingLifetimeSeconds        int64  `json:"max_sharing_lifetime_seconds,omitempty"`
	IdentityEnvironment              string `json:"identity_environment"`
}

// MaxLifetimeSeconds bounds every lifetime in the runtime config: 100 years.
const MaxLifetimeSeconds = 100 * 365 * 24 * 3600

// RuntimeConfigKeys are the runtime config's keys: inside Core's
// runtime_config document, and at the top level of the operator config
// when enable_remote_config is false (the reference's bootstrap config).
var RuntimeConfigKeys = []string{
	"identity_token_expires_after_seconds",
	"refresh_token_expires_after_seconds",
	"refresh_identity_token_after_seconds",
	"sharing_token_expiry_seconds",
	"max_bidstream_lifetime_seconds",
	"max_sharing_lifetime_seconds",
	"identity_environment",
}

// runtimeFields are the runtime config values as read, nil when absent: the
// reference tells a missing value ("is required") from a bad one.
type runtimeFields struct {
	IdentityTokenExpiresAfterSeconds *int64  `json:"identity_token_expires_after_seconds"`
	RefreshTokenExpiresAfterSeconds  *int64  `json:"refresh_token_expires_after_seconds"`
	RefreshIdentityTokenAfterSeconds *int64  `json:"refresh_identity_token_after_seconds"`
	SharingTokenExpirySeconds        *int64  `json:"sharing_token_expiry_seconds"`
	MaxBidstreamLifetimeSeconds      *int64  `json:"max_bidstream_lifetime_seconds"`
	MaxSharingLifetimeSeconds        *int64  `json:"max_sharing_lifetime_seconds"`
	IdentityEnvironment              *string `json:"identity_environment"`
}

// ParseRuntimeConfig parses the runtime-config document
// {"version": N, "runtime_config": {...}} and validates it.
func ParseRuntimeConfig(b []byte) (RuntimeConfig, error) {
	var doc struct {
		Version       *int64          `json:"version"`
		RuntimeConfig json.RawMessage `json:"runtime_config"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: %w", err)
	}
	if doc.Version == nil {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: version: missing")
	}
	if len(doc.RuntimeConfig) == 0 || string(doc.RuntimeConfig) == "null" {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: runtime_config: missing")
	}
	var f runtimeFields
	if err := json.Unmarshal(doc.RuntimeConfig, &f); err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: %w", err)
	}
	rc, err := f.build()
	if err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: %w", err)
	}
	rc.Version = *doc.Version
	return rc, nil
}

// Settings reads operator config values by key; config.Config implements
// it. IsSet tells a key the config set from one left at its default.
type Settings interface {
	Bool(key string) bool
	Int(key string) int64
	Text(key string) string
	IsSet(key string) bool
}

// RuntimeConfigFromSettings builds the runtime config from the top-level
// operator config keys (RuntimeConfigKeys), as the reference does when
// enable_remote_config is false, with the same validation as a runtime
// config from Core. Its version is 0: it never changes while running.
func RuntimeConfigFromSettings(cfg Settings) (RuntimeConfig, error) {
	// A config key set to null reads as set to 0 or "": the optional
	// maxima then take their defaults and the environment is missing, as a
	// null reads in the reference.
	num := func(key string, zeroIsUnset bool) *int64 {
		v := cfg.Int(key)
		if !cfg.IsSet(key) || (zeroIsUnset && v == 0) {
			return nil
		}
		return &v
	}
	var f runtimeFields
	f.IdentityTokenExpiresAfterSeconds = num("identity_token_expires_after_seconds", false)
	f.RefreshTokenExpiresAfterSeconds = num("refresh_token_expires_after_seconds", false)
	f.RefreshIdentityTokenAfterSeconds = num("refresh_identity_token_after_seconds", false)
	f.SharingTokenExpirySeconds = num("sharing_token_expiry_seconds", false)
	f.MaxBidstreamLifetimeSeconds = num("max_bidstream_lifetime_seconds", true)
	f.MaxSharingLifetimeSeconds = num("max_sharing_lifetime_seconds", true)
	if env := cfg.Text("identity_environment"); env != "" {
		f.IdentityEnvironment = &env
	}
	return f.build()
}

// build applies the reference's checks (RuntimeConfig.java), in its order
// and with its messages, plus ours: durations must be positive and the
// environment one the reference knows. The optional maxima default to the
// identity and sharing lifetimes.
func (f runtimeFields) build() (RuntimeConfig, error) {
	for _, req := range []struct {
		key string
		v   *int64
	}{
		{"identity_token_expires_after_seconds", f.IdentityTokenExpiresAfterSeconds},
		{"refresh_token_expires_after_seconds", f.RefreshTokenExpiresAfterSeconds},
		{"refresh_identity_token_after_seconds", f.RefreshIdentityTokenAfterSeconds},
		{"sharing_token_expiry_seconds", f.SharingTokenExpirySeconds},
	} {
		if req.v == nil {
			return RuntimeConfig{}, fmt.Errorf("%s is required", req.key)
		}
		if *req.v <= 0 {
			return RuntimeConfig{}, fmt.Errorf("%s: must be positive (got %d)", req.key, *req.v)
		}
	}
	// Ours: an upper bound, so now_ms + seconds*1000 (the issuer's expiry
	// arithmetic) and the key-sharing tolerance cannot overflow int64 into
	// tokens that are born expired.
	for _, v := range []struct {
		key string
		v   *int64
	}{
		{"identity_token_expires_after_seconds", f.IdentityTokenExpiresAfterSeconds},
		{"refresh_token_expires_after_seconds", f.RefreshTokenExpiresAfterSeconds},
		{"refresh_identity_token_after_seconds", f.RefreshIdentityTokenAfterSeconds},
		{"sharing_token_expiry_seconds", f.SharingTokenExpirySeconds},
		{"max_bidstream_lifetime_seconds", f.MaxBidstreamLifetimeSeconds},
		{"max_sharing_lifetime_seconds", f.MaxSharingLifetimeSeconds},
	} {
		if v.v != nil && *v.v > MaxLifetimeSeconds {
			return RuntimeConfig{}, fmt.Errorf("%s: must be at most %d (100 years) (got %d)", v.key, int64(MaxLifetimeSeconds), *v.v)
		}
	}
	rc := RuntimeConfig{
		IdentityTokenExpiresAfterSeconds: *f.IdentityTokenExpiresAfterSeconds,
		RefreshTokenExpiresAfterSeconds:  *f.RefreshTokenExpiresAfterSeconds,
		RefreshIdentityTokenAfterSeconds: *f.RefreshIdentityTokenAfterSeconds,
		SharingTokenExpirySeconds:        *f.SharingTokenExpirySeconds,
		MaxBidstreamLifetimeSeconds:      *f.IdentityTokenExpiresAfterSeconds,
		MaxSharingLifetimeSeconds:        *f.SharingTokenExpirySeconds,
	}
	if rc.RefreshTokenExpiresAfterSeconds < rc.IdentityTokenExpiresAfterSeconds {
		return RuntimeConfig{}, fmt.Errorf("refresh_token_expires_after_seconds (%d) must be >= identity_token_expires_after_seconds (%d)", rc.RefreshTokenExpiresAfterSeconds, rc.IdentityTokenExpiresAfterSeconds)
	}
	if rc.IdentityTokenExpiresAfterSeconds < rc.RefreshIdentityTokenAfterSeconds {
		return RuntimeConfig{}, fmt.Errorf("identity_token_expires_after_seconds (%d) must be >= refresh_identity_token_after_seconds (%d)", rc.IdentityTokenExpiresAfterSeconds, rc.RefreshIdentityTokenAfterSeconds)
	}
	if f.MaxBidstreamLifetimeSeconds != nil {
		if *f.MaxBidstreamLifetimeSeconds < rc.IdentityTokenExpiresAfterSeconds {
			return RuntimeConfig{}, fmt.Errorf("max_bidstream_lifetime_seconds (%d) must be >= identity_token_expires_after_seconds (%d)", *f.MaxBidstreamLifetimeSeconds, rc.IdentityTokenExpiresAfterSeconds)
		}
		rc.MaxBidstreamLifetimeSeconds = *f.MaxBidstreamLifetimeSeconds
	}
	if f.MaxSharingLifetimeSeconds != nil {
		if *f.MaxSharingLifetimeSeconds <= 0 {
			return RuntimeConfig{}, fmt.Errorf("max_sharing_lifetime_seconds: must be positive (got %d)", *f.MaxSharingLifetimeSeconds)
		}
		rc.MaxSharingLifetimeSeconds = *f.MaxSharingLifetimeSeconds
	}
	if f.IdentityEnvironment == nil {
		return RuntimeConfig{}, fmt.Errorf("identity_environment is required")
	}
	// The reference reads the environment in any case.
	switch env := strings.ToLower(*f.IdentityEnvironment); env {
	case "test", "integ", "prod":
		rc.IdentityEnvironment = env
	default:
		return RuntimeConfig{}, fmt.Errorf("identity_environment: must be test, integ or prod (got %q)", *f.IdentityEnvironment)
	}
	return rc, nil
}
