package aks_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

func TestPreflightGuideVarsPass(t *testing.T) {
	v := guideVars()
	// Issue 9 item 5: the guide creates the cluster with 1.36 (1.33 fails
	// with K8sVersionNotSupported); the chart is pinned to its newest release.
	if v.KubernetesVersion != "1.36" || v.VirtualNodeChartVersion != "1.3409.26080501" {
		t.Errorf("defaults: Kubernetes %s, chart %s; want the guide's 1.36 and the chart's newest 1.3409.26080501", v.KubernetesVersion, v.VirtualNodeChartVersion)
	}
	rep := aks.Preflight(v)
	if rep.Errors() != 0 {
		t.Fatalf("Preflight(guide vars) has errors: %v", rep.Findings)
	}
	// The guide's service CIDR lies inside its 10.0.0.0/8 VNet: allowed, but
	// worth a warning; and 1.36 is past the virtual-node matrix. Nothing else
	// (no chart skew: 1.3409 is the newest release).
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	if want := []string{"kubernetes-version.vn2", "cidr.service-in-vnet"}; !slices.Equal(rules, want) {
		t.Errorf("Preflight(guide vars) findings = %v; want %v", rep.Findings, want)
	}
}

// TestPreflightRules runs every rule on a failing value and on a nearby
// passing value.
func TestPreflightRules(t *testing.T) {
	tests := []struct {
		name     string
		set      func(v *aks.Vars)
		rule     string // "" means: no finding other than the baseline
		field    string
		severity aks.Severity
	}{
		{"required", func(v *aks.Vars) { v.VNetName = "" }, "required", "VNET_NAME", aks.Error},
		{"required whitespace", func(v *aks.Vars) { v.KeyVaultSecretName = "  " }, "required", "KEYVAULT_SECRET_NAME", aks.Error},

		{"rg ok with parens", func(v *aks.Vars) { v.ResourceGroup = "rg_(test).1" }, "", "", 0},
		{"rg too long", func(v *aks.Vars) { v.ResourceGroup = strings.Repeat("r", 91) }, "resource-group.length", "RESOURCE_GROUP", aks.Error},
		{"rg 90 ok", func(v *aks.Vars) { v.ResourceGroup = strings.Repeat("r", 90); v.AKSClusterName = "c" }, "node-resource-group.length", "AKS_CLUSTER_NAME", aks.Warning},
		{"rg chars", func(v *aks.Vars) { v.ResourceGroup = "my rg" }, "resource-group.chars", "RESOURCE_GROUP", aks.Error},
		{"rg trailing dot", func(v *aks.Vars) { v.ResourceGroup = "myrg." }, "resource-group.trailing-dot", "RESOURCE_GROUP", aks.Error},

		{"kv 3 ok", func(v *aks.Vars) { v.KeyVaultName = "kv1" }, "", "", 0},
		{"kv 24 ok", func(v *aks.Vars) { v.KeyVaultName = "a" + strings.Repeat("b", 23) }, "", "", 0},
		{"kv too short", func(v *aks.Vars) { v.KeyVaultName = "kv" }, "keyvault-name.length", "KEYVAULT_NAME", aks.Error},
		{"kv too long", func(v *aks.Vars) { v.KeyVaultName = "a" + strings.Repeat("b", 24) }, "keyvault-name.length", "KEYVAULT_NAME", aks.Error},
		{"kv chars", func(v *aks.Vars) { v.KeyVaultName = "my_vault" }, "keyvault-name.chars", "KEYVAULT_NAME", aks.Error},
		{"kv start digit", func(v *aks.Vars) { v.KeyVaultName = "1vault" }, "keyvault-name.start", "KEYVAULT_NAME", aks.Error},
		{"kv end hyphen", func(v *aks.Vars) { v.KeyVaultName = "vault-" }, "keyvault-name.end", "KEYVAULT_NAME", aks.Error},
		{"kv double hyphen", func(v *aks.Vars) { v.KeyVaultName = "my--vault" }, "keyvault-name.hyphens", "KEYVAULT_NAME", aks.Error},

		{"secret ok", func(v *aks.Vars) { v.KeyVaultSecretName = "Key-1" }, "", "", 0},
		{"secret chars", func(v *aks.Vars) { v.KeyVaultSecretName = "key_1" }, "keyvault-secret-name.format", "KEYVAULT_SECRET_NAME", aks.Error},
		{"secret too long", func(v *aks.Vars) { v.KeyVaultSecretName = strings.Repeat("k", 128) }, "keyvault-secret-name.format", "KEYVAULT_SECRET_NAME", aks.Error},

		{"aks ok underscore", func(v *aks.Vars) { v.AKSClusterName = "my_cluster-1" }, "", "", 0},
		{"aks ends hyphen", func(v *aks.Vars) { v.AKSClusterName = "cluster-" }, "aks-cluster-name.format", "AKS_CLUSTER_NAME", aks.Error},
		{"aks too long", func(v *aks.Vars) { v.AKSClusterName = strings.Repeat("c", 64) }, "aks-cluster-name.format", "AKS_CLUSTER_NAME", aks.Error},
		{"nodepool upper", func(v *aks.Vars) { v.NodePoolName = "OprPool" }, "nodepool-name.format", "NODEPOOL_NAME", aks.Error},
		{"nodepool too long", func(v *aks.Vars) { v.NodePoolName = "abcdefghijklm" }, "nodepool-name.format", "NODEPOOL_NAME", aks.Error},
		{"identity short", func(v *aks.Vars) { v.ManagedIdentity = "id" }, "managed-identity.format", "MANAGED_IDENTITY", aks.Error},
		{"identity ok", func(v *aks.Vars) { v.ManagedIdentity = "op_id-1" }, "", "", 0},
		{"vnet one char", func(v *aks.Vars) { v.VNetName = "v" }, "vnet-name.format", "VNET_NAME", aks.Error},
		{"vnet ends dot", func(v *aks.Vars) { v.VNetName = "vnet." }, "vnet-name.format", "VNET_NAME", aks.Error},
		{"vnet ends underscore ok", func(v *aks.Vars) { v.VNetName = "vnet_" }, "", "", 0},
		{"pip chars", func(v *aks.Vars) { v.PublicIPName = "my ip" }, "public-ip-address-name.format", "PUBLIC_IP_ADDRESS_NAME", aks.Error},
		{"nat too long", func(v *aks.Vars) { v.NATGatewayName = strings.Repeat("n", 81) }, "nat-gateway-name.format", "NAT_GATEWAY_NAME", aks.Error},

		{"env prod ok", func(v *aks.Vars) { v.DeploymentEnv = "prod" }, "", "", 0},
		{"env case", func(v *aks.Vars) { v.DeploymentEnv = "Integ" }, "deployment-env.value", "DEPLOYMENT_ENV", aks.Error},
		{"env other", func(v *aks.Vars) { v.DeploymentEnv = "test" }, "deployment-env.value", "DEPLOYMENT_ENV", aks.Error},

		{"key integ ok", func(v *aks.Vars) { v.OperatorKey = "UID2-O-I-123-secretpart" }, "", "", 0},
		{"key prod ok", func(v *aks.Vars) { v.DeploymentEnv = "prod"; v.OperatorKey = "EUID-O-P-7-secretpart" }, "", "", 0},
		{"key wrong env", func(v *aks.Vars) { v.OperatorKey = "UID2-O-P-123-secretpart" }, "operator-key.environment", "OPERATOR_KEY", aks.Error},
		{"key prod with integ key", func(v *aks.Vars) { v.DeploymentEnv = "prod"; v.OperatorKey = "UID2-O-I-123-secretpart" }, "operator-key.environment", "OPERATOR_KEY", aks.Error},
		{"key local", func(v *aks.Vars) { v.OperatorKey = "UID2-O-L-123-secretpart" }, "operator-key.local", "OPERATOR_KEY", aks.Error},
		{"key unknown format", func(v *aks.Vars) { v.OperatorKey = "opaque-secretpart" }, "operator-key.format", "OPERATOR_KEY", aks.Warning},

		{"subscription not guid", func(v *aks.Vars) { v.SubscriptionID = "my-sub" }, "subscription-id.format", "SUBSCRIPTION_ID", aks.Error},
		{"identity id ok", func(v *aks.Vars) { v.ManagedIdentityID = guideIdentityID }, "", "", 0},
		{"identity id bad", func(v *aks.Vars) { v.ManagedIdentityID = "my-vn-aks-opr-id" }, "identity-id.format", "MANAGED_IDENTITY_ID", aks.Error},
		{"identity id other name", func(v *aks.Vars) { v.ManagedIdentityID = strings.Replace(guideIdentityID, "opr-id", "other", 1) }, "identity-id.name", "MANAGED_IDENTITY_ID", aks.Warning},

		{"location display name", func(v *aks.Vars) { v.Location = "East US" }, "location.format", "LOCATION", aks.Error},
		{"location europe", func(v *aks.Vars) { v.Location = "westeurope" }, "location.europe", "LOCATION", aks.Error},
		{"location uk", func(v *aks.Vars) { v.Location = "uksouth" }, "location.europe", "LOCATION", aks.Error},
		{"location germany", func(v *aks.Vars) { v.Location = "germanywestcentral" }, "location.europe", "LOCATION", aks.Error},
		{"location china", func(v *aks.Vars) { v.Location = "chinanorth3" }, "location.china", "LOCATION", aks.Error},
		{"location eastasia", func(v *aks.Vars) { v.Location = "eastasia" }, "location.eastasia", "LOCATION", aks.Warning},
		{"location not confidential", func(v *aks.Vars) { v.Location = "brazilsouth" }, "location.confidential", "LOCATION", aks.Warning},
		{"location westus3 ok", func(v *aks.Vars) { v.Location = "westus3" }, "", "", 0},

		{"k8s patch ok", func(v *aks.Vars) { v.KubernetesVersion = "1.34.2" }, "", "", 0},
		{"k8s format", func(v *aks.Vars) { v.KubernetesVersion = "v1.34" }, "kubernetes-version.format", "KUBERNETES_VERSION", aks.Error},
		{"k8s format major only", func(v *aks.Vars) { v.KubernetesVersion = "1" }, "kubernetes-version.format", "KUBERNETES_VERSION", aks.Error},
		{"k8s newer than vn2", func(v *aks.Vars) { v.KubernetesVersion = "1.37"; v.VirtualNodeChartVersion = "1.3601.26080501" }, "kubernetes-version.vn2", "KUBERNETES_VERSION", aks.Warning},
		{"k8s 1.33 out of standard support", func(v *aks.Vars) { v.KubernetesVersion = "1.33" }, "kubernetes-version.support", "KUBERNETES_VERSION", aks.Warning},
		{"k8s 1.34 ok", func(v *aks.Vars) { v.KubernetesVersion = "1.34" }, "", "", 0},
		{"k8s 1.36 with an older chart", func(v *aks.Vars) { v.VirtualNodeChartVersion = "1.3307.26033004" }, "virtualnode-chart-version.skew", "VIRTUALNODE_CHART_VERSION", aks.Warning},
		{"chart skew", func(v *aks.Vars) { v.KubernetesVersion = "1.31" }, "virtualnode-chart-version.skew", "VIRTUALNODE_CHART_VERSION", aks.Warning},
		{"chart unpinned", func(v *aks.Vars) { v.VirtualNodeChartVersion = "" }, "virtualnode-chart-version.required", "VIRTUALNODE_CHART_VERSION", aks.Error},
		{"chart format", func(v *aks.Vars) { v.VirtualNodeChartVersion = "main" }, "virtualnode-chart-version.format", "VIRTUALNODE_CHART_VERSION", aks.Error},

		{"node count not number", func(v *aks.Vars) { v.NodeCount = "two" }, "node-count.format", "NODE_COUNT", aks.Error},
		{"node count out of range", func(v *aks.Vars) { v.NodeCount = "6" }, "node-count.range", "NODE_COUNT", aks.Error},
		{"min zero", func(v *aks.Vars) { v.MinCount = "0" }, "min-count.format", "MIN_COUNT", aks.Error},
		{"vm size", func(v *aks.Vars) { v.NodeVMSize = "D4d_v5" }, "node-vm-size.format", "NODE_VM_SIZE", aks.Error},
		{"replicas zero", func(v *aks.Vars) { v.Replicas = "0" }, "replicas.format", "REPLICAS", aks.Error},
		{"replicas two", func(v *aks.Vars) { v.Replicas = "2" }, "replicas.ha", "REPLICAS", aks.Warning},

		{"cidr format", func(v *aks.Vars) { v.AKSSubnetCIDR = "10.1.0.0" }, "cidr.format", "AKS_SUBNET_CIDR", aks.Error},
		{"cidr ipv6", func(v *aks.Vars) { v.CGSubnetCIDR = "fd00::/64" }, "cidr.format", "CG_SUBNET_CIDR", aks.Error},
		{"cidr host bits", func(v *aks.Vars) { v.AKSSubnetCIDR = "10.1.2.0/16" }, "cidr.canonical", "AKS_SUBNET_CIDR", aks.Error},
		{"subnet outside vnet", func(v *aks.Vars) { v.CGSubnetCIDR = "192.168.0.0/16" }, "cidr.outside-vnet", "CG_SUBNET_CIDR", aks.Error},
		{"subnets overlap", func(v *aks.Vars) { v.CGSubnetCIDR = "10.1.128.0/17" }, "cidr.overlap", "CG_SUBNET_CIDR", aks.Error},
		{"vn2 reserve", func(v *aks.Vars) { v.DefaultSubnetCIDR = "10.3.0.0/24"; v.AKSSubnetCIDR = "10.0.0.0/16" }, "cidr.vn2-reserved", "AKS_SUBNET_CIDR", aks.Error},
		{"default not reserve", func(v *aks.Vars) { v.DefaultSubnetCIDR = "10.3.0.0/24" }, "cidr.default-reserve", "DEFAULT_SUBNET_CIDR", aks.Warning},
		{"cg too small", func(v *aks.Vars) { v.CGSubnetCIDR = "10.2.0.0/30" }, "cidr.cg-size", "CG_SUBNET_CIDR", aks.Error},
		{"cg smaller than recommended", func(v *aks.Vars) { v.CGSubnetCIDR = "10.2.0.0/24" }, "cidr.cg-recommended", "CG_SUBNET_CIDR", aks.Warning},
		{"aks too small", func(v *aks.Vars) { v.AKSSubnetCIDR = "10.1.0.0/25" }, "cidr.aks-size", "AKS_SUBNET_CIDR", aks.Error},
		{"aks just big enough", func(v *aks.Vars) { v.AKSSubnetCIDR = "10.1.0.0/24" }, "", "", 0},
		{"service overlaps subnet", func(v *aks.Vars) { v.ServiceCIDR = "10.2.0.0/16"; v.DNSServiceIP = "10.2.0.10" }, "cidr.service-overlap", "SERVICE_CIDR", aks.Error},
		{"service reserved", func(v *aks.Vars) { v.ServiceCIDR = "172.30.0.0/16"; v.DNSServiceIP = "172.30.0.10" }, "cidr.service-reserved", "SERVICE_CIDR", aks.Error},
		{"service outside vnet ok", func(v *aks.Vars) { v.ServiceCIDR = "192.168.0.0/16"; v.DNSServiceIP = "192.168.0.10" }, "none", "", 0},
		{"dns format", func(v *aks.Vars) { v.DNSServiceIP = "10.4.0" }, "dns-service-ip.format", "DNS_SERVICE_IP", aks.Error},
		{"dns outside", func(v *aks.Vars) { v.DNSServiceIP = "10.5.0.10" }, "dns-service-ip.outside", "DNS_SERVICE_IP", aks.Error},
		{"dns network", func(v *aks.Vars) { v.DNSServiceIP = "10.4.0.0" }, "dns-service-ip.network", "DNS_SERVICE_IP", aks.Error},
		{"dns first", func(v *aks.Vars) { v.DNSServiceIP = "10.4.0.1" }, "dns-service-ip.first", "DNS_SERVICE_IP", aks.Error},

		{"image ok", func(v *aks.Vars) { v.Image = "ghcr.io/example/uid2-operator:1.2.3" }, "", "", 0},
		{"image bad", func(v *aks.Vars) { v.Image = "ghcr.io/Example/op:1 # x" }, "image.format", "IMAGE", aks.Error},
		{"image latest", func(v *aks.Vars) { v.Image = "ghcr.io/example/uid2-operator:latest" }, "image.mutable", "IMAGE", aks.Warning},
		{"policy not base64", func(v *aks.Vars) { v.CCEPolicy = "package policy" }, "cce-policy.base64", "CCE_POLICY", aks.Error},
	}
	baseline := map[string]bool{} // the guide's own warnings
	for _, f := range aks.Preflight(guideVars()).Findings {
		baseline[f.Rule] = true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := guideVars()
			tt.set(&v)
			var got []aks.Finding
			for _, f := range aks.Preflight(v).Findings {
				if f.Rule == tt.rule || !baseline[f.Rule] {
					got = append(got, f)
				}
			}
			switch tt.rule {
			case "", "none":
				if len(got) != 0 {
					t.Fatalf("Preflight = %v; want no finding", got)
				}
				return
			}
			for _, f := range got {
				if f.Rule == tt.rule {
					if f.Field != tt.field || f.Severity != tt.severity {
						t.Errorf("finding %s = %s on %s; want %s on %s", f.Rule, f.Severity, f.Field, tt.severity, tt.field)
					}
					if f.Problem == "" || f.Fix == "" {
						t.Errorf("finding %s has no problem or fix: %+v", f.Rule, f)
					}
					return
				}
			}
			t.Fatalf("Preflight = %v; want rule %s", got, tt.rule)
		})
	}
}

func TestPreflightNeverPrintsTheKey(t *testing.T) {
	v := guideVars()
	v.OperatorKey = "UID2-O-P-123-verysecretvalue"
	rep := aks.Preflight(v)
	err := rep.Err()
	var ce *aks.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Preflight(prod key on integ).Err() = %v; want *CheckError", err)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.String(), "verysecretvalue") {
			t.Errorf("finding prints the key: %s", f)
		}
	}
	if strings.Contains(err.Error(), "verysecretvalue") {
		t.Errorf("error prints the key: %v", err)
	}
}

func TestRenderChecksNeedIdentity(t *testing.T) {
	v := aks.Default()
	v.KeyVaultName, v.KeyVaultSecretName = "vault1", "secret1"
	rep := aks.RenderChecks(v)
	if rep.Errors() != 1 || rep.Findings[0].Rule != "identity.missing" {
		t.Fatalf("RenderChecks(no identity) = %v; want identity.missing", rep.Findings)
	}
	v.ManagedIdentityID = guideIdentityID
	if rep := aks.RenderChecks(v); rep.Errors() != 0 {
		t.Fatalf("RenderChecks(identity id) = %v; want none", rep.Findings)
	}
}

const guideIdentityID = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/my-vn-aks/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-vn-aks-opr-id"
