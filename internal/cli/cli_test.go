package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/cli"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLocalCredentialsJSON(t *testing.T) {
	code, out, errs := run(t, "", "local", "credentials", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, name := range []string{"all", "generator", "mapper", "id_reader", "sharer", "optout", "non_sharing"} {
		c := got[name]
		if c["api_key"] == "" || c["secret"] == "" || c["site_id"] == nil || len(c) != 3 {
			t.Errorf("%s = %v; want exactly api_key, secret, site_id", name, c)
		}
	}
	if c := got["cstg"]; c["subscription_id"] == "" || !strings.HasPrefix(c["server_public_key"].(string), "UID2-X-L-") || c["origin"] == "" || len(c) != 3 {
		t.Errorf("cstg = %v", c)
	}
	if len(got) != 8 {
		t.Errorf("top-level keys = %d; want 8", len(got))
	}
}

func TestLocalGenerateIsReproducible(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "", "local", "generate", "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(dir, localdata.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := localdata.Generate()
	if !bytes.Equal(b, emb[localdata.CredentialsFile]) {
		t.Error("generate wrote different credentials")
	}
	if code, _, _ := run(t, "", "local", "generate"); code != cli.ExitUsage {
		t.Errorf("generate without --dir: exit %d; want %d", code, cli.ExitUsage)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeAndRequest starts `serve` in process on 127.0.0.1, drives it with
// `request` as a person would, then stops it with a cancelled context (the
// SIGTERM path) and expects exit 0.
func TestServeAndRequest(t *testing.T) {
	addr, maddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"--http-addr", addr, "--metrics-addr", maddr, "--drain-delay", "100ms"}, strings.NewReader(""), &out, &errb)
	}()
	base := "http://" + addr
	errb.waitFor(t, listeningLine, nil)
	checkHealthy(t, base)
	creds, _ := localdata.ReadCredentials()

	code, stdout, stderr := run(t, "", "request", "--base-url", base, "--api-key", creds.Generator.APIKey,
		"--secret", creds.Generator.Secret, "/v2/token/generate", `{"email":"user@example.com"}`)
	if code != 0 {
		t.Fatalf("request generate: exit %d: %s", code, stderr)
	}
	var gen struct {
		Body   json.RawMessage `json:"body"`
		Status string          `json:"status"`
	}
	if err := json.Unmarshal([]byte(stdout), &gen); err != nil || gen.Status != "success" {
		t.Fatalf("generate output: %v\n%s", err, stdout)
	}
	// Refresh by piping the generate body through stdin, env vars for the URL.
	t.Setenv("UID2_BASE_URL", base)
	code, stdout, stderr = run(t, string(gen.Body), "request", "/v2/token/refresh")
	if code != 0 || !strings.Contains(stdout, `"status": "success"`) {
		t.Fatalf("request refresh: exit %d: %s %s", code, stdout, stderr)
	}
	// Binary envelopes and env credentials.
	t.Setenv("UID2_API_KEY", creds.Generator.APIKey)
	t.Setenv("UID2_SECRET_KEY", creds.Generator.Secret)
	code, stdout, _ = run(t, `{"phone":"+15555550100"}`, "request", "--binary", "/v2/token/generate", "-")
	if code != 0 || !strings.Contains(stdout, `"advertising_token": "B4`) {
		t.Fatalf("binary phone generate: exit %d: %s", code, stdout)
	}
	// A 400 from the operator: exit 1 and the body on stderr.
	code, _, stderr = run(t, "", "request", "/v2/token/generate", `{"email":"nope"}`)
	if code != 1 || !strings.Contains(stderr, `"Invalid Identifier"`) {
		t.Fatalf("bad input: exit %d: %s", code, stderr)
	}
	// Bad local input: exit 2 before any call.
	if code, _, _ = run(t, "", "request", "/v2/token/generate", `{not json`); code != cli.ExitUsage {
		t.Fatalf("bad JSON: exit %d", code)
	}
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`uid2_http_requests_total{api_contact="generator@demo.example",application="uid2-operator",host="` + addr + `",method="POST",path="/v2/token/generate",site_id="1002",site_name="Demo generator",status="200"} 2`,
		`uid2_http_requests_total{api_contact="generator@demo.example",application="uid2-operator",host="` + addr + `",method="POST",path="/v2/token/generate",site_id="1002",site_name="Demo generator",status="400"} 1`,
		`uid2_http_requests_total{api_contact="unknown",application="uid2-operator",host="` + addr + `",method="POST",path="/v2/token/refresh",site_id="1002",site_name="Demo generator",status="200"} 1`,
		`uid2_http_request_duration_seconds_count{application="uid2-operator",method="POST",path="/v2/token/generate"} 3`,
		`app_status{application="uid2-operator",version="dev"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(out.String(), creds.All.APIKey) {
		t.Error("serve did not print the demo credentials")
	}
	if strings.Contains(errb.String(), "user@example.com") {
		t.Error("logs contain DII")
	}
}

// listeningLine is what serve logs once its listeners are bound, after
// start-up (the first load in local mode; attestation and every store in
// Core mode): the readiness signal tests wait for instead of polling.
const listeningLine = "operator listening"

// lockedBuffer collects a process's log: safe for concurrent writes, and it
// wakes a test waiting for a line as soon as the line is written.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed on the next write; nil when nobody waits
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log contains s. It fails the test if exited
// (nil: never) is closed first, or after a minute.
func (l *lockedBuffer) waitFor(t *testing.T, s string, exited <-chan struct{}) {
	t.Helper()
	limit := time.NewTimer(time.Minute)
	defer limit.Stop()
	for {
		l.mu.Lock()
		found := strings.Contains(l.b.String(), s)
		if !found && l.changed == nil {
			l.changed = make(chan struct{})
		}
		next := l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-next:
		case <-exited:
			t.Fatalf("the process exited before logging %q:\n%s", s, l.String())
		case <-limit.C:
			t.Fatalf("no %q in the log within a minute:\n%s", s, l.String())
		}
	}
}

// checkHealthy asserts that base answers /ops/healthcheck 200 (once
// the process said it is listening: no retries).
func checkHealthy(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/ops/healthcheck")
	if err != nil {
		t.Fatalf("healthcheck: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthcheck = %d %q; want 200", resp.StatusCode, body)
	}
}

func TestServeBadFlagsAndConfig(t *testing.T) {
	if code, _, _ := run(t, "", "--no-such-flag"); code != cli.ExitUsage {
		t.Errorf("unknown flag: exit %d; want 2", code)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"identity_scope":"nope"}`), 0o600)
	code, _, errs := run(t, "", "serve", "--config", bad, "--http-addr", freeAddr(t), "--metrics-addr", "")
	if code != 1 || !strings.Contains(errs, "identity_scope") {
		t.Errorf("bad config: exit %d: %s", code, errs)
	}
	typed := filepath.Join(dir, "typed.json")
	os.WriteFile(typed, []byte(`{"enable_v2_encryption":"yes"}`), 0o600)
	code, _, errs = run(t, "", "serve", "--config", typed, "--http-addr", freeAddr(t), "--metrics-addr", "")
	if code != 1 || !strings.Contains(errs, "enable_v2_encryption") {
		t.Errorf("typed config: exit %d: %s", code, errs)
	}
	// Flag values that parse but are out of range name their flag.
	for _, args := range [][]string{
		{"--read-timeout", "0s"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "0s"},
		{"--shutdown-timeout", "0s"}, {"--startup-timeout", "0s"}, {"--drain-delay", "-1s"},
		{"--memory-limit", "1KiB"}, {"--admission-slots", "-1"},
	} {
		code, _, errs := run(t, "", append([]string{"serve", "--http-addr", freeAddr(t), "--metrics-addr", ""}, args...)...)
		if code == 0 || !strings.Contains(errs, args[0]+":") {
			t.Errorf("serve %s %s: exit %d: %s; want an error naming the flag", args[0], args[1], code, errs)
		}
	}
}

// TestSIGTERM runs the real binary and sends SIGTERM: the process drains and
// exits 0, as Kubernetes expects.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildOperator(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--http-addr", addr, "--metrics-addr", "", "--print-credentials=false", "--drain-delay", "100ms")
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errb.waitFor(t, listeningLine, nil)
	checkHealthy(t, "http://"+addr)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "draining") {
		t.Errorf("no drain log: %s", errb.String())
	}
}
