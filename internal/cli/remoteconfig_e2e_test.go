package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// Token lifetimes unlike the dataset's (3600/86400/900), so a generate that
// used Core's runtime config instead would show.
const (
	bootIdentity   = 7200
	bootRefresh    = 172800
	bootRefreshMin = 1800
)

// writeBootstrapConfig writes an operator config with enable_remote_config
// off and the runtime config keys at its top level.
func writeBootstrapConfig(t *testing.T, extra map[string]any) string {
	t.Helper()
	cfg := map[string]any{
		"enable_remote_config":                 false,
		"identity_token_expires_after_seconds": bootIdentity,
		"refresh_token_expires_after_seconds":  bootRefresh,
		"refresh_identity_token_after_seconds": bootRefreshMin,
		"sharing_token_expiry_seconds":         604800,
		"identity_environment":                 "test",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// generateExpiries calls /v2/token/generate on base with a demo generator
// and checks that the expiry times follow the bootstrap lifetimes.
func generateExpiries(t *testing.T, base string) {
	t.Helper()
	demo, _ := localdata.ReadCredentials()
	before := time.Now().UnixMilli()
	code, stdout, stderr := run(t, "", "request", "--base-url", base, "--api-key", demo.Generator.APIKey,
		"--secret", demo.Generator.Secret, "/v2/token/generate", `{"email":"user@example.com"}`)
	after := time.Now().UnixMilli()
	var resp struct {
		Status string `json:"status"`
		Body   struct {
			IdentityExpires int64 `json:"identity_expires"`
			RefreshExpires  int64 `json:"refresh_expires"`
			RefreshFrom     int64 `json:"refresh_from"`
		} `json:"body"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &resp) != nil || resp.Status != "success" {
		t.Fatalf("generate: exit %d: %s %s", code, stdout, stderr)
	}
	b := resp.Body
	// The three times share one "now": their differences are exact.
	if d := b.RefreshExpires - b.IdentityExpires; d != (bootRefresh-bootIdentity)*1000 {
		t.Errorf("refresh_expires - identity_expires = %d ms; want %d", d, (bootRefresh-bootIdentity)*1000)
	}
	if d := b.IdentityExpires - b.RefreshFrom; d != (bootIdentity-bootRefreshMin)*1000 {
		t.Errorf("identity_expires - refresh_from = %d ms; want %d", d, (bootIdentity-bootRefreshMin)*1000)
	}
	// now lies between the clock readings around the request (whole seconds
	// at worst: allow the second the token time may be cut to).
	if now := b.IdentityExpires - bootIdentity*1000; now < before-1000 || now > after {
		t.Errorf("identity_expires = %d: issued at %d, outside [%d, %d]", b.IdentityExpires, now, before, after)
	}
}

// TestCoreModeWithoutRemoteConfig: with enable_remote_config=false the
// operator never asks the stand-in Core for /operator/config and issues
// tokens with the lifetimes of its own config.
func TestCoreModeWithoutRemoteConfig(t *testing.T) {
	fsys, _ := localdata.Open(time.Now())
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	s, err := standin.New(standin.Options{Dataset: fsys, Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	asked := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		s.Handler().ServeHTTP(w, r)
	}))
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return asked[path]
	}
	defer srv.Close()

	addr := freeAddr(t)
	stop, _ := background(t, nil, "serve", "--config", writeBootstrapConfig(t, nil), "--core-url", srv.URL,
		"--operator-key", key, "--http-addr", addr, "--metrics-addr", "", "--drain-delay", "100ms")
	checkHealthy(t, "http://"+addr)
	generateExpiries(t, "http://"+addr)
	if code, errs := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	if count("/operator/config") != 0 || count("/attest") == 0 || count("/salt/refresh") == 0 {
		t.Errorf("requests to the stand-in Core: /operator/config %d, /attest %d, /salt/refresh %d; want no /operator/config",
			count("/operator/config"), count("/attest"), count("/salt/refresh"))
	}

	// A missing key fails start-up at once, naming it, before attesting.
	attests := count("/attest")
	p := writeBootstrapConfig(t, map[string]any{"identity_environment": nil})
	code, _, errs := run(t, "", "serve", "--config", p, "--core-url", srv.URL, "--operator-key", key,
		"--http-addr", freeAddr(t), "--metrics-addr", "")
	if code != 1 || !strings.Contains(errs, "runtime config from the operator config (enable_remote_config is false): identity_environment is required") {
		t.Errorf("without identity_environment: exit %d: %s", code, errs)
	}
	if count("/attest") != attests {
		t.Error("attested before checking the runtime config keys")
	}
}

// TestLocalModeWithoutRemoteConfig: local mode takes the runtime config
// from the config keys too, and checks them the same way.
func TestLocalModeWithoutRemoteConfig(t *testing.T) {
	addr := freeAddr(t)
	stop, _ := background(t, nil, "serve", "--config", writeBootstrapConfig(t, nil), "--http-addr", addr,
		"--metrics-addr", "", "--drain-delay", "100ms")
	checkHealthy(t, "http://"+addr)
	generateExpiries(t, "http://"+addr)
	if code, errs := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}

	p := writeBootstrapConfig(t, map[string]any{"refresh_identity_token_after_seconds": bootIdentity + 1})
	code, _, errs := run(t, "", "serve", "--config", p, "--http-addr", freeAddr(t), "--metrics-addr", "")
	if code != 1 || !strings.Contains(errs, "identity_token_expires_after_seconds (7200) must be >= refresh_identity_token_after_seconds (7201)") {
		t.Errorf("refresh-from past identity expiry: exit %d: %s", code, errs)
	}
}
