package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
)

func lookupFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestApplyEnv(t *testing.T) {
	c := config.Default()
	set, err := c.ApplyEnv(lookupFrom(map[string]string{
		"enable_v2_encryption":           "FALSE", // Vert.x compares case-insensitively
		"identity_v3":                    "true",
		"optout_status_max_request_size": " 7 ",
		"allow_clock_skew_seconds":       "60",
		"core_attest_url":                "https://core.example/attest",
		"azure_vault_name":               "myvault",
		"uid_instance_id_prefix":         "12345", // a number is still text for a text key
		"ENABLE_PHONE_SUPPORT":           "false", // names are case-sensitive, like the reference's
		"PATH":                           "/bin",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"allow_clock_skew_seconds", "azure_vault_name", "core_attest_url", "enable_v2_encryption",
		"identity_v3", "optout_status_max_request_size", "uid_instance_id_prefix"}
	if strings.Join(set, ",") != strings.Join(want, ",") {
		t.Errorf("set = %v; want %v", set, want)
	}
	if c.EnableV2Encryption || !c.IdentityV3 || c.OptoutStatusMaxRequestSize != 7 || c.AllowClockSkewSeconds != 60 ||
		c.CoreAttestURL != "https://core.example/attest" || c.AzureVaultName != "myvault" || c.UIDInstanceIDPrefix != "12345" ||
		!c.EnablePhoneSupport {
		t.Errorf("config after ApplyEnv = %+v", c)
	}
	if !c.IsSet("identity_v3") || c.IsSet("enable_phone_support") {
		t.Error("IsSet does not match the variables that were applied")
	}
}

func TestApplyEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"enable_v2_encryption", "yes", `environment variable enable_v2_encryption: must be true or false (got "yes")`},
		{"enable_v2_encryption", "", `environment variable enable_v2_encryption: must be true or false`},
		{"optout_status_max_request_size", "1.5", `environment variable optout_status_max_request_size: must be an integer (got "1.5")`},
		{"optout_status_max_request_size", "99999999999999999999", `environment variable optout_status_max_request_size: must be an integer`},
		{"salt_refresh_ms", "true", `environment variable salt_refresh_ms: must be an integer (got "true")`},
	} {
		c := config.Default()
		_, err := c.ApplyEnv(lookupFrom(map[string]string{tc.key: tc.value}))
		var ve *config.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ApplyEnv(%s=%q) = %v; want %q", tc.key, tc.value, err, tc.want)
		}
	}
}

func TestFileOverEnv(t *testing.T) {
	// The reference's order: env vars override the defaults, the override
	// config file (-Dvertx-config-path) overrides env vars.
	c := config.Default()
	if _, err := c.ApplyEnv(lookupFrom(map[string]string{"tcf_vendor_id": "42", "identity_scope": "euid"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Parse(strings.NewReader(`{"tcf_vendor_id": 7}`)); err != nil {
		t.Fatal(err)
	}
	if c.TCFVendorID != 7 || c.IdentityScope != "euid" {
		t.Errorf("tcf_vendor_id=%d identity_scope=%s; want 7 (file) and euid (env)", c.TCFVendorID, c.IdentityScope)
	}
}

func TestValidateEnclavePlatform(t *testing.T) {
	for _, tc := range []struct {
		platform, maa, want string
	}{
		{"", "", ""},
		{"azure-cc", "https://maa.example", ""},
		{"aws-nitro", "", `enclave_platform: is not supported by this operator`},
		{"azure-aks", "", `enclave_platform: must be empty (trusted) or azure-cc (got "azure-aks")`},
		{"azure-cc", "http://maa.example", `maa_server_base_url: must be an https URL`},
	} {
		c := config.Default()
		c.EnclavePlatform, c.MaaServerBaseURL = tc.platform, tc.maa
		err := c.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("Validate(enclave_platform=%q, maa=%q) = %v; want %q", tc.platform, tc.maa, err, tc.want)
		}
	}
}
