package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/azure"
	"github.com/uid2-private-operator/uid2-operator/internal/azure/azuretest"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

const (
	azKey      = "UID2-O-I-999-abcdef.0123456789abcdefghijklmnopqrstuvwxyzAB"
	azProdKey  = "UID2-O-P-999-ghijkl.0123456789abcdefghijklmnopqrstuvwxyzAB"
	azToken    = "fake-mi-access-token"
	azHeader   = "fake-identity-header"
	azEnclave  = "enclave-e2e"
	azOptout   = "uid-optout-integ/"
	azSecret   = "operator-key"
	azBadVault = "https://no-such-vault-uid2.invalid"
)

// azureWorld is everything an operator container on AKS talks to, faked on
// 127.0.0.1: the managed-identity endpoint, Key Vault over HTTPS (trusted
// through SSL_CERT_FILE), the SKR sidecar and a stand-in Core that accepts
// the operator key only with azure-cc attestation.
type azureWorld struct {
	bin     string
	ca      string
	idSrv   *httptest.Server
	vault   *azuretest.KeyVault
	vSrv    *httptest.Server
	skr     *azuretest.SKR
	skrSrv  *httptest.Server
	coreSrv *httptest.Server
}

func newAzureWorld(t *testing.T, bin string, enclaves ...string) *azureWorld {
	t.Helper()
	return newAzureWorldMAA(t, bin, azure.DefaultMAABaseURL, enclaves...)
}

// newAzureWorldMAA is newAzureWorld with a Core that trusts MAA tokens from
// the MAA base URL maa only.
func newAzureWorldMAA(t *testing.T, bin, maa string, enclaves ...string) *azureWorld {
	t.Helper()
	w := &azureWorld{bin: bin}
	w.idSrv = httptest.NewServer(azuretest.NewIdentity(azToken, azHeader))
	t.Cleanup(w.idSrv.Close)

	w.vault = azuretest.NewKeyVault(azToken)
	w.vault.Set(azSecret, azKey)
	w.vault.Set("prod-key", azProdKey)
	w.vault.Set("forbidden", azKey)
	w.vault.Forbid("forbidden", -1)
	w.vSrv = httptest.NewTLSServer(w.vault)
	t.Cleanup(w.vSrv.Close)
	ca, err := azuretest.WriteCA(w.vSrv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.ca = ca

	skrKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w.skr = &azuretest.SKR{Key: skrKey, HostData: azEnclave}
	w.skrSrv = httptest.NewServer(w.skr)
	t.Cleanup(w.skrSrv.Close)

	dataset, err := localdata.Open(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(enclaves) == 0 {
		enclaves = []string{azEnclave}
	}
	core, err := standin.New(standin.Options{
		Dataset:      dataset,
		Operators:    []standin.Operator{{Key: azKey, SiteID: standin.DefaultSiteID, Type: "private", Protocol: standin.ProtocolAzureCC}},
		OptoutFolder: azOptout,
		AzureCC:      &standin.AzureCC{Signer: &skrKey.PublicKey, Issuer: maa, Enclaves: enclaves},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.coreSrv = httptest.NewServer(core.Handler())
	t.Cleanup(w.coreSrv.Close)
	return w
}

// env is the container's environment: the three variables of the AKS guide
// plus the test overrides; set overrides entries ("" deletes one).
func (w *azureWorld) env(set map[string]string) []string {
	m := map[string]string{
		"VAULT_NAME":               "uid2vault",
		"OPERATOR_KEY_SECRET_NAME": azSecret,
		"DEPLOYMENT_ENVIRONMENT":   "integ",
		"IMAGE_VERSION":            "9.9.9-test",
		"VAULT_URL":                w.vSrv.URL,
		"CORE_BASE_URL":            w.coreSrv.URL,
		"OPTOUT_BASE_URL":          w.coreSrv.URL,
		"SKR_URL":                  w.skrSrv.URL,
		"SSL_CERT_FILE":            w.ca,
		"IDENTITY_ENDPOINT":        w.idSrv.URL + "/msi/token",
		"IDENTITY_HEADER":          azHeader,
		"PATH":                     os.Getenv("PATH"),
	}
	for k, v := range set {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func buildOperator(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "uid2-operator")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/uid2-operator").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServing starts the operator binary of cmd, waits for its listening
// line and a healthy /ops/healthcheck on addr, and returns its stderr (logged
// if the test fails) and stop, which sends SIGTERM and expects exit 0 within
// 30 s.
func startServing(t *testing.T, cmd *exec.Cmd, addr string) (stderr *lockedBuffer, stop func()) {
	t.Helper()
	stderr = &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default: // a Fatal before stop: leave no operator behind
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("operator stderr:\n%s", stderr.String())
		}
	})
	stderr.waitFor(t, listeningLine, exited)
	checkHealthy(t, "http://"+addr)
	return stderr, func() {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("after SIGTERM: %v; want exit 0", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("no exit within 30 s of SIGTERM")
		}
	}
}

// TestAzureAKS runs the operator binary as the AKS container does, against
// the fakes: start-up to serving and SIGTERM, then every start-up error
// code with its exit status and one-line message.
func TestAzureAKS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the operator binary")
	}
	bin := buildOperator(t)
	w := newAzureWorld(t, bin)

	t.Run("start-up to serving", func(t *testing.T) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--http-addr", addr, "--metrics-addr", "", "--log-format", "text", "--drain-delay", "100ms")
		cmd.Env = w.env(nil)
		stderr, stop := startServing(t, cmd, addr)
		reqs := w.skr.Requests()
		if len(reqs) == 0 {
			t.Fatal("operator did not attest through the SKR sidecar")
		}
		rd := reqs[0].RuntimeData
		gotURL, _ := base64.StdEncoding.DecodeString(rd.AttestationURL)
		if rd.Location != "East US" || rd.PublicKey == "" || string(gotURL) != w.coreSrv.URL+"/attest" || reqs[0].MAAEndpoint != "sharedeus.eus.attest.azure.net" {
			t.Errorf("runtime data = %+v (attestationUrl %q), maa_endpoint %q", rd, gotURL, reqs[0].MAAEndpoint)
		}
		if strings.Contains(stderr.String(), azKey) {
			t.Error("the operator logged its key")
		}
		stop()
	})

	// The reference operator's own azure-cc start-up, configured the way
	// azr.py hands it over: enclave_platform from the config, the vault and
	// secret as environment variables named like the config keys, and a
	// non-default MAA in maa_server_base_url.
	t.Run("enclave_platform azure-cc from config keys", func(t *testing.T) {
		const maa = "https://maa-test.example"
		mw := newAzureWorldMAA(t, bin, maa)
		cfgFile := filepath.Join(t.TempDir(), "config.json")
		os.WriteFile(cfgFile, []byte(`{"enclave_platform":"azure-cc","operator_type":"private","encrypted_files":true,"maa_server_base_url":"`+maa+`"}`), 0o600)
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--config", cfgFile, "--core-url", mw.coreSrv.URL, "--http-addr", addr, "--metrics-addr", "", "--log-format", "text", "--drain-delay", "0")
		cmd.Env = mw.env(map[string]string{"VAULT_NAME": "", "OPERATOR_KEY_SECRET_NAME": "", "DEPLOYMENT_ENVIRONMENT": "",
			"azure_vault_name": "uid2vault", "azure_secret_name": azSecret, "optout_s3_folder": azOptout})
		stderr, stop := startServing(t, cmd, addr)
		reqs := mw.skr.Requests()
		if len(reqs) == 0 || reqs[0].MAAEndpoint != "maa-test.example" {
			t.Errorf("SKR requests = %+v; want maa_endpoint maa-test.example", reqs)
		}
		if strings.Contains(stderr.String(), azKey) {
			t.Error("the operator logged its key")
		}
		stop()
	})

	t.Run("enclave_platform azure-cc without a vault name", func(t *testing.T) {
		cmd := exec.Command(bin, "--core-url", w.coreSrv.URL, "--http-addr", freeAddr(t), "--metrics-addr", "")
		cmd.Env = w.env(map[string]string{"VAULT_NAME": "", "OPERATOR_KEY_SECRET_NAME": "", "DEPLOYMENT_ENVIRONMENT": "",
			"enclave_platform": "azure-cc", "azure_secret_name": azSecret})
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(lastLine(string(out)), "azure_vault_name: required when enclave_platform is azure-cc") {
			t.Errorf("exit %v: %s", err, out)
		}
	})

	t.Run("SIGTERM while waiting for the sidecar exits 0", func(t *testing.T) {
		cmd := exec.Command(bin, "--http-addr", freeAddr(t), "--metrics-addr", "", "--log-format", "text")
		cmd.Env = w.env(map[string]string{"SKR_URL": "http://127.0.0.1:1"})
		pr, pw := io.Pipe()
		cmd.Stderr = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait(); pw.Close() }()
		// Wait for the first "waiting for the SKR sidecar" line, then stop.
		buf := make([]byte, 64<<10)
		var seen strings.Builder
		for !strings.Contains(seen.String(), "waiting for the SKR sidecar") {
			n, err := pr.Read(buf)
			seen.Write(buf[:n])
			if err != nil {
				t.Fatalf("operator ended before waiting for the sidecar:\n%s", seen.String())
			}
		}
		go io.Copy(io.Discard, pr)
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("after SIGTERM during start-up: %v; want exit 0", err)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("no exit within 20 s of SIGTERM")
		}
	})

	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		exit  int
		line  string // the error line must contain this
		world *azureWorld
	}{
		{name: "E03 missing secret name", env: map[string]string{"OPERATOR_KEY_SECRET_NAME": ""}, args: []string{"--platform", "azure-aks"},
			exit: 13, line: "E03: ConfigurationMissingError: OPERATOR_KEY_SECRET_NAME not set"},
		{name: "E04 bad environment", env: map[string]string{"DEPLOYMENT_ENVIRONMENT": "staging"},
			exit: 14, line: `E04: ConfigurationValueError: DEPLOYMENT_ENVIRONMENT is "staging"`},
		{name: "E04 debug in prod", env: map[string]string{"DEPLOYMENT_ENVIRONMENT": "prod", "DEBUG_MODE": "true"},
			exit: 14, line: "E04: ConfigurationValueError: DEBUG_MODE=true is allowed only with DEPLOYMENT_ENVIRONMENT=integ"},
		{name: "E04 prod core URL in integ", env: map[string]string{"CORE_BASE_URL": "https://core-prod.uidapi.com"},
			exit: 14, line: `E04: ConfigurationValueError: CORE_BASE_URL "https://core-prod.uidapi.com" does not look like a UID2 integ URL`},
		{name: "E02 secret not found", env: map[string]string{"OPERATOR_KEY_SECRET_NAME": "missing"},
			exit: 12, line: `E02: OperatorKeyNotFoundError: Key Vault ` + "%VAULT%" + ` has no secret "missing" (404, code SecretNotFound)`},
		{name: "E02 unknown vault", env: map[string]string{"VAULT_URL": azBadVault},
			exit: 12, line: "E02: OperatorKeyNotFoundError: Key Vault host no-such-vault-uid2.invalid cannot be resolved"},
		{name: "E08 no identity", env: map[string]string{"IDENTITY_HEADER": "wrong"},
			exit: 18, line: "E08: OperatorKeyPermissionError: cannot get a managed identity token for Key Vault"},
		{name: "E08 forbidden", env: map[string]string{"OPERATOR_KEY_SECRET_NAME": "forbidden"},
			exit: 18, line: `E08: OperatorKeyPermissionError: Key Vault ` + "%VAULT%" + ` refused to read secret "forbidden" (403, code Forbidden, innererror ForbiddenByRbac, DecisionReason DeniedWithNoValidRBAC)`},
		{name: "E05 prod key in integ", env: map[string]string{"OPERATOR_KEY_SECRET_NAME": "prod-key"},
			exit: 15, line: `E05: OperatorKeyValidationError: the operator key in secret "prod-key" is a prod key`},
		{name: "E06 core unreachable", env: map[string]string{"CORE_BASE_URL": "http://127.0.0.1:1"},
			exit: 16, line: "E06: UID2ServicesUnreachableError: cannot reach UID2 Core at http://127.0.0.1:1 (resolved to 127.0.0.1)"},
		{name: "SKR sidecar down", env: map[string]string{"SKR_URL": "http://127.0.0.1:1"},
			exit: 1, line: "attestation: SKR sidecar at http://127.0.0.1:1 not reachable"},
		{name: "Core rejects the enclave", world: newAzureWorld(t, bin, "another-enclave"),
			exit: 1, line: "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			world := w
			if tt.world != nil {
				world = tt.world
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append([]string{"--http-addr", freeAddr(t), "--metrics-addr", "", "--azure-retry", "0"}, tt.args...)
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = world.env(tt.env)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.exit {
				t.Fatalf("exit = %v; want status %d\nstderr:\n%s", err, tt.exit, stderr.String())
			}
			want := strings.ReplaceAll(tt.line, "%VAULT%", world.vSrv.URL)
			last := lastLine(stderr.String())
			if !strings.Contains(last, want) {
				t.Errorf("last stderr line = %q; want it to contain %q", last, want)
			}
			if strings.HasPrefix(want, "E") && !strings.HasPrefix(last, want) {
				t.Errorf("last stderr line = %q; want it to start with %q (one Exx line, no prefix)", last, want)
			}
			if strings.HasPrefix(want, "E") && !strings.Contains(last, azure.GuideURL) {
				t.Errorf("last stderr line = %q; want the AKS guide link", last)
			}
			if strings.Contains(stderr.String(), azKey) || strings.Contains(stderr.String(), azProdKey) || strings.Contains(stderr.String(), azToken) {
				t.Error("stderr contains the operator key or the access token")
			}
			t.Logf("exit %d: %s", tt.exit, last)
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return fmt.Sprint(lines[len(lines)-1])
}
