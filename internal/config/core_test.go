package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// withStores returns the default config with the store parts of
// store.Parts, as cli sets them.
func withStores() config.Config {
	c := config.Default()
	for _, p := range store.Parts() {
		c.Stores = append(c.Stores, config.StorePart{Name: p.Name, PathKey: p.PathKey, Switch: p.Switch, CorePath: p.CorePath, PublicOnly: p.PublicOnly})
	}
	return c
}

func TestDeriveCorePaths(t *testing.T) {
	c := withStores()
	c.ClientSideTokenGenerate = false
	c.SaltsMetadataPath = "https://salts.example/custom"
	c.DeriveCorePaths("https://core.example/", "https://optout.example")
	c.CoreAPIToken = "k"
	for _, tc := range []struct{ got, want string }{
		{c.CoreAttestURL, "https://core.example/attest"},
		{c.ClientsMetadataPath, "https://core.example/clients/refresh"},
		{c.KeysetsMetadataPath, "https://core.example/key/keyset/refresh"},
		{c.KeysetKeysMetadataPath, "https://core.example/key/keyset-keys/refresh"},
		{c.SaltsMetadataPath, "https://salts.example/custom"}, // set paths are kept
		{c.SitesMetadataPath, "https://core.example/sites/refresh"},
		{c.ClientSideKeypairsMetadataPath, "https://core.example/client_side_keypairs/refresh"},
		{c.ServicesMetadataPath, "https://core.example/services/refresh"},
		{c.ServiceLinksMetadataPath, "https://core.example/service_links/refresh"},
		{c.CloudEncryptionKeysMetadataPath, "https://core.example/cloud_encryption_keys/retrieve"},
		{c.RuntimeConfigMetadataPath, "https://core.example/operator/config"},
		{c.OptoutMetadataPath, "https://optout.example/optout/refresh"},
		{c.OptoutAPIURI, "https://optout.example/optout/replicate"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// Without an Opt-Out URL both resolve against Core's optout_url.
	d := withStores()
	d.DeriveCorePaths("http://localhost:8088", "")
	if d.OptoutMetadataPath != "/optout/refresh" || d.OptoutAPIURI != "/optout/replicate" {
		t.Errorf("relative opt-out paths = %q %q", d.OptoutMetadataPath, d.OptoutAPIURI)
	}
}

func TestValidateCoreMode(t *testing.T) {
	base := func() config.Config {
		c := withStores()
		c.ClientSideTokenGenerate = false
		c.DeriveCorePaths("https://core.example", "")
		c.CoreAPIToken = "k"
		return c
	}
	for _, tc := range []struct {
		name  string
		edit  func(*config.Config)
		field string
	}{
		{"no key", func(c *config.Config) { c.CoreAPIToken = "" }, "core_api_token"},
		{"relative path", func(c *config.Config) { c.ClientsMetadataPath = "clients/metadata.json" }, "clients_metadata_path"},
		{"cstg on a private operator", func(c *config.Config) { c.ClientSideTokenGenerate = true }, "client_side_token_generate"},
		{"service links on a private operator", func(c *config.Config) { c.ValidateServiceLinks = true }, "validate_service_links"},
		{"relative runtime config path", func(c *config.Config) { c.RuntimeConfigMetadataPath = "rc.json" }, "runtime_config_metadata_path"},
		{"no store parts", func(c *config.Config) { c.Stores = nil }, "stores"},
		{"no instance prefix", func(c *config.Config) { c.UIDInstanceIDPrefix = "" }, "uid_instance_id_prefix"},
	} {
		c := base()
		tc.edit(&c)
		var ve *config.ValidationError
		if err := c.Validate(); !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: Validate() = %v; want a %s error", tc.name, err, tc.field)
		}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), `"k"`) {
			t.Errorf("%s: error echoes the operator key", tc.name)
		}
	}
}

func TestOptoutKeys(t *testing.T) {
	c := config.Default()
	if _, err := c.Parse(strings.NewReader(`{"optout_s3_path_compat":true,"optout_synthetic_logs_enabled":true,"optout_synthetic_logs_count":3,"optout_delta_rotate_interval":60}`)); err != nil {
		t.Fatal(err)
	}
	if !c.OptoutS3PathCompat || !c.OptoutSyntheticLogsEnabled || c.OptoutSyntheticLogsCount != 3 || c.OptoutDeltaRotateInterval != 60 {
		t.Fatalf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"optout_delta_rotate_interval", "optout_delta_backtrack_in_days", "optout_partition_interval", "optout_max_partitions"} {
		c := config.Default()
		if _, err := c.Parse(strings.NewReader(`{"` + key + `":0}`)); err != nil {
			t.Fatal(err)
		}
		var ve *config.ValidationError
		if err := c.Validate(); !errors.As(err, &ve) || ve.Field != key {
			t.Errorf("%s=0: Validate = %v; want a ValidationError naming it", key, err)
		}
	}
}

// TestStorePrivateOperatorMessage pins the text a private operator gets
// for a part Core refuses it: the parts sharing the switch, by name.
func TestStorePrivateOperatorMessage(t *testing.T) {
	c := withStores()
	c.DeriveCorePaths("https://core.example", "")
	c.CoreAPIToken = "k"
	c.ClientSideTokenGenerate = true
	const want = `client_side_token_generate: must be false for a private operator in Core mode (Core refuses sites and keypairs to private operators) (got "true")`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v; want %s", err, want)
	}
	c.OperatorType = "public"
	if err := c.Validate(); err != nil {
		t.Errorf("public operator with CSTG: Validate() = %v; want nil", err)
	}
}

// TestKeyAccessors checks the key-driven accessors the store table uses.
func TestKeyAccessors(t *testing.T) {
	c := config.Default()
	c.SitesMetadataPath = "s"
	for _, tc := range []struct {
		key  string
		text string
		num  int64
		on   bool
	}{
		{"sites_metadata_path", "s", 0, false},
		{"auth_refresh_ms", "", 10000, false},
		{"enable_remote_config", "", 0, true},
		{"validate_service_links", "", 0, false},
		{"no_such_key", "", 0, false},
	} {
		if got := c.Text(tc.key); got != tc.text {
			t.Errorf("Text(%q) = %q; want %q", tc.key, got, tc.text)
		}
		if got := c.Int(tc.key); got != tc.num {
			t.Errorf("Int(%q) = %d; want %d", tc.key, got, tc.num)
		}
		if got := c.Bool(tc.key); got != tc.on {
			t.Errorf("Bool(%q) = %v; want %v", tc.key, got, tc.on)
		}
	}
}
