package cli

import (
	"log/slog"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// The store parts come from one table, store.Parts; the functions here map
// it onto the configuration for each mode, so that no part is named below.

// configStores is what config needs of the store parts to derive and
// validate their Core paths.
func configStores() []config.StorePart {
	var out []config.StorePart
	for _, p := range store.Parts() {
		out = append(out, config.StorePart{Name: p.Name, PathKey: p.PathKey, Switch: p.Switch, CorePath: p.CorePath, PublicOnly: p.PublicOnly})
	}
	return out
}

// coreStorePaths returns the metadata URL of every part turned on in Core
// mode.
func coreStorePaths(cfg config.Config) store.Paths {
	paths := store.Paths{}
	for _, p := range store.Parts() {
		if p.Switch == "" || cfg.Bool(p.Switch) {
			paths[p.Part] = cfg.Text(p.PathKey)
		}
	}
	return paths
}

// refreshIntervals returns each part's refresh interval (the *_refresh_ms
// keys), the cloud encryption keys' included.
func refreshIntervals(cfg config.Config) map[store.Part]time.Duration {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	out := map[store.Part]time.Duration{core.PartCloudKeys: ms(cfg.CloudEncryptionKeysRefreshMs)}
	for _, p := range store.Parts() {
		out[p.Part] = ms(cfg.Int(p.RefreshKey))
	}
	return out
}

// localPaths returns the dataset path of every part local mode loads; a
// config key overrides the dataset layout's default.
func localPaths(cfg config.Config) store.Paths {
	paths := store.Paths{}
	for _, p := range store.Parts() {
		if p.CoreOnly || !(p.Switch == "" || cfg.Bool(p.Switch)) {
			continue
		}
		paths[p.Part] = p.Dataset
		if v := cfg.Text(p.PathKey); v != "" {
			paths[p.Part] = v
		}
	}
	return paths
}

// loadBootstrap publishes the parts built from config keys rather than
// loaded (the runtime config with enable_remote_config=false), before any
// store loads, so a bad key fails start-up at once, naming the key.
func loadBootstrap(cfg *config.Config, st *store.Store, log *slog.Logger) error {
	parts, err := st.LoadBootstrap(cfg)
	if err != nil {
		return err
	}
	if log != nil && len(parts) > 0 {
		rc := st.Load().Runtime
		log.Info("runtime config from the operator config (enable_remote_config is false)",
			"identity_token_expires_after_seconds", rc.IdentityTokenExpiresAfterSeconds,
			"refresh_token_expires_after_seconds", rc.RefreshTokenExpiresAfterSeconds,
			"identity_environment", rc.IdentityEnvironment)
	}
	return nil
}
