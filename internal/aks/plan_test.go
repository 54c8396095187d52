package aks_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

func TestPlanGolden(t *testing.T) {
	tests := []struct {
		name string
		set  func(*aks.Vars, *aks.PlanOptions)
	}{
		{"guide", func(*aks.Vars, *aks.PlanOptions) {}},
		{"ownbuild", func(v *aks.Vars, o *aks.PlanOptions) {
			v.Image = "myacr.azurecr.io/uid2-operator:5.0.0"
			o.BuiltinManifest = true
			o.PolicyFile = "cce-policy.base64"
			o.ImageLayout = "out/image"
		}},
		{"custom", func(v *aks.Vars, o *aks.PlanOptions) {
			v.SubscriptionID = ""
			v.Location = "westus3"
			v.ResourceGroup = "teams-rg"
			v.KubernetesVersion = "1.35.2"
			v.Image = "ghcr.io/example/uid2-operator:1.0.0"
			o.ManifestPath = "release/operator.yaml"
			o.PolicyFile = "policy.base64"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, opts := guideVars(), aks.PlanOptions{EnclaveID: testEnclaveID}
			tt.set(&v, &opts)
			var buf bytes.Buffer
			if err := aks.Plan(&buf, v, opts); err != nil {
				t.Fatalf("Plan = %v", err)
			}
			golden(t, "plan/"+tt.name+".sh", buf.Bytes())
			bashSyntax(t, buf.Bytes())
		})
	}
}

func TestPlanOrderAndFixes(t *testing.T) {
	var buf bytes.Buffer
	v := guideVars()
	v.OperatorKey = "UID2-O-I-1-neverinscript"
	if err := aks.Plan(&buf, v, aks.PlanOptions{EnclaveID: testEnclaveID}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	// The guide's order, resource group through kubectl apply.
	order := []string{
		"az provider register", "az group create", "az network vnet create", "--name default",
		"--name aks", "--delegations Microsoft.ContainerInstance/containerGroups", "az network public-ip create",
		"az network nat gateway create", "--nat-gateway", "az aks get-versions", "az aks create",
		"--query nodeResourceGroup", "kubeletidentity.objectId", "assign_role \"$KUBELET_OBJECT_ID\"",
		"az aks get-credentials", "git clone", "helm upgrade --install virtualnode", "virtualnode-0",
		"az identity create", "az keyvault list-deleted", "az keyvault recover", "checkNameAvailability",
		"az keyvault create", "az keyvault secret set", "\"Key Vault Secrets User\"", "RBAC_PROPAGATION_SECONDS\"",
		"aks render", "kubectl apply", "kubectl rollout status", "aks health",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(s[at:], want)
		if i < 0 {
			t.Fatalf("plan lacks %q after offset %d", want, at)
		}
		at += i
	}
	// Step 0 (policy and enclave id) comes before the first az command run.
	if s0, az := strings.Index(s, `step "0. CCE policy and enclave id`), strings.Index(s, "az account show"); s0 < 0 || az < s0 {
		t.Errorf("step 0 at %d, first az call at %d; want step 0 first", s0, az)
	}
	for _, want := range []string{
		"https://github.com/microsoft/virtualnodesOnAzureContainerInstances.git", // not git@
		"--branch \"virtualnode-${VIRTUALNODE_CHART_VERSION}\"",
		"--assignee-object-id", "retry 30 10 az role assignment create",
		"set -euo pipefail",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	for _, bad := range []string{"git@github.com", "--assignee \"", "sed -i", "MC_${", "neverinscript"} {
		if strings.Contains(s, bad) {
			t.Errorf("plan contains %q", bad)
		}
	}
}

func TestPlanRefusesBadInput(t *testing.T) {
	v := guideVars()
	v.Location = "northeurope"
	var ce *aks.CheckError
	if err := aks.Plan(&bytes.Buffer{}, v, aks.PlanOptions{EnclaveID: testEnclaveID}); !errors.As(err, &ce) {
		t.Fatalf("Plan(northeurope) = %v; want *CheckError", err)
	}
	if err := aks.Plan(&bytes.Buffer{}, guideVars(), aks.PlanOptions{}); !errors.Is(err, aks.ErrNoEnclaveID) {
		t.Errorf("Plan(no enclave id) = %v; want ErrNoEnclaveID", err)
	}
	err := aks.Plan(&bytes.Buffer{}, guideVars(), aks.PlanOptions{EnclaveID: testEnclaveID, ImageLayout: "out/image"})
	if err == nil || !strings.Contains(err.Error(), "IMAGE") {
		t.Errorf("Plan(layout, no IMAGE) = %v; want an error naming IMAGE", err)
	}
}

// testEnclaveID is the SHA-256 of planPolicy.
const (
	planPolicy    = "package policy\n"
	testEnclaveID = "89d09cb5c2f579afa733a1f68ae0dd5ff13e59efa75b870c64ca9fd62e9ec139"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$(x)": "'$(x)'"} {
		if got := aks.ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s; want %s", in, got, want)
		}
	}
}

// bashSyntax runs bash -n on script; it skips when bash is missing.
func bashSyntax(t *testing.T, script []byte) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	path := filepath.Join(t.TempDir(), "plan.sh")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
}

// Issue 9 item 5: the plan names the egress the operator needs, failover
// replicas included in prod.
func TestPlanNamesEgress(t *testing.T) {
	v := guideVars()
	v.DeploymentEnv = "prod"
	var buf bytes.Buffer
	if err := aks.Plan(&buf, v, aks.PlanOptions{EnclaveID: testEnclaveID}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, h := range []string{"core-prod.uidapi.com", "optout-prod.uidapi.com", "uid2-core-prod-store.s3.us-east-2.amazonaws.com",
		"uid2-core-prod-store-replica.s3.us-west-2.amazonaws.com", "uid2-optout-prod-store.s3.us-east-2.amazonaws.com",
		"uid2-optout-prod-store-replica.s3.us-west-2.amazonaws.com"} {
		// Once in the header comment, once printed when the NAT gateway is set up.
		if n := strings.Count(s, h); n != 2 {
			t.Errorf("plan names %s %d times; want 2", h, n)
		}
	}
	if strings.Contains(s, "-integ") {
		t.Errorf("prod plan names an integ host")
	}
}

// Step 0 runs before any az call: with a policy that does not match the
// planned enclave id the script stops there, and az is never run; with
// the planned policy it prints the enclave id and only then calls az.
func TestPlanStepZeroStopsBeforeAz(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, tool := range []string{"base64", "tr", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, tc := range []struct {
		name, policy string
		release      string // UID2_RELEASE
		wantStderr   string
		wantAz       bool
	}{
		{"planned policy", planPolicy, "uid2-release", "enclave id " + testEnclaveID + ": register it with UID2", true},
		{"changed policy", "package policy\nallow := true\n", "uid2-release", "the CCE policy changed since this plan was made", false},
		{"no uid2-release", planPolicy, "", "the push step needs uid2-release", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			azLog := filepath.Join(dir, "az.log")
			// Every tool the script checks for is a stub; az records its call and fails.
			for name, body := range map[string]string{
				"az":            "echo \"az $*\" >>" + azLog + "\nexit 1\n",
				"kubectl":       "exit 0\n",
				"helm":          "exit 0\n",
				"git":           "exit 0\n",
				"uid2-operator": "exit 0\n",
				"uid2-release":  "exit 0\n",
			} {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "cce-policy.base64"), []byte(base64.StdEncoding.EncodeToString([]byte(tc.policy))+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "out", "image"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "out", "image", "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			v := guideVars()
			v.Image = "myacr.azurecr.io/uid2-operator:5.0.0"
			var script bytes.Buffer
			if err := aks.Plan(&script, v, aks.PlanOptions{EnclaveID: testEnclaveID, BuiltinManifest: true,
				PolicyFile: "cce-policy.base64", ImageLayout: "out/image"}); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bash, "-c", script.String())
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "UID2_RELEASE=" + tc.release}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				t.Fatal("the script succeeded with a failing az")
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
			calls, _ := os.ReadFile(azLog)
			if gotAz := len(calls) > 0; gotAz != tc.wantAz {
				t.Errorf("az called: %v (%q); want %v", gotAz, calls, tc.wantAz)
			}
		})
	}
}
