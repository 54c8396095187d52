package aks

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Severity says whether a Finding stops the deployment.
type Severity int

const (
	// Error findings make preflight fail (exit code 1); plan and render
	// refuse to run.
	Error Severity = iota
	// Warning findings are printed but do not fail.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Finding is one failed rule: the variable, what is wrong and how to fix it.
type Finding struct {
	Severity Severity
	Rule     string // stable id, e.g. "keyvault-name.hyphens"
	Field    string // the variable's environment name, e.g. KEYVAULT_NAME
	Value    string // the value as given; "[redacted]" for secrets
	Problem  string
	Fix      string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s=%q: %s; fix: %s", f.Severity, f.Field, f.Value, f.Problem, f.Fix)
}

// Report is the result of a set of rules.
type Report struct {
	Findings []Finding
}

// Errors returns the number of Error findings.
func (r Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

// Err returns a *CheckError when the report has errors, else nil.
func (r Report) Err() error {
	if n := r.Errors(); n > 0 {
		return &CheckError{Report: r}
	}
	return nil
}

// CheckError is returned by plan and render when their inputs fail a rule.
type CheckError struct {
	Report Report
}

func (e *CheckError) Error() string {
	var first Finding
	for _, f := range e.Report.Findings {
		if f.Severity == Error {
			first = f
			break
		}
	}
	n := e.Report.Errors()
	if n == 1 {
		return "invalid input: " + first.String()
	}
	return fmt.Sprintf("invalid input: %s (and %d more errors)", first.String(), n-1)
}

func (r *Report) add(sev Severity, rule, field, value, problem, fix string) {
	if f, ok := FieldByEnv(field); ok && f.Secret {
		value = "[redacted]"
	}
	r.Findings = append(r.Findings, Finding{Severity: sev, Rule: rule, Field: field, Value: value, Problem: problem, Fix: fix})
}

func (r *Report) errorf(rule, field, value, problem, fix string) {
	r.add(Error, rule, field, value, problem, fix)
}

func (r *Report) warnf(rule, field, value, problem, fix string) {
	r.add(Warning, rule, field, value, problem, fix)
}

// planFields are the variables plan needs (the guide's list).
var planFields = []string{
	"RESOURCE_GROUP", "LOCATION", "VNET_NAME", "PUBLIC_IP_ADDRESS_NAME", "NAT_GATEWAY_NAME",
	"AKS_CLUSTER_NAME", "KEYVAULT_NAME", "KEYVAULT_SECRET_NAME", "MANAGED_IDENTITY", "DEPLOYMENT_ENV",
}

// Preflight runs every rule of azure-aks.md §5.2–§5.5 that needs no Azure
// call: names, region, CIDRs, Kubernetes and chart versions, counts and the
// operator key's environment letter. It never calls az; plan adds the
// checks that do (name availability, soft-deleted vaults, offered versions).
func Preflight(v Vars) Report {
	var r Report
	r.required(v, planFields...)
	r.checkNames(v)
	r.checkDeploymentEnv(v.DeploymentEnv)
	r.checkOperatorKey(v.OperatorKey, v.DeploymentEnv)
	r.checkIdentity(v)
	r.checkLocation(v.Location)
	r.checkVersions(v.KubernetesVersion, v.VirtualNodeChartVersion)
	replicas := r.checkCounts(v)
	r.checkNetwork(v, replicas)
	r.checkImage(v.Image)
	r.checkPolicy(v.CCEPolicy)
	return r
}

// RenderChecks runs the rules for the values render writes into the
// manifest.
func RenderChecks(v Vars) Report {
	var r Report
	r.required(v, "KEYVAULT_NAME", "KEYVAULT_SECRET_NAME", "DEPLOYMENT_ENV")
	if v.IdentityID() == "" {
		r.errorf("identity.missing", "MANAGED_IDENTITY_ID", "", "is not set and cannot be derived",
			"set MANAGED_IDENTITY_ID to the output of `az identity show --query id -o tsv`, or set SUBSCRIPTION_ID, RESOURCE_GROUP and MANAGED_IDENTITY")
	}
	r.checkKeyVaultName(v.KeyVaultName)
	r.checkSecretName(v.KeyVaultSecretName)
	r.checkDeploymentEnv(v.DeploymentEnv)
	r.checkOperatorKey(v.OperatorKey, v.DeploymentEnv)
	r.checkIdentity(v)
	r.checkImage(v.Image)
	r.checkPolicy(v.CCEPolicy)
	return r
}

func (r *Report) required(v Vars, envs ...string) {
	for _, env := range envs {
		f, _ := FieldByEnv(env)
		if strings.TrimSpace(f.Get(&v)) == "" {
			r.errorf("required", env, "", "is not set",
				fmt.Sprintf("export %s=... (as in the integration guide) or pass --%s", env, f.Flag))
		}
	}
}

var (
	reResourceGroupChars = regexp.MustCompile(`^[-\w.()\p{L}]+$`)
	reAKSName            = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
	reNodePool           = regexp.MustCompile(`^[a-z][0-9a-z]{0,11}$`)
	reIdentityName       = regexp.MustCompile(`^[0-9a-zA-Z][-_0-9a-zA-Z]{2,127}$`)
	reSecretName         = regexp.MustCompile(`^[-a-zA-Z0-9]{1,127}$`)
	reNetName            = regexp.MustCompile(`^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[_a-zA-Z0-9])?$`)
	reGUID               = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reIdentityID         = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/([^/]+)$`)
	reOperatorKey        = regexp.MustCompile(`^(UID2|EUID)-.-(I|P|L)-\d+-.*$`)
	reK8sVersion         = regexp.MustCompile(`^1\.(\d+)(\.\d+)?$`)
	reChartVersion       = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	reChartK8s           = regexp.MustCompile(`^1\.(\d\d)(\d\d)\.\d+$`)
	reVMSize             = regexp.MustCompile(`^Standard_[A-Za-z0-9_]+$`)
	reImage              = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
)

func (r *Report) checkNames(v Vars) {
	if rg := v.ResourceGroup; rg != "" {
		switch {
		case len(rg) > 90:
			r.errorf("resource-group.length", "RESOURCE_GROUP", rg, fmt.Sprintf("is %d characters; the limit is 90", len(rg)), "use a shorter name")
		case !reResourceGroupChars.MatchString(rg):
			r.errorf("resource-group.chars", "RESOURCE_GROUP", rg, "may hold only letters, digits, '_', '-', '.', '(' and ')'", "remove the other characters")
		case strings.HasSuffix(rg, "."):
			r.errorf("resource-group.trailing-dot", "RESOURCE_GROUP", rg, "must not end with '.'", "drop the trailing '.'")
		}
	}
	r.checkKeyVaultName(v.KeyVaultName)
	r.checkSecretName(v.KeyVaultSecretName)
	if n := v.AKSClusterName; n != "" && (len(n) > 63 || !reAKSName.MatchString(n)) {
		r.errorf("aks-cluster-name.format", "AKS_CLUSTER_NAME", n,
			"must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit", "e.g. myvncluster")
	}
	if n := v.NodePoolName; n != "" && !reNodePool.MatchString(n) {
		r.errorf("nodepool-name.format", "NODEPOOL_NAME", n, "must be 1-12 lowercase letters or digits, starting with a letter", "e.g. oprnodepool")
	}
	if n := v.ManagedIdentity; n != "" && !reIdentityName.MatchString(n) {
		r.errorf("managed-identity.format", "MANAGED_IDENTITY", n,
			"must be 3-128 letters, digits, '-' or '_', starting with a letter or digit", "e.g. my-vn-aks-opr-id")
	}
	netName := func(env, value string, minLen, maxLen int) {
		if value == "" {
			return
		}
		if len(value) < minLen || len(value) > maxLen || !reNetName.MatchString(value) {
			r.errorf(strings.ToLower(strings.ReplaceAll(env, "_", "-"))+".format", env, value,
				fmt.Sprintf("must be %d-%d letters, digits, '_', '.' or '-', starting with a letter or digit and ending with a letter, digit or '_'", minLen, maxLen),
				"e.g. "+map[string]string{"VNET_NAME": "my-vnet", "PUBLIC_IP_ADDRESS_NAME": "my-public-ip", "NAT_GATEWAY_NAME": "my-nat-gateway"}[env])
		}
	}
	netName("VNET_NAME", v.VNetName, 2, 64)
	netName("PUBLIC_IP_ADDRESS_NAME", v.PublicIPName, 1, 80)
	netName("NAT_GATEWAY_NAME", v.NATGatewayName, 1, 80)
	if v.ResourceGroup != "" && v.AKSClusterName != "" && v.Location != "" {
		if mc := v.GuessNodeResourceGroup(); len(mc) > 80 {
			r.warnf("node-resource-group.length", "AKS_CLUSTER_NAME", v.AKSClusterName,
				fmt.Sprintf("the node resource group %q would be %d characters; Azure's limit is 80", mc, len(mc)),
				"shorten RESOURCE_GROUP or AKS_CLUSTER_NAME (plan reads the real name from `az aks show`)")
		}
	}
}

// checkKeyVaultName applies the vault rules: 3-24 characters, letters,
// digits and '-', a letter first, a letter or digit last, no "--". Vault
// names are global DNS names (*.vault.azure.net).
func (r *Report) checkKeyVaultName(n string) {
	if n == "" {
		return
	}
	const f = "KEYVAULT_NAME"
	switch {
	case len(n) < 3 || len(n) > 24:
		r.errorf("keyvault-name.length", f, n, fmt.Sprintf("is %d characters; Key Vault names are 3-24 characters", len(n)),
			"choose a name of 3-24 characters (it is global: *.vault.azure.net)")
	case strings.IndexFunc(n, func(c rune) bool { return !isAlnum(c) && c != '-' }) >= 0:
		r.errorf("keyvault-name.chars", f, n, "may hold only letters, digits and '-'", "remove the other characters")
	case !isLetter(rune(n[0])):
		r.errorf("keyvault-name.start", f, n, "must start with a letter", "put a letter first")
	case !isAlnum(rune(n[len(n)-1])):
		r.errorf("keyvault-name.end", f, n, "must end with a letter or digit", "drop the trailing '-'")
	case strings.Contains(n, "--"):
		r.errorf("keyvault-name.hyphens", f, n, "must not contain consecutive hyphens", "use single hyphens: "+collapseHyphens(n))
	}
}

func (r *Report) checkSecretName(n string) {
	if n != "" && !reSecretName.MatchString(n) {
		r.errorf("keyvault-secret-name.format", "KEYVAULT_SECRET_NAME", n, "must be 1-127 letters, digits or '-'", "e.g. my-vn-aks-opr-key-name")
	}
}

func (r *Report) checkDeploymentEnv(env string) {
	if env == "" || env == "integ" || env == "prod" {
		return
	}
	fix := "use integ or prod"
	if l := strings.ToLower(strings.TrimSpace(env)); l == "integ" || l == "prod" {
		fix = "use " + l + " (lowercase; the operator compares it exactly)"
	}
	r.errorf("deployment-env.value", "DEPLOYMENT_ENV", env, "must be exactly integ or prod", fix)
}

// checkOperatorKey mirrors the operator's start-up check (E05): a key that
// looks like an operator key must carry I for integ and P for prod.
func (r *Report) checkOperatorKey(key, env string) {
	if key == "" {
		return
	}
	m := reOperatorKey.FindStringSubmatch(key)
	if m == nil {
		r.warnf("operator-key.format", "OPERATOR_KEY", key, "does not look like an operator key (UID2-x-I-123-...); its environment cannot be checked",
			"check that you pasted the whole key UID2 sent you")
		return
	}
	letter := m[2]
	if letter == "L" {
		r.errorf("operator-key.local", "OPERATOR_KEY", key, "is a local-mode key (L); it never attests against Core", "use the integ (I) or prod (P) key UID2 sent you")
		return
	}
	want := map[string]string{"integ": "I", "prod": "P"}[env]
	if want != "" && letter != want {
		r.errorf("operator-key.environment", "OPERATOR_KEY", key,
			fmt.Sprintf("is a key for environment %s but DEPLOYMENT_ENV is %s (the operator stops with E05)", letter, env),
			fmt.Sprintf("use the %s key (…-%s-…) or set DEPLOYMENT_ENV to match the key", env, want))
	}
}

func (r *Report) checkIdentity(v Vars) {
	if v.SubscriptionID != "" && !reGUID.MatchString(v.SubscriptionID) {
		r.errorf("subscription-id.format", "SUBSCRIPTION_ID", v.SubscriptionID, "is not a GUID", "use `az account show --query id -o tsv`")
	}
	if id := v.ManagedIdentityID; id != "" {
		m := reIdentityID.FindStringSubmatch(id)
		if m == nil {
			r.errorf("identity-id.format", "MANAGED_IDENTITY_ID", id,
				"is not the ARM id of a user-assigned identity (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>)",
				"use `az identity show --name $MANAGED_IDENTITY --resource-group $RESOURCE_GROUP --query id -o tsv`")
		} else if v.ManagedIdentity != "" && !strings.EqualFold(m[1], v.ManagedIdentity) {
			r.warnf("identity-id.name", "MANAGED_IDENTITY_ID", id,
				fmt.Sprintf("names identity %q but MANAGED_IDENTITY is %q", m[1], v.ManagedIdentity),
				"make them agree, or unset MANAGED_IDENTITY_ID to derive it")
		}
	}
}

// Regions where UID2 does not support the AKS private operator (Europe and
// China, azure-aks.md §5.3), and the regions where virtual nodes offer
// confidential containers (VN2 README, minus Europe, plus westus3 where
// UID2's own AKS E2E runs).
var (
	europeRegions = []string{
		"northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth",
		"germanywestcentral", "germanynorth", "germanycentral", "germanynortheast",
		"switzerlandnorth", "switzerlandwest", "norwayeast", "norwaywest", "swedencentral",
		"swedensouth", "polandcentral", "italynorth", "spaincentral", "austriaeast",
		"belgiumcentral", "denmarkeast",
	}
	chinaRegions = []string{
		"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3",
	}
	confidentialRegions = []string{
		"centralindia", "eastasia", "eastus", "eastus2", "japaneast", "southeastasia",
		"southcentralus", "uaenorth", "westus", "westus2", "westus3",
	}
)

func (r *Report) checkLocation(loc string) {
	if loc == "" {
		return
	}
	const f = "LOCATION"
	norm := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	if loc != norm {
		r.errorf("location.format", f, loc, "is not a programmatic region name",
			fmt.Sprintf("use %q (the Name column of `az account list-locations -o table`)", norm))
	}
	switch {
	case slices.Contains(europeRegions, norm) || strings.Contains(norm, "europe"):
		r.errorf("location.europe", f, loc, "is in Europe, where the UID2 Private Operator for AKS is not supported",
			"choose a region outside Europe and China, e.g. eastus")
	case slices.Contains(chinaRegions, norm) || strings.HasPrefix(norm, "china"):
		r.errorf("location.china", f, loc, "is in China, where the UID2 Private Operator for AKS is not supported",
			"choose a region outside Europe and China, e.g. eastus")
	case norm == "eastasia":
		r.warnf("location.eastasia", f, loc, "is Hong Kong; whether UID2 counts it as China is not confirmed", "confirm with your UID2 contact")
	case !slices.Contains(confidentialRegions, norm):
		r.warnf("location.confidential", f, loc, "is not in the virtual-node confidential-container region list",
			"check ACI confidential-container availability for the region, or use one of "+strings.Join(confidentialRegions, ", "))
	}
}

// newestVerifiedMinor is the newest AKS minor the virtual-node compatibility
// matrix verifies (VN2 Docs/VersionCompatibility.md).
const newestVerifiedMinor = 34

// supportedMinors is how many AKS minors stay in standard support (about
// three: 1.33 fails with K8sVersionNotSupported once the guide is at 1.36).
const supportedMinors = 3

func (r *Report) checkVersions(k8s, chart string) {
	aksMinor := -1
	if k8s != "" {
		m := reK8sVersion.FindStringSubmatch(k8s)
		if m == nil {
			r.errorf("kubernetes-version.format", "KUBERNETES_VERSION", k8s, "must be MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. "+DefaultKubernetesVersion,
				"use a version listed by `az aks get-versions --location $LOCATION -o table`")
		} else {
			aksMinor, _ = strconv.Atoi(m[1])
			switch {
			case aksMinor <= guideKubernetesMinor-supportedMinors:
				r.warnf("kubernetes-version.support", "KUBERNETES_VERSION", k8s,
					fmt.Sprintf("is older than the integration guide's %s; AKS creates clusters only with the minors in standard support (about the newest %d) and fails with K8sVersionNotSupported otherwise",
						DefaultKubernetesVersion, supportedMinors),
					fmt.Sprintf("use %s, or enable Long-Term Support; `az aks get-versions --location $LOCATION -o table` lists what your region offers", DefaultKubernetesVersion))
			case aksMinor > newestVerifiedMinor:
				r.warnf("kubernetes-version.vn2", "KUBERNETES_VERSION", k8s,
					fmt.Sprintf("is newer than AKS 1.%d, the newest version the virtual-node compatibility matrix verifies (the integration guide uses %s with the chart's newest release)", newestVerifiedMinor, DefaultKubernetesVersion),
					fmt.Sprintf("keep VIRTUALNODE_CHART_VERSION at the chart's newest release (%s or later); use 1.%d if virtual-node pods misbehave", DefaultVirtualNodeChartVersion, newestVerifiedMinor))
			}
		}
	}
	if chart == "" {
		r.errorf("virtualnode-chart-version.required", "VIRTUALNODE_CHART_VERSION", chart, "is empty; the chart must be pinned",
			"use "+DefaultVirtualNodeChartVersion)
		return
	}
	if !reChartVersion.MatchString(chart) {
		r.errorf("virtualnode-chart-version.format", "VIRTUALNODE_CHART_VERSION", chart, "is not a chart version (MAJOR.MINOR.PATCH)",
			"use a version from the chart's releases, e.g. "+DefaultVirtualNodeChartVersion)
		return
	}
	if m := reChartK8s.FindStringSubmatch(chart); m != nil && aksMinor >= 0 {
		chartMinor, _ := strconv.Atoi(m[1])
		// A chart behind the cluster is a skew only when a release closer
		// to it is verified; past the matrix the newest release is the
		// best there is (the vn2 warning above says so).
		behind := aksMinor > chartMinor && chartMinor < min(aksMinor, newestVerifiedMinor)
		ahead := aksMinor < chartMinor-1
		if behind || ahead {
			want := min(aksMinor, newestVerifiedMinor)
			r.warnf("virtualnode-chart-version.skew", "VIRTUALNODE_CHART_VERSION", chart,
				fmt.Sprintf("carries Kubernetes 1.%d binaries but the cluster runs 1.%d", chartMinor, aksMinor),
				fmt.Sprintf("pick a chart release for 1.%d (its version starts with 1.%d)", want, want))
		}
	}
}

// checkCounts validates the numeric variables and returns REPLICAS (0 when
// invalid).
func (r *Report) checkCounts(v Vars) int {
	num := func(env, value string, min int) (int, bool) {
		n, err := strconv.Atoi(value)
		if err != nil || n < min {
			r.errorf(strings.ToLower(strings.ReplaceAll(env, "_", "-"))+".format", env, value,
				fmt.Sprintf("must be a whole number, at least %d", min), "e.g. "+map[bool]string{true: "3", false: "2"}[env == "REPLICAS"])
			return 0, false
		}
		return n, true
	}
	nodes, ok1 := num("NODE_COUNT", v.NodeCount, 1)
	minN, ok2 := num("MIN_COUNT", v.MinCount, 1)
	maxN, ok3 := num("MAX_COUNT", v.MaxCount, 1)
	if ok1 && ok2 && ok3 && (minN > nodes || nodes > maxN) {
		r.errorf("node-count.range", "NODE_COUNT", v.NodeCount,
			fmt.Sprintf("must lie between MIN_COUNT (%d) and MAX_COUNT (%d)", minN, maxN), "raise MAX_COUNT or lower NODE_COUNT/MIN_COUNT")
	}
	if v.NodeVMSize != "" && !reVMSize.MatchString(v.NodeVMSize) {
		r.errorf("node-vm-size.format", "NODE_VM_SIZE", v.NodeVMSize, "is not an Azure VM size name", "e.g. "+DefaultNodeVMSize+" (at least 4 vCPU and 16 GB for the virtual node)")
	}
	replicas, ok := num("REPLICAS", v.Replicas, 1)
	if ok && replicas < 3 {
		r.warnf("replicas.ha", "REPLICAS", v.Replicas,
			"is below 3; the PodDisruptionBudget keeps 2 pods available, so fewer than 3 blocks voluntary evictions or leaves no redundancy",
			"use 3 or more")
	}
	return replicas
}

// vn2Reserved is the range virtual nodes reserve; only the subnet named
// default may hold it (VN2 README, step 2).
var vn2Reserved = netip.MustParsePrefix("10.0.0.0/24")

// aksReservedServiceRanges cannot be used as the service CIDR.
var aksReservedServiceRanges = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.30.0.0/16"),
	netip.MustParsePrefix("172.31.0.0/16"),
	netip.MustParsePrefix("192.0.2.0/24"),
}

const (
	azureReservedPerSubnet = 5  // addresses Azure keeps in every subnet
	aksMaxPodsPerNode      = 30 // Azure CNI node-subnet default
	maxSurge               = 1  // the manifest's rollingUpdate.maxSurge
)

func (r *Report) checkNetwork(v Vars, replicas int) {
	prefix := func(env, value string) (netip.Prefix, bool) {
		if value == "" {
			r.errorf("cidr.required", env, value, "is empty", "set a CIDR such as the guide's")
			return netip.Prefix{}, false
		}
		p, err := netip.ParsePrefix(value)
		if err != nil || !p.Addr().Is4() {
			r.errorf("cidr.format", env, value, "is not an IPv4 CIDR", "e.g. 10.1.0.0/16")
			return netip.Prefix{}, false
		}
		if p.Masked() != p {
			r.errorf("cidr.canonical", env, value, "has host bits set; Azure rejects it", "use "+p.Masked().String())
			return netip.Prefix{}, false
		}
		return p, true
	}
	type subnet struct {
		env, name string
		p         netip.Prefix
	}
	vnet, vnetOK := prefix("VNET_CIDR", v.VNetCIDR)
	var subnets []subnet
	for _, s := range []struct{ env, name, value string }{
		{"DEFAULT_SUBNET_CIDR", "default", v.DefaultSubnetCIDR},
		{"AKS_SUBNET_CIDR", "aks", v.AKSSubnetCIDR},
		{"CG_SUBNET_CIDR", "cg", v.CGSubnetCIDR},
	} {
		if p, ok := prefix(s.env, s.value); ok {
			subnets = append(subnets, subnet{s.env, s.name, p})
		}
	}
	for i, s := range subnets {
		if vnetOK && !contains(vnet, s.p) {
			r.errorf("cidr.outside-vnet", s.env, s.p.String(), fmt.Sprintf("subnet %s is not inside VNET_CIDR %s", s.name, vnet),
				"choose a range inside "+vnet.String())
		}
		for _, o := range subnets[:i] {
			if s.p.Overlaps(o.p) {
				r.errorf("cidr.overlap", s.env, s.p.String(), fmt.Sprintf("subnet %s overlaps subnet %s (%s)", s.name, o.name, o.p),
					"give each subnet its own range")
			}
		}
		if s.name != "default" && s.p.Overlaps(vn2Reserved) {
			r.errorf("cidr.vn2-reserved", s.env, s.p.String(), fmt.Sprintf("subnet %s overlaps %s, which virtual nodes reserve", s.name, vn2Reserved),
				"move it out of 10.0.0.0/24, e.g. the guide's 10.1.0.0/16 or 10.2.0.0/16")
		}
		if s.name == "default" && vnetOK && vnet.Overlaps(vn2Reserved) && !contains(s.p, vn2Reserved) {
			r.warnf("cidr.default-reserve", s.env, s.p.String(), "subnet default does not hold 10.0.0.0/24, which virtual nodes ask it to reserve",
				"use 10.0.0.0/24 for the default subnet")
		}
		usable := subnetSize(s.p) - azureReservedPerSubnet
		switch s.name {
		case "cg":
			if need := replicas + maxSurge; replicas > 0 && usable < need {
				r.errorf("cidr.cg-size", s.env, s.p.String(), fmt.Sprintf("has %d usable addresses; %d pods (replicas + surge) need %d", usable, need, need),
					"use a larger range; virtual nodes recommend a /16")
			} else if s.p.Bits() > 16 {
				r.warnf("cidr.cg-recommended", s.env, s.p.String(), "is smaller than the /16 virtual nodes recommend", "use a /16 if the VNet has room")
			}
		case "aks":
			if maxN, err := strconv.Atoi(v.MaxCount); err == nil && maxN > 0 {
				need := (maxN + 1) * (aksMaxPodsPerNode + 1)
				if usable < need {
					r.errorf("cidr.aks-size", s.env, s.p.String(),
						fmt.Sprintf("has %d usable addresses; %d nodes (MAX_COUNT + 1 surge) x %d need %d", usable, maxN+1, aksMaxPodsPerNode+1, need),
						"use a larger range, e.g. a /16")
				}
			}
		}
	}
	svc, svcOK := prefix("SERVICE_CIDR", v.ServiceCIDR)
	if svcOK {
		for _, s := range subnets {
			if svc.Overlaps(s.p) {
				r.errorf("cidr.service-overlap", "SERVICE_CIDR", svc.String(), fmt.Sprintf("overlaps subnet %s (%s)", s.name, s.p),
					"choose a service range outside every subnet, e.g. 10.4.0.0/16")
			}
		}
		for _, res := range aksReservedServiceRanges {
			if svc.Overlaps(res) {
				r.errorf("cidr.service-reserved", "SERVICE_CIDR", svc.String(), fmt.Sprintf("overlaps %s, which AKS reserves", res),
					"choose another range, e.g. 10.4.0.0/16")
			}
		}
		if vnetOK && svc.Overlaps(vnet) {
			r.warnf("cidr.service-in-vnet", "SERVICE_CIDR", svc.String(), fmt.Sprintf("lies inside VNET_CIDR %s", vnet),
				"this works, but never create a subnet in "+svc.String())
		}
	}
	if v.DNSServiceIP == "" {
		r.errorf("dns-service-ip.required", "DNS_SERVICE_IP", "", "is empty", "use an address inside SERVICE_CIDR, e.g. 10.4.0.10")
		return
	}
	ip, err := netip.ParseAddr(v.DNSServiceIP)
	if err != nil || !ip.Is4() {
		r.errorf("dns-service-ip.format", "DNS_SERVICE_IP", v.DNSServiceIP, "is not an IPv4 address", "e.g. 10.4.0.10")
		return
	}
	if !svcOK {
		return
	}
	switch {
	case !svc.Contains(ip):
		r.errorf("dns-service-ip.outside", "DNS_SERVICE_IP", v.DNSServiceIP, "is not inside SERVICE_CIDR "+svc.String(),
			"use an address inside it, e.g. "+svc.Addr().Next().Next().String())
	case ip == svc.Addr():
		r.errorf("dns-service-ip.network", "DNS_SERVICE_IP", v.DNSServiceIP, "is the network address of SERVICE_CIDR",
			"use another address, e.g. the .10")
	case ip == svc.Addr().Next():
		r.errorf("dns-service-ip.first", "DNS_SERVICE_IP", v.DNSServiceIP, "is the first address of SERVICE_CIDR, which the Kubernetes API service takes",
			"use another address, e.g. the .10")
	}
}

func (r *Report) checkImage(image string) {
	if image == "" {
		return
	}
	if !reImage.MatchString(image) {
		r.errorf("image.format", "IMAGE", image, "is not an image reference", "e.g. ghcr.io/example/uid2-operator:1.0.0")
		return
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if !strings.Contains(last, "@") && (!strings.Contains(last, ":") || strings.HasSuffix(last, ":latest")) {
		r.warnf("image.mutable", "IMAGE", image, "has no tag or uses latest; the CCE policy measures fixed layers",
			"use the release tag, or better a digest (@sha256:...)")
	}
}

func (r *Report) checkPolicy(p string) {
	if p == "" {
		return
	}
	if _, err := base64.StdEncoding.DecodeString(p); err != nil {
		shown := p
		if len(shown) > 16 {
			shown = shown[:16] + "…"
		}
		r.errorf("cce-policy.base64", "CCE_POLICY", shown, "is not standard base64", "pass the policy file with --cce-policy-file (base64 or rego text)")
	}
}

func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func subnetSize(p netip.Prefix) int {
	return 1 << (32 - p.Bits())
}

func isLetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c rune) bool  { return isLetter(c) || c >= '0' && c <= '9' }

func collapseHyphens(s string) string {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return s
}
