// Package aks is the AKS deployment toolkit behind `uid2-operator aks`: the
// preflight rules, the provisioning plan, manifest rendering with the enclave
// id, and the health probe (azure-aks.md §4–§7). Everything here is a pure
// function of its inputs; az and kubectl calls go through Runner.
package aks

import (
	"fmt"
	"strings"
)

// Vars are the integration guide's variables plus the values the guide
// hard-codes (CIDRs, Kubernetes version, node sizes). The zero value is not
// useful; start from Default(). All fields are strings so that preflight can
// report a bad number with the variable's name instead of failing to parse.
type Vars struct {
	ResourceGroup      string
	Location           string
	VNetName           string
	PublicIPName       string
	NATGatewayName     string
	AKSClusterName     string
	KeyVaultName       string
	KeyVaultSecretName string
	ManagedIdentity    string
	// ManagedIdentityID is the full ARM id of the user-assigned identity.
	// When empty it is derived from SubscriptionID, ResourceGroup and
	// ManagedIdentity (see IdentityID).
	ManagedIdentityID string
	SubscriptionID    string
	DeploymentEnv     string
	// OperatorKey is optional and secret: preflight checks its environment
	// letter and never prints it; plan never writes it into the script.
	OperatorKey string

	KubernetesVersion       string
	VirtualNodeChartVersion string
	NodePoolName            string
	NodeVMSize              string
	NodeCount               string
	MinCount                string
	MaxCount                string
	Replicas                string

	VNetCIDR          string
	DefaultSubnetCIDR string
	AKSSubnetCIDR     string
	CGSubnetCIDR      string
	ServiceCIDR       string
	DNSServiceIP      string

	// Image and CCEPolicy fill IMAGE_PLACEHOLDER and CCE_POLICY_PLACEHOLDER
	// when the manifest still has them (the release ZIP has them filled).
	Image     string
	CCEPolicy string
}

// Defaults used by Default. They are the guide's values except where the
// guide is known to fail (azure-aks.md §7).
const (
	// DefaultKubernetesVersion is the version UID2's AKS guide creates the
	// cluster with (operator-guide-aks-enclave.md: --kubernetes-version 1.36;
	// its earlier 1.33 now fails with K8sVersionNotSupported).
	DefaultKubernetesVersion = "1.36"
	// guideKubernetesMinor is DefaultKubernetesVersion's minor.
	guideKubernetesMinor = 36
	// DefaultVirtualNodeChartVersion pins the VN2 chart (tag virtualnode-<v>)
	// to its newest release, the one the guide's unpinned HEAD installs. It
	// carries Kubernetes 1.34 binaries: no 1.36 release exists yet. Move it
	// with the chart's releases (Helm/virtualnode/Chart.yaml, PatchNotes.md).
	DefaultVirtualNodeChartVersion = "1.3409.26080501"
	DefaultNodePoolName            = "oprnodepool"
	DefaultNodeVMSize              = "Standard_D4d_v5"
	DefaultVNetCIDR                = "10.0.0.0/8"
	DefaultSubnetCIDR              = "10.0.0.0/24"
	DefaultAKSSubnetCIDR           = "10.1.0.0/16"
	DefaultCGSubnetCIDR            = "10.2.0.0/16"
	DefaultServiceCIDR             = "10.4.0.0/16"
	DefaultDNSServiceIP            = "10.4.0.10"
)

// Default returns Vars with every default filled and every guide-specific
// name empty.
func Default() Vars {
	return Vars{
		DeploymentEnv:           "integ",
		KubernetesVersion:       DefaultKubernetesVersion,
		VirtualNodeChartVersion: DefaultVirtualNodeChartVersion,
		NodePoolName:            DefaultNodePoolName,
		NodeVMSize:              DefaultNodeVMSize,
		NodeCount:               "2",
		MinCount:                "2",
		MaxCount:                "5",
		Replicas:                "3",
		VNetCIDR:                DefaultVNetCIDR,
		DefaultSubnetCIDR:       DefaultSubnetCIDR,
		AKSSubnetCIDR:           DefaultAKSSubnetCIDR,
		CGSubnetCIDR:            DefaultCGSubnetCIDR,
		ServiceCIDR:             DefaultServiceCIDR,
		DNSServiceIP:            DefaultDNSServiceIP,
	}
}

// Field describes one variable: its environment name (the guide's), its
// flag name and what it is for. The cli layer registers one flag per Field
// and overlays the environment.
type Field struct {
	Env    string // RESOURCE_GROUP
	Flag   string // resource-group
	Usage  string
	Secret bool // never printed
	ptr    func(*Vars) *string
}

// Get returns the field's value in v.
func (f Field) Get(v *Vars) string { return *f.ptr(v) }

// Set stores value in v.
func (f Field) Set(v *Vars, value string) { *f.ptr(v) = value }

// Fields lists every variable, in the order the guide introduces them.
func Fields() []Field { return fields }

var fields = []Field{
	{"RESOURCE_GROUP", "resource-group", "resource group for every resource", false, func(v *Vars) *string { return &v.ResourceGroup }},
	{"LOCATION", "location", "Azure region, programmatic name (eastus); not Europe or China", false, func(v *Vars) *string { return &v.Location }},
	{"VNET_NAME", "vnet-name", "virtual network name", false, func(v *Vars) *string { return &v.VNetName }},
	{"PUBLIC_IP_ADDRESS_NAME", "public-ip-address-name", "public IP of the NAT gateway", false, func(v *Vars) *string { return &v.PublicIPName }},
	{"NAT_GATEWAY_NAME", "nat-gateway-name", "NAT gateway for the cg subnet", false, func(v *Vars) *string { return &v.NATGatewayName }},
	{"AKS_CLUSTER_NAME", "aks-cluster-name", "AKS cluster name", false, func(v *Vars) *string { return &v.AKSClusterName }},
	{"KEYVAULT_NAME", "keyvault-name", "Key Vault name (globally unique)", false, func(v *Vars) *string { return &v.KeyVaultName }},
	{"KEYVAULT_SECRET_NAME", "keyvault-secret-name", "name of the secret holding the operator key", false, func(v *Vars) *string { return &v.KeyVaultSecretName }},
	{"MANAGED_IDENTITY", "managed-identity", "user-assigned managed identity name", false, func(v *Vars) *string { return &v.ManagedIdentity }},
	{"MANAGED_IDENTITY_ID", "managed-identity-id", "full ARM id of the identity (default: derived from SUBSCRIPTION_ID, RESOURCE_GROUP, MANAGED_IDENTITY)", false, func(v *Vars) *string { return &v.ManagedIdentityID }},
	{"SUBSCRIPTION_ID", "subscription-id", "subscription GUID (plan's default: the output of 'az account show')", false, func(v *Vars) *string { return &v.SubscriptionID }},
	{"DEPLOYMENT_ENV", "deployment-env", "integ or prod", false, func(v *Vars) *string { return &v.DeploymentEnv }},
	{"OPERATOR_KEY", "operator-key", "operator key (optional; only its environment letter is checked)", true, func(v *Vars) *string { return &v.OperatorKey }},
	{"KUBERNETES_VERSION", "kubernetes-version", "AKS Kubernetes version, MAJOR.MINOR[.PATCH]", false, func(v *Vars) *string { return &v.KubernetesVersion }},
	{"VIRTUALNODE_CHART_VERSION", "virtualnode-chart-version", "virtual-node Helm chart version (git tag virtualnode-<v>)", false, func(v *Vars) *string { return &v.VirtualNodeChartVersion }},
	{"NODEPOOL_NAME", "nodepool-name", "AKS system node pool name", false, func(v *Vars) *string { return &v.NodePoolName }},
	{"NODE_VM_SIZE", "node-vm-size", "AKS node VM size (at least 4 vCPU / 16 GB)", false, func(v *Vars) *string { return &v.NodeVMSize }},
	{"NODE_COUNT", "node-count", "initial AKS node count", false, func(v *Vars) *string { return &v.NodeCount }},
	{"MIN_COUNT", "min-count", "autoscaler minimum node count", false, func(v *Vars) *string { return &v.MinCount }},
	{"MAX_COUNT", "max-count", "autoscaler maximum node count", false, func(v *Vars) *string { return &v.MaxCount }},
	{"REPLICAS", "replicas", "operator pods (the manifest has 3)", false, func(v *Vars) *string { return &v.Replicas }},
	{"VNET_CIDR", "vnet-cidr", "VNet address space", false, func(v *Vars) *string { return &v.VNetCIDR }},
	{"DEFAULT_SUBNET_CIDR", "default-subnet-cidr", "subnet 'default' (must hold 10.0.0.0/24, reserved by virtual nodes)", false, func(v *Vars) *string { return &v.DefaultSubnetCIDR }},
	{"AKS_SUBNET_CIDR", "aks-subnet-cidr", "subnet 'aks' for the AKS nodes", false, func(v *Vars) *string { return &v.AKSSubnetCIDR }},
	{"CG_SUBNET_CIDR", "cg-subnet-cidr", "subnet 'cg' for the confidential container groups", false, func(v *Vars) *string { return &v.CGSubnetCIDR }},
	{"SERVICE_CIDR", "service-cidr", "Kubernetes service CIDR (outside every subnet)", false, func(v *Vars) *string { return &v.ServiceCIDR }},
	{"DNS_SERVICE_IP", "dns-service-ip", "cluster DNS IP inside SERVICE_CIDR", false, func(v *Vars) *string { return &v.DNSServiceIP }},
	{"IMAGE", "image", "operator image; fills IMAGE_PLACEHOLDER", false, func(v *Vars) *string { return &v.Image }},
	{"CCE_POLICY", "cce-policy", "base64 CCE policy; fills CCE_POLICY_PLACEHOLDER (see --cce-policy-file)", false, func(v *Vars) *string { return &v.CCEPolicy }},
}

// FieldByEnv returns the field whose environment name is env.
func FieldByEnv(env string) (Field, bool) {
	for _, f := range fields {
		if f.Env == env {
			return f, true
		}
	}
	return Field{}, false
}

// IdentityID returns ManagedIdentityID, or the ARM id derived from the
// subscription, resource group and identity name, the same string
// `az identity show --query id` prints. It returns "" when neither is known.
func (v *Vars) IdentityID() string {
	if v.ManagedIdentityID != "" {
		return v.ManagedIdentityID
	}
	if v.SubscriptionID == "" || v.ResourceGroup == "" || v.ManagedIdentity == "" {
		return ""
	}
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s",
		v.SubscriptionID, v.ResourceGroup, v.ManagedIdentity)
}

// GuessNodeResourceGroup is the guide's MC_{rg}_{cluster}_{location}. It is
// used only for length warnings: plan reads the real name from az aks show.
func (v *Vars) GuessNodeResourceGroup() string {
	return "MC_" + v.ResourceGroup + "_" + v.AKSClusterName + "_" + strings.ToLower(v.Location)
}
