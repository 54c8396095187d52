package aks_test

import (
	"bytes"
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
			v, opts := guideVars(), aks.PlanOptions{}
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
	if err := aks.Plan(&buf, v, aks.PlanOptions{}); err != nil {
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
	if err := aks.Plan(&bytes.Buffer{}, v, aks.PlanOptions{}); !errors.As(err, &ce) {
		t.Fatalf("Plan(northeurope) = %v; want *CheckError", err)
	}
}

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
	if err := aks.Plan(&buf, v, aks.PlanOptions{}); err != nil {
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
