package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// Issue 10's end-to-end checks against the built binary. The figures in the
// issue come from longer runs of the same tests:
//
//	UID2_E2E_TOKEN_LIFETIME=30s go test ./internal/cli -run TestCoreOutage -v
//	UID2_E2E_DRAIN_CLIENTS=32 go test ./internal/cli -run TestDrainUnderLoad -v
const (
	tokenLifetimeEnv = "UID2_E2E_TOKEN_LIFETIME"
	// postExpiry is how long TestCoreOutage keeps checking past the expiry.
	postExpiry      = 3 * time.Second
	drainClientsEnv = "UID2_E2E_DRAIN_CLIENTS"
)

// operatorProcess is the operator binary running as a child process.
type operatorProcess struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	base   string
	done   chan struct{}
	err    error // cmd.Wait's result once done is closed
}

func startOperator(t *testing.T, bin string, env []string, args ...string) *operatorProcess {
	t.Helper()
	addr := freeAddr(t)
	p := &operatorProcess{stderr: &lockedBuffer{}, base: "http://" + addr, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--http-addr", addr, "--metrics-addr", "", "--log-format", "text"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("operator stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// wait returns the exit code, failing the test after d.
func (p *operatorProcess) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("operator still running after %s", d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// opsStatus is the part of /ops/status the tests read.
type opsStatus struct {
	Ready       bool     `json:"ready"`
	NotReady    []string `json:"not_ready"`
	Degraded    []string `json:"degraded"`
	Attestation struct {
		ExpiresAt string `json:"expires_at"`
		Expired   bool   `json:"expired"`
		Failures  int    `json:"consecutive_failures"`
		LastError string `json:"last_error"`
	} `json:"attestation"`
	Stores []struct {
		Name      string `json:"name"`
		Version   int64  `json:"version"`
		Failures  int    `json:"consecutive_failures"`
		LastError string `json:"last_error"`
	} `json:"stores"`
}

func readStatus(t *testing.T, base string) opsStatus {
	t.Helper()
	code, body := get(t, base+"/ops/status")
	var s opsStatus
	if err := json.Unmarshal([]byte(body), &s); code != 200 || err != nil {
		t.Fatalf("/ops/status = %d %v: %s", code, err, body)
	}
	return s
}

// sdkCalls generates, refreshes and maps the way the SDKs do and returns
// the first failure.
func sdkCalls(ctx context.Context, base string, creds localdata.Credentials, refreshToken, responseKey string) error {
	gen := &client.Client{BaseURL: base, APIKey: creds.Generator.APIKey, Secret: creds.Generator.Secret, Binary: true}
	b, err := gen.Do(ctx, "/v2/token/generate", []byte(`{"email":"outage@example.com"}`))
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if r, _ := client.ParseResponse(b); r.Status != "success" {
		return fmt.Errorf("generate: status %q", r.Status)
	}
	b, err = gen.Refresh(ctx, refreshToken, responseKey)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if r, _ := client.ParseResponse(b); r.Status != "success" {
		return fmt.Errorf("refresh: status %q", r.Status)
	}
	mapper := &client.Client{BaseURL: base, APIKey: creds.Mapper.APIKey, Secret: creds.Mapper.Secret}
	b, err = mapper.Do(ctx, "/v3/identity/map", []byte(`{"email":["outage@example.com","other@example.com"]}`))
	if err != nil {
		return fmt.Errorf("identity map: %w", err)
	}
	if r, _ := client.ParseResponse(b); r.Status != "success" {
		return fmt.Errorf("identity map: status %q", r.Status)
	}
	return nil
}

// TestCoreOutage is issue 10's first check: Core issues short attestation
// tokens, then stops. The operator keeps answering 200 on /ops/healthcheck
// and /ops/live, serves generate, refresh and identity map past the token's
// expiry, and shows the outage in /ops/status.
func TestCoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the operator binary")
	}
	lifetime := 4 * time.Second
	if v := os.Getenv(tokenLifetimeEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", tokenLifetimeEnv, v, err)
		}
		lifetime = d
	}
	bin := buildOperator(t)
	fsys, err := localdata.Open(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	core, err := standin.New(standin.Options{Dataset: fsys, TokenLifetime: lifetime, NoJitter: true,
		Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	coreSrv := httptest.NewServer(core.Handler())
	defer coreSrv.Close()

	// Stores refresh every second (config keys as environment variables),
	// so the outage shows in /ops/status without a long wait.
	env := []string{"UID2_OPERATOR_KEY=" + key}
	for _, k := range []string{"auth_refresh_ms", "keyset_refresh_ms", "keysetkey_refresh_ms", "salt_refresh_ms",
		"config_scan_period_ms", "cloud_encryption_keys_refresh_ms"} {
		env = append(env, k+"=1000")
	}
	op := startOperator(t, bin, env, "--core-url", coreSrv.URL, "--drain-delay", "200ms")
	op.stderr.waitFor(t, listeningLine, op.done)
	checkHealthy(t, op.base)
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gen := &client.Client{BaseURL: op.base, APIKey: creds.Generator.APIKey, Secret: creds.Generator.Secret}
	b, err := gen.Do(ctx, "/v2/token/generate", []byte(`{"email":"outage@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := client.ParseResponse(b)
	var id client.Identity
	if err := json.Unmarshal(r.Body, &id); err != nil || id.RefreshToken == "" {
		t.Fatalf("generate: %v %s", err, b)
	}
	if err := sdkCalls(ctx, op.base, creds, id.RefreshToken, id.RefreshResponseKey); err != nil {
		t.Fatalf("with Core up: %v", err)
	}
	before := readStatus(t, op.base)
	expires, err := time.Parse(time.RFC3339, before.Attestation.ExpiresAt)
	if !before.Ready || len(before.Degraded) != 0 || err != nil {
		t.Fatalf("with Core up: /ops/status = %+v (%v)", before, err)
	}

	coreSrv.CloseClientConnections()
	coreSrv.Close()
	coreStopped := time.Now()
	t.Logf("Core stopped; attestation token expires at %s", expires.Format(time.RFC3339))
	// Wait until the token has expired and the operator has noticed Core is
	// gone.
	var during opsStatus
	for {
		during = readStatus(t, op.base)
		if during.Attestation.Expired && strings.Contains(strings.Join(during.Degraded, "\n"), "-rotator:") {
			break
		}
		if time.Since(expires) > time.Minute {
			t.Fatalf("no expired token and failing stores a minute past expiry: %+v", during)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Keep checking for a while past the expiry: every round must pass.
	rounds := 0
	for rounds == 0 || time.Since(expires) < postExpiry {
		rounds++
		if code, body := get(t, op.base+"/ops/healthcheck"); code != 200 || body != "OK" {
			t.Fatalf("/ops/healthcheck with Core down and the token expired = %d %q; want 200 OK", code, body)
		}
		if code, body := get(t, op.base+"/ops/live"); code != 200 || body != "OK" {
			t.Fatalf("/ops/live with Core down = %d %q; want 200 OK", code, body)
		}
		if err := sdkCalls(ctx, op.base, creds, id.RefreshToken, id.RefreshResponseKey); err != nil {
			t.Fatalf("with Core down, %s past the token's expiry: %v", time.Since(expires).Truncate(time.Millisecond), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !during.Ready || !strings.Contains(strings.Join(during.Degraded, "\n"), "attestation: token expired at") {
		t.Fatalf("/ops/status with Core down: ready %v, degraded %q; want ready with the expired token listed", during.Ready, during.Degraded)
	}
	failing := 0
	for _, s := range during.Stores {
		if s.Failures > 0 && s.LastError != "" && s.Version > 0 {
			failing++
		}
	}
	if failing == 0 {
		t.Fatalf("/ops/status stores show no failures with Core down: %+v", during.Stores)
	}
	if strings.Contains(op.stderr.String(), key) {
		t.Error("the operator key appears in the logs")
	}
	op.stderr.waitFor(t, "degraded: still serving", op.done) // the watchdog's next tick (every 5 s) logs it
	t.Logf("%s token; Core down for %s, token expired %s ago: %d rounds of healthcheck 200, live 200, generate/refresh/map OK; %d degraded conditions, first: %q",
		lifetime, time.Since(coreStopped).Truncate(time.Second), time.Since(expires).Truncate(time.Second), rounds, len(during.Degraded), during.Degraded[0])
	op.cmd.Process.Signal(syscall.SIGTERM)
	if code := op.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM; want 0", code)
	}
}

// TestAttestRejectedWhileServingExitsAtOnce: once serving, a 401 from
// /attest (here at the first re-attestation after the short token expired)
// still exits 1 at once — without the drain delay, which is an hour here.
func TestAttestRejectedWhileServingExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the operator binary")
	}
	bin := buildOperator(t)
	fsys, _ := localdata.Open(time.Now())
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	core, err := standin.New(standin.Options{Dataset: fsys, TokenLifetime: 2 * time.Second, NoJitter: true,
		Operators: []standin.Operator{{Key: key, SiteID: standin.DefaultSiteID}}})
	if err != nil {
		t.Fatal(err)
	}
	coreSrv := httptest.NewServer(core.Handler())
	defer coreSrv.Close()
	op := startOperator(t, bin, []string{"UID2_OPERATOR_KEY=" + key}, "--core-url", coreSrv.URL, "--drain-delay", "1h")
	op.stderr.waitFor(t, listeningLine, op.done)
	checkHealthy(t, op.base)
	core.ForTest.SetAttestStatus(http.StatusUnauthorized)
	if code := op.wait(t, time.Minute); code != 1 {
		t.Fatalf("exit %d after /attest 401; want 1", code)
	}
	if logs := op.stderr.String(); !strings.Contains(logs, "HTTP 401") || !strings.Contains(logs, "operator key was rejected") {
		t.Fatalf("no 401 reason in the logs:\n%s", logs)
	}
}

// TestDrainUnderLoad is issue 10's second check: keep-alive clients call
// /v2/token/generate in a loop; on SIGTERM readiness answers 503 during the
// drain, no request sent before readiness went 503 fails, and the process
// exits 0.
func TestDrainUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the operator binary")
	}
	clients := 32
	if v := os.Getenv(drainClientsEnv); v != "" {
		if _, err := fmt.Sscan(v, &clients); err != nil || clients < 1 {
			t.Fatalf("%s=%q: want a positive count", drainClientsEnv, v)
		}
	}
	bin := buildOperator(t)
	op := startOperator(t, bin, nil, "--print-credentials=false", "--drain-delay", "2s", "--shutdown-timeout", "10s")
	op.stderr.waitFor(t, listeningLine, op.done)
	checkHealthy(t, op.base)
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		sent time.Time
		err  error
	}
	var (
		mu        sync.Mutex
		results   []result
		notReady  atomic.Int64 // unix nanos of the first 503 seen; 0 before
		closes    atomic.Int64 // responses with Connection: close
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		perClient = make([]int, clients)
	)
	ctx := context.Background()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &countingTransport{base: &http.Transport{MaxIdleConnsPerHost: 1}, closes: &closes}
			c := &client.Client{BaseURL: op.base, APIKey: creds.Generator.APIKey, Secret: creds.Generator.Secret,
				Binary: true, HTTP: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent := time.Now()
				_, err := c.Do(ctx, "/v2/token/generate", []byte(`{"email":"drain@example.com"}`))
				mu.Lock()
				results = append(results, result{sent, err})
				perClient[i]++
				mu.Unlock()
				if err != nil && notReady.Load() != 0 {
					return // the listener is gone: this client is done
				}
			}
		}()
	}
	// Let every client send a few requests on its keep-alive connection.
	warm := time.Now()
	for {
		if time.Since(warm) > time.Minute {
			t.Fatal("the clients did not get three requests each through in a minute")
		}
		mu.Lock()
		ready := true
		for _, n := range perClient {
			ready = ready && n >= 3
		}
		mu.Unlock()
		if ready {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Watch readiness on fresh connections, as the kubelet does.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			resp, err := hc.Get(op.base + "/ops/healthcheck")
			if err != nil {
				return // listener closed
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				notReady.CompareAndSwap(0, time.Now().UnixNano())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sigterm := time.Now()
	op.cmd.Process.Signal(syscall.SIGTERM)
	code := op.wait(t, 30*time.Second)
	close(stop)
	wg.Wait()
	<-watchDone

	if code != 0 {
		t.Fatalf("exit %d after SIGTERM; want 0", code)
	}
	first503 := notReady.Load()
	if first503 == 0 {
		t.Fatal("/ops/healthcheck never answered 503 during the drain")
	}
	t503 := time.Unix(0, first503)
	var before, failedBefore, after, failedAfter int
	var firstErr, lastErrAfter error
	for _, r := range results {
		if r.sent.Before(t503) {
			before++
			if r.err != nil {
				failedBefore++
				if firstErr == nil {
					firstErr = r.err
				}
			}
		} else {
			after++
			if r.err != nil {
				failedAfter++
				if lastErrAfter == nil {
					lastErrAfter = r.err
				}
			}
		}
	}
	t.Logf("%d clients: %d requests sent before readiness went 503 (%s after SIGTERM), %d failed; %d sent after, %d failed (first: %v); %d responses with Connection: close",
		clients, before, t503.Sub(sigterm).Truncate(time.Millisecond), failedBefore, after, failedAfter, lastErrAfter, closes.Load())
	if failedBefore != 0 {
		t.Fatalf("%d of %d requests sent before readiness went 503 failed; first: %v", failedBefore, before, firstErr)
	}
	if closes.Load() == 0 {
		t.Error("no response carried Connection: close during the drain")
	}
}

// countingTransport counts responses that close their connection.
type countingTransport struct {
	base   http.RoundTripper
	closes *atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil && resp.Close {
		c.closes.Add(1)
	}
	return resp, err
}
