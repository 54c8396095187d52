package cli

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// TestStoreTableConfigKeys: every config key the store table names is a
// key of the operator config of the right type.
func TestStoreTableConfigKeys(t *testing.T) {
	for _, p := range store.Parts() {
		doc := `{"` + p.PathKey + `":"x","` + p.RefreshKey + `":7`
		if p.Switch != "" {
			doc += `,"` + p.Switch + `":true`
		}
		cfg := config.Default()
		unknown, err := cfg.Parse(strings.NewReader(doc + "}"))
		if err != nil || len(unknown) > 0 {
			t.Errorf("%s: Parse(%s}) = unknown %v, %v", p.Part, doc, unknown, err)
			continue
		}
		if cfg.Text(p.PathKey) != "x" || cfg.Int(p.RefreshKey) != 7 || (p.Switch != "" && !cfg.Bool(p.Switch)) {
			t.Errorf("%s: keys did not reach the config: %q %d", p.Part, cfg.Text(p.PathKey), cfg.Int(p.RefreshKey))
		}
		for _, k := range p.BootstrapKeys {
			cfg := config.Default()
			if unknown, err := cfg.Parse(strings.NewReader(`{"` + k + `":null}`)); err != nil || len(unknown) > 0 || !cfg.IsSet(k) {
				t.Errorf("%s: bootstrap key %s is not a config key (unknown %v, %v)", p.Part, k, unknown, err)
			}
		}
	}
}

// TestStorePathsPerMode pins which parts each mode loads for a given
// config: the rules the store table encodes.
func TestStorePathsPerMode(t *testing.T) {
	cfg := config.Default()
	cfg.Stores = configStores()
	cfg.ClientSideTokenGenerate = false
	cfg.EnableRemoteConfig = false
	cfg.ValidateServiceLinks = true
	cfg.KeysetsMetadataPath = "my/keysets.json"
	local := localPaths(cfg)
	want := store.Paths{store.PartClients: "clients/metadata.json", store.PartKeysets: "my/keysets.json",
		store.PartKeys: "keyset_keys/metadata.json", store.PartSalts: "salts/metadata.json"}
	if !maps.Equal(local, want) {
		t.Errorf("localPaths = %v; want %v (no runtime config: enable_remote_config is false)", local, want)
	}
	cfg.EnableRemoteConfig = true
	if got := localPaths(cfg)[store.PartRuntime]; got != "runtime_config/metadata.json" {
		t.Errorf("localPaths with enable_remote_config = runtime %q; want the dataset's", got)
	}
	cfg.EnableRemoteConfig = false

	cfg.KeysetsMetadataPath = ""
	cfg.DeriveCorePaths("https://core.example", "")
	cfg.EnableRemoteConfig = true
	remote := coreStorePaths(cfg)
	want = store.Paths{}
	for _, p := range []store.Part{store.PartClients, store.PartKeysets, store.PartKeys, store.PartSalts, store.PartRuntime,
		store.PartServices, store.PartServiceLinks} {
		spec, _ := store.Spec(p)
		want[p] = "https://core.example" + spec.CorePath
	}
	if !maps.Equal(remote, want) {
		t.Errorf("coreStorePaths = %v; want %v", remote, want)
	}
	cfg.AuthRefreshMs = 250
	iv := refreshIntervals(cfg)
	if iv[store.PartClients] != 250*time.Millisecond || iv[store.PartSalts] != 10*time.Second || iv[core.PartCloudKeys] != 10*time.Second {
		t.Errorf("refreshIntervals = %v", iv)
	}
}
