package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/cli"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// background runs args (serve or core) with cli.Run until the returned stop
// is called, and returns once it logged that it is listening; stop returns
// the exit code and stderr.
func background(t *testing.T, env map[string]string, args ...string) (stop func() (int, string), out *bytes.Buffer) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var o bytes.Buffer
	var e lockedBuffer
	done := make(chan int, 1)
	exited := make(chan struct{})
	go func() { done <- cli.Run(ctx, args, strings.NewReader(""), &o, &e); close(exited) }()
	stopped := false
	var code int
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%v did not stop", args)
			}
		}
		return code, e.String()
	}
	t.Cleanup(func() { stop() })
	line := listeningLine
	if len(args) > 0 && args[0] == "core" {
		line = "stand-in core listening"
	}
	e.waitFor(t, line, exited)
	return stop, &o
}

// TestCoreAndOperatorTogether is the README recipe: `core` prints the
// operator key, `serve --core-url` attests, syncs and serves the demo
// clients, and both stop cleanly.
func TestCoreAndOperatorTogether(t *testing.T) {
	code, creds, errs := run(t, "", "core", "--print-credentials")
	if code != 0 {
		t.Fatalf("core --print-credentials: exit %d: %s", code, errs)
	}
	var key string
	for _, f := range strings.Fields(creds) {
		if strings.HasPrefix(f, "UID2-O-L-") {
			key = f
			break
		}
	}
	if key == "" {
		t.Fatalf("no operator key in:\n%s", creds)
	}
	coreAddr, opAddr, mAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	stopCore, _ := background(t, nil, "core", "--http-addr", coreAddr)
	checkHealthy(t, "http://"+coreAddr)
	stopOp, _ := background(t, map[string]string{"UID2_OPERATOR_KEY": key},
		"serve", "--core-url", "http://"+coreAddr, "--http-addr", opAddr, "--metrics-addr", mAddr, "--drain-delay", "100ms")
	base := "http://" + opAddr
	checkHealthy(t, base)

	demo, _ := localdata.ReadCredentials()
	code, stdout, stderr := run(t, "", "request", "--base-url", base, "--api-key", demo.Generator.APIKey,
		"--secret", demo.Generator.Secret, "/v2/token/generate", `{"email":"user@example.com"}`)
	if code != 0 || !strings.Contains(stdout, `"status": "success"`) {
		t.Fatalf("generate via core mode: exit %d: %s %s", code, stdout, stderr)
	}
	// The dataset's mock opt-out reaches the operator as an Opt-Out partition.
	code, stdout, stderr = run(t, "", "request", "--base-url", base, "--api-key", demo.Generator.APIKey,
		"--secret", demo.Generator.Secret, "/v2/token/generate", `{"email":"`+localdata.MockOptOutEmails[0]+`"}`)
	if code != 0 || !strings.Contains(stdout, `"status": "optout"`) {
		t.Fatalf("generate the mock opt-out via core mode: exit %d: %s %s", code, stdout, stderr)
	}
	resp, err := http.Get("http://" + mAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`uid2_config_store_version{application="uid2-operator",store="salt"} 1`,
		`uid2_attestation_expiry_timestamp_seconds{application="uid2-operator"} `,
		`uid2_optout_last_sync_timestamp_seconds{application="uid2-operator"} `,
		`uid2_config_store_last_success_timestamp_seconds{application="uid2-operator",store="auth"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, errs := stopOp(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	if code, errs := stopCore(); code != 0 {
		t.Fatalf("core exit %d: %s", code, errs)
	}
}

// TestServeCoreModeAttestRejected: /attest 401 or 403 ends serve with exit 1
// and a one-line reason.
func TestServeCoreModeAttestRejected(t *testing.T) {
	fsys, _ := localdata.Open(time.Now())
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	s, err := standin.New(standin.Options{Dataset: fsys, Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		name, key string
		status    int
		want      string
	}{
		{"unknown key", standin.NewOperatorKey(1), 0, "HTTP 401"},
		{"forbidden", key, 403, "HTTP 403"},
	} {
		s.ForTest.SetAttestStatus(tc.status)
		code, _, errs := run(t, "", "serve", "--core-url", srv.URL, "--operator-key", tc.key,
			"--http-addr", freeAddr(t), "--metrics-addr", "")
		if code != 1 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "operator key was rejected") {
			t.Errorf("%s: exit %d: %s", tc.name, code, errs)
		}
		if strings.Contains(errs, tc.key) {
			t.Errorf("%s: stderr shows the operator key", tc.name)
		}
	}
}

// TestServeReferenceConfigFile runs Core mode from a reference-style JSON
// config (core-and-optout.md §4.2) instead of the convenience flags.
func TestServeReferenceConfigFile(t *testing.T) {
	fsys, _ := localdata.Open(time.Now())
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	s, _ := standin.New(standin.Options{Dataset: fsys, Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	u := srv.URL
	cfg := map[string]any{
		"core_attest_url": u + "/attest", "core_api_token": key, "operator_type": "private",
		"uid_instance_id_prefix": "cfg-test", "storage_mock": false, "enable_remote_config": true,
		"client_side_token_generate": false, "validate_service_links": false, "encrypted_files": true,
		"clients_metadata_path": u + "/clients/refresh", "keysets_metadata_path": u + "/key/keyset/refresh",
		"keyset_keys_metadata_path": u + "/key/keyset-keys/refresh", "salts_metadata_path": u + "/salt/refresh",
		"runtime_config_metadata_path": u + "/operator/config", "cloud_encryption_keys_metadata_path": u + "/cloud_encryption_keys/retrieve",
		"optout_metadata_path": u + "/optout/refresh", "optout_api_uri": u + "/optout/replicate", "optout_s3_folder": "optout/",
		"optout_inmem_cache": true, "cloud_refresh_interval": 60, "failure_shutdown_wait_hours": 120,
	}
	b, _ := json.Marshal(cfg)
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, b, 0o600)
	addr := freeAddr(t)
	stop, _ := background(t, nil, "serve", "--config", p, "--http-addr", addr, "--metrics-addr", "", "--drain-delay", "100ms")
	checkHealthy(t, "http://"+addr)
	if code, errs := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
}

// TestServeCoreModeStartupTimeout: with Core unreachable, start-up retries
// until --startup-timeout and then exits 1 naming the last error, so the pod
// restarts instead of hanging unready forever.
func TestServeCoreModeStartupTimeout(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"serve", "--core-url", "http://127.0.0.1:1", "--operator-key", "UID2-O-L-999-abcdef.abcdefabcdefabcdefabcdefabcdefabcdefab",
		"--http-addr", "127.0.0.1:0", "--metrics-addr", "", "--startup-timeout", "1500ms", "--log-format", "text"}
	start := time.Now()
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s", code, errb.String())
	}
	last := strings.TrimSpace(errb.String())
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.Contains(last, "start-up did not finish within --startup-timeout 1.5s") || !strings.Contains(last, "connection refused") {
		t.Fatalf("last line %q", last)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %s", d)
	}
}
