package store

import (
	"encoding/json"
	"fmt"
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
	var rc RuntimeConfig
	if err := json.Unmarshal(doc.RuntimeConfig, &rc); err != nil {
		return RuntimeConfig{}, fmt.Errorf("runtime_config: %w", err)
	}
	rc.Version = *doc.Version
	if err := rc.Validate(); err != nil {
		return RuntimeConfig{}, err
	}
	return rc, nil
}

// Validate applies the reference's load-time checks and fills the optional
// maxima with their defaults.
func (rc *RuntimeConfig) Validate() error {
	switch {
	case rc.IdentityTokenExpiresAfterSeconds <= 0:
		return fmt.Errorf("runtime_config: identity_token_expires_after_seconds: must be positive (got %d)", rc.IdentityTokenExpiresAfterSeconds)
	case rc.RefreshTokenExpiresAfterSeconds <= 0:
		return fmt.Errorf("runtime_config: refresh_token_expires_after_seconds: must be positive (got %d)", rc.RefreshTokenExpiresAfterSeconds)
	case rc.RefreshIdentityTokenAfterSeconds <= 0:
		return fmt.Errorf("runtime_config: refresh_identity_token_after_seconds: must be positive (got %d)", rc.RefreshIdentityTokenAfterSeconds)
	case rc.SharingTokenExpirySeconds <= 0:
		return fmt.Errorf("runtime_config: sharing_token_expiry_seconds: must be positive (got %d)", rc.SharingTokenExpirySeconds)
	case rc.RefreshTokenExpiresAfterSeconds < rc.IdentityTokenExpiresAfterSeconds:
		return fmt.Errorf("runtime_config: refresh_token_expires_after_seconds (%d) must be >= identity_token_expires_after_seconds (%d)", rc.RefreshTokenExpiresAfterSeconds, rc.IdentityTokenExpiresAfterSeconds)
	case rc.IdentityTokenExpiresAfterSeconds < rc.RefreshIdentityTokenAfterSeconds:
		return fmt.Errorf("runtime_config: identity_token_expires_after_seconds (%d) must be >= refresh_identity_token_after_seconds (%d)", rc.IdentityTokenExpiresAfterSeconds, rc.RefreshIdentityTokenAfterSeconds)
	}
	switch rc.IdentityEnvironment {
	case "test", "integ", "prod":
	default:
		return fmt.Errorf("runtime_config: identity_environment: must be test, integ or prod (got %q)", rc.IdentityEnvironment)
	}
	if rc.MaxBidstreamLifetimeSeconds == 0 {
		rc.MaxBidstreamLifetimeSeconds = rc.IdentityTokenExpiresAfterSeconds
	}
	if rc.MaxBidstreamLifetimeSeconds < rc.IdentityTokenExpiresAfterSeconds {
		return fmt.Errorf("runtime_config: max_bidstream_lifetime_seconds (%d) must be >= identity_token_expires_after_seconds (%d)", rc.MaxBidstreamLifetimeSeconds, rc.IdentityTokenExpiresAfterSeconds)
	}
	if rc.MaxSharingLifetimeSeconds == 0 {
		rc.MaxSharingLifetimeSeconds = rc.SharingTokenExpirySeconds
	}
	return nil
}
