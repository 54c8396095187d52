package cli_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// serveLocalWithEnv runs `serve` in local mode with env set and returns a
// client for the demo "all" client.
func serveLocalWithEnv(t *testing.T, env map[string]string) *client.Client {
	t.Helper()
	addr := freeAddr(t)
	stop, _ := background(t, env, "serve", "--http-addr", addr, "--metrics-addr", "", "--print-credentials=false", "--drain-delay", "0")
	t.Cleanup(func() {
		if code, errs := stop(); code != 0 {
			t.Errorf("serve exit %d: %s", code, errs)
		}
	})
	checkHealthy(t, "http://"+addr)
	creds, _ := localdata.ReadCredentials()
	return &client.Client{BaseURL: "http://" + addr, APIKey: creds.All.APIKey, Secret: creds.All.Secret}
}

// An environment variable named like a config key changes what the key
// controls, one test per kind of value (issue 11): a switch, a number and a
// URL.
func TestEnvVarOverridesBool(t *testing.T) {
	ctx := context.Background()
	c := serveLocalWithEnv(t, map[string]string{"enable_v2_encryption": "false"})
	c.Plain = true
	out, err := c.Do(ctx, "/v2/token/generate", []byte(`{"email":"user@example.com"}`))
	if err != nil || !strings.Contains(string(out), `"status":"success"`) {
		t.Fatalf("plain-JSON generate with enable_v2_encryption=false: %v %s", err, out)
	}
}

func TestEnvVarOverridesInt(t *testing.T) {
	ctx := context.Background()
	c := serveLocalWithEnv(t, map[string]string{"optout_status_max_request_size": "1"})
	if _, err := c.Do(ctx, "/v2/optout/status", []byte(`{"advertising_ids":["a"]}`)); err != nil {
		t.Fatalf("one id: %v", err)
	}
	_, err := c.Do(ctx, "/v2/optout/status", []byte(`{"advertising_ids":["a","b"]}`))
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(string(se.Body), "Request payload is too large") {
		t.Fatalf("two ids with optout_status_max_request_size=1: %v; want 400 Request payload is too large", err)
	}
}

// TestEnvVarOverridesURL: core_attest_url from the environment replaces the
// one --core-url derives, so start-up attests there (and the stand-in's 401
// for an unknown key ends it at once instead of retrying a dead URL).
func TestEnvVarOverridesURL(t *testing.T) {
	fsys, _ := localdata.Open(time.Now())
	s, err := standin.New(standin.Options{Dataset: fsys, Operators: []standin.Operator{{Key: standin.NewOperatorKey(standin.DefaultSiteID), SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	var attests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/attest" {
			attests.Add(1)
		}
		s.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("core_attest_url", srv.URL+"/attest")
	code, _, errs := run(t, "", "serve", "--core-url", "http://127.0.0.1:1", "--operator-key", standin.NewOperatorKey(1),
		"--http-addr", freeAddr(t), "--metrics-addr", "", "--startup-timeout", "30s")
	if code != 1 || !strings.Contains(errs, "HTTP 401") || attests.Load() == 0 {
		t.Fatalf("exit %d, %d attest calls: %s", code, attests.Load(), errs)
	}
	if !strings.Contains(errs, `"keys":["core_attest_url"]`) {
		t.Errorf("the variables that set config keys are not logged by name: %s", errs)
	}
}

func TestEnvVarBadValue(t *testing.T) {
	t.Setenv("enable_v2_encryption", "no")
	code, _, errs := run(t, "", "serve", "--http-addr", freeAddr(t), "--metrics-addr", "")
	if code != 1 || !strings.Contains(errs, `environment variable enable_v2_encryption: must be true or false (got "no")`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestConfigLayers: the reference's order, later wins: the default config
// file ($VERTX_DEFAULT_CONFIG_PATH) < environment variables < --config.
func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	def, over := filepath.Join(dir, "default-config.json"), filepath.Join(dir, "config.json")
	os.WriteFile(def, []byte(`{"enable_v2_encryption":false,"optout_status_max_request_size":9,"some_java_only_key":1}`), 0o600)
	os.WriteFile(over, []byte(`{"optout_status_max_request_size":2,"some_java_only_key":2}`), 0o600)
	addr := freeAddr(t)
	stop, _ := background(t, map[string]string{
		"VERTX_DEFAULT_CONFIG_PATH":      def,
		"enable_v2_encryption":           "true", // beats the default file
		"optout_status_max_request_size": "1",    // loses to --config
	}, "serve", "--config", over, "--http-addr", addr, "--metrics-addr", "", "--print-credentials=false", "--drain-delay", "0", "--log-format", "text")
	checkHealthy(t, "http://"+addr)
	creds, _ := localdata.ReadCredentials()
	c := &client.Client{BaseURL: "http://" + addr, APIKey: creds.All.APIKey, Secret: creds.All.Secret}
	ctx := context.Background()
	if _, err := c.Do(ctx, "/v2/optout/status", []byte(`{"advertising_ids":["a","b"]}`)); err != nil {
		t.Fatalf("encrypted request with two ids: %v; want 200 (env turns encryption on, --config allows 2)", err)
	}
	var se *client.StatusError
	if _, err := c.Do(ctx, "/v2/optout/status", []byte(`{"advertising_ids":["a","b","c"]}`)); !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("three ids: %v; want 400", err)
	}
	code, errs := stop()
	if code != 0 || strings.Count(errs, "some_java_only_key") != 1 {
		t.Errorf("exit %d; want the unknown key listed once:\n%s", code, errs)
	}
}
