package azure_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/azure"
	"github.com/uid2-private-operator/uid2-operator/internal/egress"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func guideEnv(extra ...string) map[string]string {
	m := map[string]string{
		"VAULT_NAME":               "uid2vault",
		"OPERATOR_KEY_SECRET_NAME": "operator-key",
		"DEPLOYMENT_ENVIRONMENT":   "integ",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestDetect(t *testing.T) {
	if !azure.Detect(lookup(guideEnv())) {
		t.Error("Detect(guide env) = false; want true")
	}
	env := guideEnv()
	delete(env, "VAULT_NAME")
	if azure.Detect(lookup(env)) {
		t.Error("Detect(without VAULT_NAME) = true; want false")
	}
}

func TestLoad(t *testing.T) {
	s, err := azure.Load(lookup(guideEnv("IMAGE_VERSION", "1.2.3")))
	if err != nil {
		t.Fatal(err)
	}
	want := azure.Settings{
		VaultName: "uid2vault", SecretName: "operator-key", Environment: "integ",
		VaultURL:    "https://uid2vault.vault.azure.net",
		CoreBaseURL: "https://core-integ.uidapi.com", OptoutBaseURL: "https://optout-integ.uidapi.com",
		ImageVersion: "1.2.3", SKRURL: "http://localhost:9000", MAABaseURL: "https://sharedeus.eus.attest.azure.net",
	}
	if s.VaultURL != want.VaultURL || s.CoreBaseURL != want.CoreBaseURL || s.OptoutBaseURL != want.OptoutBaseURL ||
		s.SKRURL != want.SKRURL || s.MAABaseURL != want.MAABaseURL || s.ImageVersion != want.ImageVersion || s.DebugMode || s.SkipValidations {
		t.Errorf("Load = %+v; want %+v", *s, want)
	}
}

func TestLoadOverrides(t *testing.T) {
	s, err := azure.Load(lookup(guideEnv(
		"CORE_BASE_URL", "https://core-integ.example.com/", "OPTOUT_BASE_URL", "http://127.0.0.1:8081",
		"DEBUG_MODE", "TRUE", "VAULT_URL", "https://127.0.0.1:8443", "SKR_URL", "http://127.0.0.1:9001")))
	if err != nil {
		t.Fatal(err)
	}
	if s.CoreBaseURL != "https://core-integ.example.com" || s.OptoutBaseURL != "http://127.0.0.1:8081" ||
		!s.DebugMode || s.VaultURL != "https://127.0.0.1:8443" || !s.VaultURLOverridden || s.SKRURL != "http://127.0.0.1:9001" {
		t.Errorf("Load = %+v", *s)
	}
	// prod ignores the URL overrides.
	s, err = azure.Load(lookup(guideEnv("DEPLOYMENT_ENVIRONMENT", "prod", "CORE_BASE_URL", "https://core-integ.example.com")))
	if err != nil {
		t.Fatal(err)
	}
	if s.CoreBaseURL != "https://core-prod.uidapi.com" || len(s.Ignored) != 1 || s.Ignored[0] != "CORE_BASE_URL" {
		t.Errorf("Load(prod) core = %q, ignored %v; want the prod URL and CORE_BASE_URL ignored", s.CoreBaseURL, s.Ignored)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		code    azure.Code
		contain string
	}{
		{"nothing", map[string]string{}, azure.E03, "VAULT_NAME, OPERATOR_KEY_SECRET_NAME, DEPLOYMENT_ENVIRONMENT not set"},
		{"empty secret name", guideEnv("OPERATOR_KEY_SECRET_NAME", ""), azure.E03, "OPERATOR_KEY_SECRET_NAME not set"},
		{"bad environment", guideEnv("DEPLOYMENT_ENVIRONMENT", "Prod"), azure.E04, `DEPLOYMENT_ENVIRONMENT is "Prod"; it must be "integ" or "prod"`},
		{"debug in prod", guideEnv("DEPLOYMENT_ENVIRONMENT", "prod", "DEBUG_MODE", "true"), azure.E04, "DEBUG_MODE=true is allowed only with DEPLOYMENT_ENVIRONMENT=integ"},
		{"debug in prod skip validations", guideEnv("DEPLOYMENT_ENVIRONMENT", "prod", "DEBUG_MODE", "true", "SKIP_VALIDATIONS", "true"), azure.E04, "DEBUG_MODE"},
		{"vault url as name", guideEnv("VAULT_NAME", "https://uid2vault.vault.azure.net"), azure.E04, "not a Key Vault name"},
		{"core url not integ", guideEnv("CORE_BASE_URL", "https://core-prod.uidapi.com"), azure.E04, `must contain "integ"`},
		{"core url http", guideEnv("CORE_BASE_URL", "http://core-integ.example.com"), azure.E04, "must use https"},
		{"optout url garbage", guideEnv("OPTOUT_BASE_URL", "core-integ"), azure.E04, "OPTOUT_BASE_URL"},
		{"vault url http", guideEnv("VAULT_URL", "http://127.0.0.1:1"), azure.E04, "VAULT_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := azure.Load(lookup(tt.env))
			wantCode(t, err, tt.code, tt.contain)
		})
	}
	// SKIP_VALIDATIONS skips the URL rules.
	if _, err := azure.Load(lookup(guideEnv("CORE_BASE_URL", "http://core:8088", "SKIP_VALIDATIONS", "true"))); err != nil {
		t.Errorf("Load(SKIP_VALIDATIONS) = %v; want nil", err)
	}
}

func TestStartupErrorFormat(t *testing.T) {
	err := &azure.StartupError{Code: azure.E05, Msg: "the key\nis wrong"}
	const want = "E05: OperatorKeyValidationError: the key is wrong (see https://unifiedid.com/docs/guides/operator-guide-aks-enclave)"
	if err.Error() != want {
		t.Errorf("Error() = %q; want %q", err.Error(), want)
	}
	if err.ExitCode() != 15 {
		t.Errorf("ExitCode() = %d; want 15", err.ExitCode())
	}
}

func TestCheckOperatorKey(t *testing.T) {
	tests := []struct {
		env, debug, key string
		ok              bool
	}{
		{"integ", "", "UID2-O-I-123-abcdef.xyz", true},
		{"integ", "", "UID2-O-P-123-abcdef.xyz", false},
		{"integ", "", "UID2-O-L-123-abcdef.xyz", false},
		{"prod", "", "UID2-O-P-123-abcdef.xyz", true},
		{"prod", "", "EUID-O-I-123-abcdef.xyz", false},
		{"integ", "true", "UID2-O-I-1-x", true},
		{"prod", "", "trusted-partner-key", true}, // other forms are not checked
	}
	for _, tt := range tests {
		s, err := azure.Load(lookup(guideEnv("DEPLOYMENT_ENVIRONMENT", tt.env, "DEBUG_MODE", tt.debug)))
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckOperatorKey(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("%s: CheckOperatorKey(%q) = %v; want ok=%v", tt.env, tt.key, err, tt.ok)
		}
		if err != nil {
			wantCode(t, err, azure.E05, "key (letter ")
			if strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q contains the key", err)
			}
		}
	}
}

func TestCheckCoreReachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler()) // any status counts
	defer srv.Close()
	s, err := azure.Load(lookup(guideEnv("CORE_BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckCoreReachable(context.Background(), nil); err != nil {
		t.Errorf("CheckCoreReachable(up) = %v", err)
	}
	srv.Close()
	err = s.CheckCoreReachable(context.Background(), nil)
	wantCode(t, err, azure.E06, "cannot reach UID2 Core at "+srv.URL+" (resolved to 127.0.0.1)")
	// Issue 9 item 5: E06 names every host to allow, failover included.
	wantCode(t, err, azure.E06, "allow outbound HTTPS (port 443) from the pod's subnet to 127.0.0.1, "+egress.Names("integ"))
	for _, h := range []string{"core-integ.uidapi.com", "optout-integ.uidapi.com", "uid2-core-integ-store.s3.us-east-2.amazonaws.com", "uid2-optout-integ-store.s3.us-east-2.amazonaws.com"} {
		wantCode(t, err, azure.E06, h)
	}
}

func TestCheckCoreReachableProdNamesFailover(t *testing.T) {
	env := guideEnv("DEPLOYMENT_ENVIRONMENT", "prod")
	s, err := azure.Load(lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	// Point Core at a closed port: prod forbids overriding CORE_BASE_URL,
	// so swap it after Load (the test stands in for a blocked firewall).
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	s.CoreBaseURL = srv.URL
	err = s.CheckCoreReachable(context.Background(), nil)
	for _, h := range []string{"core-prod.uidapi.com", "optout-prod.uidapi.com", "uid2-core-prod-store-replica.s3.us-west-2.amazonaws.com", "uid2-optout-prod-store-replica.s3.us-west-2.amazonaws.com"} {
		wantCode(t, err, azure.E06, h)
	}
}

func TestInstanceIDPrefix(t *testing.T) {
	got, err := azure.InstanceIDPrefix("5.70.250", bytes.NewReader([]byte{0xab, 0xcd, 0xef}))
	if err != nil || got != "azr-abcdef-5.70.250" {
		t.Errorf("InstanceIDPrefix = %q, %v; want azr-abcdef-5.70.250", got, err)
	}
}

func TestLoadEndpoints(t *testing.T) {
	env := map[string]string{}
	e, err := azure.LoadEndpoints("uid2vault", lookup(env))
	if err != nil || e.VaultURL != "https://uid2vault.vault.azure.net" || e.VaultURLOverridden || e.SKRURL != azure.DefaultSKRURL {
		t.Fatalf("LoadEndpoints = %+v, %v", e, err)
	}
	env["VAULT_URL"], env["SKR_URL"] = "https://127.0.0.1:8443/", "http://127.0.0.1:9001"
	if e, err = azure.LoadEndpoints("uid2vault", lookup(env)); err != nil || e.VaultURL != "https://127.0.0.1:8443" || !e.VaultURLOverridden || e.SKRURL != "http://127.0.0.1:9001" {
		t.Fatalf("with overrides: %+v, %v", e, err)
	}
	for name, want := range map[string]string{
		"https://uid2vault.vault.azure.net": "azure_vault_name: \"https://uid2vault.vault.azure.net\" is not a Key Vault name",
		"a--b":                              "azure_vault_name: \"a--b\" is not a Key Vault name",
	} {
		if _, err := azure.LoadEndpoints(name, lookup(env)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("LoadEndpoints(%q) = %v; want %q", name, err, want)
		}
	}
}
