package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
)

// guideEnv exports the integration guide's variables, as a new user would.
func guideEnv(t *testing.T) {
	for k, v := range map[string]string{
		"RESOURCE_GROUP":         "my-vn-aks",
		"LOCATION":               "eastus",
		"VNET_NAME":              "my-vnet",
		"PUBLIC_IP_ADDRESS_NAME": "my-public-ip",
		"NAT_GATEWAY_NAME":       "my-nat-gateway",
		"AKS_CLUSTER_NAME":       "myvncluster",
		"KEYVAULT_NAME":          "my-vn-aks-vault",
		"KEYVAULT_SECRET_NAME":   "my-vn-aks-opr-key-name",
		"MANAGED_IDENTITY":       "my-vn-aks-opr-id",
		"SUBSCRIPTION_ID":        "00000000-1111-2222-3333-444444444444",
		"DEPLOYMENT_ENV":         "integ",
	} {
		t.Setenv(k, v)
	}
}

func runAKS(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), append([]string{"aks"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAKSPreflight(t *testing.T) {
	guideEnv(t)
	code, out, errOut := runAKS(t, "preflight")
	if code != ExitOK || !strings.Contains(out, "preflight: ok") {
		t.Fatalf("aks preflight = %d\n%s%s", code, out, errOut)
	}
	// A flag overrides the environment.
	code, out, errOut = runAKS(t, "preflight", "--keyvault-name", "my--vault", "--location", "westeurope")
	if code != ExitError {
		t.Fatalf("aks preflight (bad) = %d; want %d", code, ExitError)
	}
	for _, want := range []string{`KEYVAULT_NAME="my--vault"`, "consecutive hyphens", "fix: use single hyphens: my-vault", `LOCATION="westeurope"`, "2 error(s)"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errOut)
		}
	}
}

func TestAKSPreflightJSON(t *testing.T) {
	guideEnv(t)
	t.Setenv("OPERATOR_KEY", "UID2-O-P-1-topsecret")
	code, out, _ := runAKS(t, "preflight", "--json")
	if code != ExitError {
		t.Fatalf("code = %d; want %d", code, ExitError)
	}
	var got struct {
		OK       bool
		Findings []struct{ Severity, Rule, Field, Value string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if got.OK || strings.Contains(out, "topsecret") {
		t.Fatalf("json = %s", out)
	}
	found := false
	for _, f := range got.Findings {
		found = found || f.Rule == "operator-key.environment" && f.Value == "[redacted]"
	}
	if !found {
		t.Errorf("no redacted operator-key.environment finding: %s", out)
	}
}

func TestAKSUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"preflight", "--no-such-flag"}, {"plan", "extra"}, {"health", "--attempts", "x"}} {
		if code, _, errOut := runAKS(t, args...); code != ExitUsage {
			t.Errorf("aks %v = %d; want %d (%s)", args, code, ExitUsage, errOut)
		}
	}
}

func TestAKSPlan(t *testing.T) {
	guideEnv(t)
	// A release ZIP's operator.yaml: image and policy already filled.
	release := filepath.Join(t.TempDir(), "operator.yaml")
	rego := "package policy\n"
	manifest := strings.NewReplacer("IMAGE_PLACEHOLDER", "ghcr.io/iabtechlab/uid2-operator:5.0.0",
		"CCE_POLICY_PLACEHOLDER", base64.StdEncoding.EncodeToString([]byte(rego))).Replace(string(aksmanifest.Operator))
	if err := os.WriteFile(release, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "provision.sh")
	code, out, errOut := runAKS(t, "plan", "--manifest", release, "-o", path)
	sum := sha256.Sum256([]byte(rego))
	if id := hex.EncodeToString(sum[:]); code != ExitOK || !strings.Contains(out, "enclave id: "+id) || !strings.Contains(errOut, "step 0: enclave id "+id) {
		t.Errorf("aks plan = %d; want enclave id %s on stdout and stderr\n%s%s", code, id, out, errOut)
	}
	if code != ExitOK {
		t.Fatalf("aks plan = %d\n%s%s", code, out, errOut)
	}
	script, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(script, []byte("#!/usr/bin/env bash\n")) || !bytes.Contains(script, []byte("export KEYVAULT_NAME='my-vn-aks-vault'")) {
		t.Fatalf("script:\n%s", script)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
			t.Fatalf("bash -n: %v\n%s", err, out)
		}
	}
	// No image and no policy: step 0 stops, and no script is written.
	noScript := filepath.Join(t.TempDir(), "none.sh")
	code, _, errOut = runAKS(t, "plan", "--manifest", filepath.Join(t.TempDir(), "missing.yaml"), "-o", noScript)
	if _, err := os.Stat(noScript); code != ExitError || err == nil || !strings.Contains(errOut, "no image and no CCE policy") {
		t.Errorf("aks plan without image or policy = %d (script written: %v)\n%s", code, err == nil, errOut)
	}
	t.Setenv("LOCATION", "chinaeast2")
	if code, _, _ := runAKS(t, "plan", "--manifest", release); code != ExitError {
		t.Errorf("aks plan (china) = %d; want %d", code, ExitError)
	}
}

func TestAKSRender(t *testing.T) {
	guideEnv(t)
	dir := t.TempDir()
	policy := base64.StdEncoding.EncodeToString([]byte("package policy\n"))
	// The release ZIP's operator.yaml: image and policy already filled.
	release := strings.NewReplacer("IMAGE_PLACEHOLDER", "ghcr.io/example/uid2-operator:1.0.0",
		"CCE_POLICY_PLACEHOLDER", policy).Replace(string(aksmanifest.Operator))
	in, out := filepath.Join(dir, "operator.yaml"), filepath.Join(dir, "operator.rendered.yaml")
	if err := os.WriteFile(in, []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runAKS(t, "render", "-f", in, "-o", out)
	if code != ExitOK {
		t.Fatalf("aks render = %d\n%s%s", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("_PLACEHOLDER")) || !bytes.Contains(got, []byte("/userAssignedIdentities/my-vn-aks-opr-id")) {
		t.Errorf("rendered manifest:\n%s", got)
	}
	if !strings.Contains(stdout, "enclave id: ") {
		t.Errorf("stdout lacks the enclave id: %s", stdout)
	}

	// The built-in template needs image and policy.
	code, _, stderr = runAKS(t, "render")
	if code != ExitError || !strings.Contains(stderr, "IMAGE_PLACEHOLDER") {
		t.Errorf("aks render (no image) = %d, %s", code, stderr)
	}
	pf := filepath.Join(dir, "policy.rego")
	if err := os.WriteFile(pf, []byte("package policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runAKS(t, "render", "--image", "ghcr.io/example/uid2-operator:1.0.0", "--cce-policy-file", pf)
	if code != ExitOK || !strings.Contains(stdout, "apiVersion: apps/v1") || !strings.Contains(stderr, "enclave id: ") {
		t.Errorf("aks render (to stdout) = %d\n%s", code, stderr)
	}
}

func TestAKSHealth(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "http-server: not listening")
			return
		}
		fmt.Fprint(w, "OK")
	}))
	defer srv.Close()
	code, out, errOut := runAKS(t, "health", "--url", srv.URL+"/ops/healthcheck", "--interval", "1ms")
	if code != ExitOK || !strings.Contains(out, "healthy") || !strings.Contains(errOut, "HTTP 503: http-server: not listening") {
		t.Fatalf("aks health = %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runAKS(t, "health", "--ip", "127.0.0.1:1", "--attempts", "2", "--interval", "1ms", "--timeout", "100ms")
	if code != ExitError || !strings.Contains(errOut, "not healthy") {
		t.Fatalf("aks health (refused) = %d\n%s", code, errOut)
	}
}

// Issue 9 item 5: preflight and plan print the egress the operator needs.
func TestAKSPrintsEgress(t *testing.T) {
	guideEnv(t)
	integ := []string{"core-integ.uidapi.com", "optout-integ.uidapi.com",
		"uid2-core-integ-store.s3.us-east-2.amazonaws.com", "uid2-optout-integ-store.s3.us-east-2.amazonaws.com"}
	prod := []string{"core-prod.uidapi.com", "optout-prod.uidapi.com",
		"uid2-core-prod-store.s3.us-east-2.amazonaws.com", "uid2-core-prod-store-replica.s3.us-west-2.amazonaws.com",
		"uid2-optout-prod-store.s3.us-east-2.amazonaws.com", "uid2-optout-prod-store-replica.s3.us-west-2.amazonaws.com"}
	// plan's step 0 takes the enclave id from a policy file.
	policyFile := filepath.Join(t.TempDir(), "policy.rego")
	if err := os.WriteFile(policyFile, []byte("package policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"preflight"}, integ},
		{[]string{"preflight", "--deployment-env", "prod"}, prod},
		{[]string{"plan", "-o", filepath.Join(t.TempDir(), "p.sh"), "--deployment-env", "prod", "--cce-policy-file", policyFile}, prod},
	} {
		code, out, errOut := runAKS(t, tt.args...)
		if code != ExitOK || !strings.Contains(out, "outbound HTTPS (port 443)") {
			t.Fatalf("aks %v = %d\n%s%s", tt.args, code, out, errOut)
		}
		for _, h := range tt.want {
			if !strings.Contains(out, h) {
				t.Errorf("aks %v output lacks %s:\n%s", tt.args, h, out)
			}
		}
	}
	code, out, _ := runAKS(t, "preflight", "--json", "--deployment-env", "prod")
	var got struct {
		Egress []struct {
			Host    string
			Port    int
			Purpose string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != ExitOK {
		t.Fatalf("preflight --json = %d, %v\n%s", code, err, out)
	}
	if len(got.Egress) != len(prod) || got.Egress[3].Host != prod[3] || got.Egress[3].Port != 443 || !strings.Contains(got.Egress[3].Purpose, "failover") {
		t.Errorf("preflight --json egress = %+v", got.Egress)
	}
}
