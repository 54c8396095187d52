package aks

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Placeholders of deploy/aks/operator.yaml (azure-aks.md §4.2). The first
// four are the guide's; IMAGE and CCE_POLICY are filled by the release
// build and are still present in the repository template.
const (
	PlaceholderIdentity      = "IDENTITY_PLACEHOLDER"
	PlaceholderVaultName     = "VAULT_NAME_PLACEHOLDER"
	PlaceholderSecretName    = "OPERATOR_KEY_SECRET_NAME_PLACEHOLDER"
	PlaceholderDeploymentEnv = "DEPLOYMENT_ENVIRONMENT_PLACEHOLDER"
	PlaceholderImage         = "IMAGE_PLACEHOLDER"
	PlaceholderCCEPolicy     = "CCE_POLICY_PLACEHOLDER"
)

// Errors returned by Render and EnclaveID.
var (
	// ErrPlaceholder means the manifest still holds a placeholder after
	// every known value was filled in.
	ErrPlaceholder = errors.New("aks: placeholder left in manifest")
	// ErrPolicy means the CCE policy is not base64 or not rego.
	ErrPolicy = errors.New("aks: invalid CCE policy")
)

// placeholderSources says which variable fills each placeholder, for the
// leftover error.
var placeholderSources = map[string]string{
	PlaceholderIdentity:      "MANAGED_IDENTITY_ID (or SUBSCRIPTION_ID + RESOURCE_GROUP + MANAGED_IDENTITY)",
	PlaceholderVaultName:     "KEYVAULT_NAME",
	PlaceholderSecretName:    "KEYVAULT_SECRET_NAME",
	PlaceholderDeploymentEnv: "DEPLOYMENT_ENV",
	PlaceholderImage:         "IMAGE (--image), or use the operator.yaml of the release ZIP",
	PlaceholderCCEPolicy:     "CCE_POLICY (--cce-policy-file), or use the operator.yaml of the release ZIP",
}

var rePlaceholder = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*_PLACEHOLDER\b`)

// PolicyDroppedEnv are the test-only overrides the released CCE policy has
// no rule for: inside the TEE they are silently dropped (azure-aks.md §1.2).
var PolicyDroppedEnv = []string{"CORE_BASE_URL", "OPTOUT_BASE_URL", "DEBUG_MODE", "SKIP_VALIDATIONS", "VAULT_URL", "SKR_URL"}

// Confidential container group size the pod's limits are held to
// [inferred: ACI's standard per-group maximum; larger needs quota].
var (
	maxGroupCPU    = resource.MustParse("4")
	maxGroupMemory = resource.MustParse("16Gi")
)

// Rendered is the result of Render.
type Rendered struct {
	Manifest []byte
	// EnclaveID is the lowercase hex SHA-256 of the decoded CCE policy: the
	// value Core must have registered (x-ms-sevsnpvm-hostdata). It is
	// empty when the manifest carries no policy.
	EnclaveID string
	Warnings  []string
	Objects   *Objects
}

// Render fills the placeholders of manifest from v with plain string
// substitution of whole tokens (no sed, so the same bytes on every OS),
// refuses leftover placeholders, decodes every object strictly, checks
// them (Objects.Check) and that the filled values survived YAML parsing
// unchanged, then computes the enclave id and the env-var warnings.
func Render(manifest []byte, v Vars) (*Rendered, error) {
	if err := RenderChecks(v).Err(); err != nil {
		return nil, err
	}
	values := map[string]string{
		PlaceholderIdentity:      v.IdentityID(),
		PlaceholderVaultName:     v.KeyVaultName,
		PlaceholderSecretName:    v.KeyVaultSecretName,
		PlaceholderDeploymentEnv: v.DeploymentEnv,
		PlaceholderImage:         v.Image,
		PlaceholderCCEPolicy:     v.CCEPolicy,
	}
	out := rePlaceholder.ReplaceAllStringFunc(string(manifest), func(tok string) string {
		if val := values[tok]; val != "" {
			return val
		}
		return tok
	})
	if left := rePlaceholder.FindAllString(out, -1); len(left) > 0 {
		slices.Sort(left)
		left = slices.Compact(left)
		var b strings.Builder
		for i, tok := range left {
			if i > 0 {
				b.WriteString("; ")
			}
			src := placeholderSources[tok]
			if src == "" {
				src = "an unknown placeholder; edit the file"
			}
			fmt.Fprintf(&b, "%s (set %s)", tok, src)
		}
		return nil, fmt.Errorf("%w: %s", ErrPlaceholder, b.String())
	}
	objs, err := DecodeManifest([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := objs.Check(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	tpl := objs.Deployments[0].Spec.Template
	op := container(tpl.Spec.Containers, OperatorContainer)
	// A value that YAML reads differently (a '#', ': ', quotes) would be
	// caught here rather than in the pod.
	for _, c := range []struct{ what, got, want string }{
		{"env VAULT_NAME", envValue(op.Env, "VAULT_NAME"), v.KeyVaultName},
		{"env OPERATOR_KEY_SECRET_NAME", envValue(op.Env, "OPERATOR_KEY_SECRET_NAME"), v.KeyVaultSecretName},
		{"env DEPLOYMENT_ENVIRONMENT", envValue(op.Env, "DEPLOYMENT_ENVIRONMENT"), v.DeploymentEnv},
		{"annotation " + AnnotationIdentity, tpl.Annotations[AnnotationIdentity], v.IdentityID()},
		{"image", op.Image, v.Image},
	} {
		if c.want != "" && c.got != c.want && strings.Contains(string(manifest), placeholderFor(c.what)) {
			return nil, fmt.Errorf("render: %s is %q after filling, want %q", c.what, c.got, c.want)
		}
	}
	r := &Rendered{Manifest: []byte(out), Objects: objs}
	policy := tpl.Annotations[AnnotationCCEPolicy]
	rego, err := base64.StdEncoding.DecodeString(policy)
	if err != nil {
		return nil, fmt.Errorf("%w: annotation %s is not base64: %v", ErrPolicy, AnnotationCCEPolicy, err)
	}
	sum := sha256.Sum256(rego)
	r.EnclaveID = hex.EncodeToString(sum[:])
	if v.Image != "" && op.Image != v.Image {
		r.Warnings = append(r.Warnings, fmt.Sprintf("IMAGE %s ignored: the manifest already pins %s (the CCE policy measures it)", v.Image, op.Image))
	}
	if v.CCEPolicy != "" && policy != v.CCEPolicy {
		r.Warnings = append(r.Warnings, "CCE_POLICY ignored: the manifest already carries a policy")
	}
	r.Warnings = append(r.Warnings, envWarnings(string(rego), tpl.Spec.Containers)...)
	r.Warnings = append(r.Warnings, sizeWarnings(objs)...)
	return r, nil
}

func placeholderFor(what string) string {
	switch what {
	case "env VAULT_NAME":
		return PlaceholderVaultName
	case "env OPERATOR_KEY_SECRET_NAME":
		return PlaceholderSecretName
	case "env DEPLOYMENT_ENVIRONMENT":
		return PlaceholderDeploymentEnv
	case "image":
		return PlaceholderImage
	}
	return PlaceholderIdentity
}

// EnclaveID returns the enclave id of a base64 CCE policy: the lowercase hex
// SHA-256 of the decoded rego text (azure-aks.md §4.3).
func EnclaveID(policyBase64 string) (string, error) {
	rego, err := base64.StdEncoding.DecodeString(strings.TrimSpace(policyBase64))
	if err != nil {
		return "", fmt.Errorf("%w: not base64: %v", ErrPolicy, err)
	}
	sum := sha256.Sum256(rego)
	return hex.EncodeToString(sum[:]), nil
}

// NormalizePolicy accepts a policy file as written by `az confcom
// acipolicygen --print-policy` (base64) or its decoded rego text
// (starting with "package") and returns the base64 annotation value.
func NormalizePolicy(data []byte) (string, error) {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrPolicy)
	}
	if strings.HasPrefix(s, "package ") {
		return base64.StdEncoding.EncodeToString(data), nil
	}
	s = strings.Join(strings.Fields(s), "")
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return "", fmt.Errorf("%w: neither rego (package ...) nor base64: %v", ErrPolicy, err)
	}
	return s, nil
}

// envRule is one env_rules entry of a CCE policy.
type envRule struct {
	pattern string
	re      *regexp.Regexp // nil for strategy "string"
}

// Env rules as az confcom writes them (compact JSON) and as hcsshim's
// marshaller writes them (`aks policy`: a raw-string pattern).
var (
	reEnvRule        = regexp.MustCompile(`\{"pattern":("(?:[^"\\]|\\.)*"),"required":(?:true|false),"strategy":"(string|re2)"\}`)
	reEnvRuleHCSShim = regexp.MustCompile("\\{\"pattern\": (`[^`]*`), \"strategy\": \"(string|re2)\", \"required\": (?:true|false)\\}")
)

func parseEnvRules(rego string) []envRule {
	var rules []envRule
	matches := reEnvRule.FindAllStringSubmatch(rego, -1)
	matches = append(matches, reEnvRuleHCSShim.FindAllStringSubmatch(rego, -1)...)
	for _, m := range matches {
		p, err := strconv.Unquote(m[1])
		if err != nil {
			continue
		}
		r := envRule{pattern: p}
		if m[2] == "re2" {
			re, err := regexp.Compile("^(?:" + p + ")$")
			if err != nil {
				continue
			}
			r.re = re
		}
		rules = append(rules, r)
	}
	return rules
}

// envWarnings lists env vars that no rule of the policy allows: with
// allow_environment_variable_dropping the TEE starts the container
// without them. A policy with no env rules (an allow-all test policy) is
// not judged.
func envWarnings(rego string, containers []corev1.Container) []string {
	rules := parseEnvRules(rego)
	if len(rules) == 0 {
		return nil
	}
	var w []string
	for _, c := range containers {
		for _, e := range c.Env {
			kv := e.Name + "=" + e.Value
			allowed := slices.ContainsFunc(rules, func(r envRule) bool {
				if r.re != nil {
					return r.re.MatchString(kv)
				}
				return r.pattern == kv
			})
			if allowed {
				continue
			}
			msg := fmt.Sprintf("container %s: env %s is not allowed by the CCE policy; the TEE drops it silently", c.Name, e.Name)
			if slices.Contains(PolicyDroppedEnv, e.Name) {
				msg += " (a test-only override: it needs a debug policy with its own enclave id)"
			}
			w = append(w, msg)
		}
	}
	return w
}

func sizeWarnings(o *Objects) []string {
	var cpu, mem resource.Quantity
	for _, c := range o.Deployments[0].Spec.Template.Spec.Containers {
		l := c.Resources.Limits
		if l == nil {
			l = c.Resources.Requests
		}
		cpu.Add(*l.Cpu())
		mem.Add(*l.Memory())
	}
	var w []string
	if cpu.Cmp(maxGroupCPU) > 0 || mem.Cmp(maxGroupMemory) > 0 {
		w = append(w, fmt.Sprintf("pod limits total %s CPU / %s memory, above the %s CPU / %s standard confidential container group; check your ACI quota",
			cpu.String(), mem.String(), maxGroupCPU.String(), maxGroupMemory.String()))
	}
	return w
}
