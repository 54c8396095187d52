package azure

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Environment variables read by the Azure start-up (azure-aks.md §1.2).
// The first three are the ones the AKS guide sets and the CCE policy allows.
const (
	EnvVaultName       = "VAULT_NAME"
	EnvSecretName      = "OPERATOR_KEY_SECRET_NAME"
	EnvEnvironment     = "DEPLOYMENT_ENVIRONMENT"
	EnvCoreBaseURL     = "CORE_BASE_URL"    // integ only
	EnvOptoutBaseURL   = "OPTOUT_BASE_URL"  // integ only
	EnvDebugMode       = "DEBUG_MODE"       // integ only
	EnvSkipValidations = "SKIP_VALIDATIONS" // skips the key-letter, URL and reachability checks
	EnvImageVersion    = "IMAGE_VERSION"    // baked into the image
	// Test overrides. The production CCE policy drops unknown variables,
	// so inside the TEE these are never set.
	EnvVaultURL = "VAULT_URL" // replaces https://{VAULT_NAME}.vault.azure.net
	EnvSKRURL   = "SKR_URL"   // replaces http://localhost:9000
	EnvMAAURL   = "MAA_URL"   // replaces DefaultMAABaseURL
)

// Deployment environments.
const (
	Integ = "integ"
	Prod  = "prod"
)

// Defaults.
const (
	DefaultSKRURL = "http://localhost:9000"
	// DefaultMAABaseURL is the MAA instance Core verifies tokens against
	// (core-and-optout.md §1.3, maa_server_base_url).
	DefaultMAABaseURL = "https://sharedeus.eus.attest.azure.net"
)

// Settings is the validated Azure start-up configuration.
type Settings struct {
	VaultName   string
	SecretName  string
	Environment string // Integ or Prod
	// VaultURL is https://{VaultName}.vault.azure.net unless VAULT_URL
	// overrides it.
	VaultURL string
	// VaultURLOverridden is true when VAULT_URL was set; the Key Vault
	// client then accepts a challenge for any host.
	VaultURLOverridden bool
	// CoreBaseURL and OptoutBaseURL are https://core-{env}.uidapi.com and
	// https://optout-{env}.uidapi.com, or, in integ only, the overrides.
	CoreBaseURL     string
	OptoutBaseURL   string
	DebugMode       bool // integ only
	SkipValidations bool
	ImageVersion    string
	SKRURL          string
	MAABaseURL      string
	// Ignored names the variables that were set but do not apply (for
	// example CORE_BASE_URL in prod); log them once.
	Ignored []string
}

// Detect reports whether the three variables of the AKS guide are all set,
// which selects the azure-aks platform.
func Detect(lookup func(string) (string, bool)) bool {
	for _, k := range []string{EnvVaultName, EnvSecretName, EnvEnvironment} {
		if _, ok := lookup(k); !ok {
			return false
		}
	}
	return true
}

// Load reads and validates the variables (azure-aks.md §1.2, §1.3 steps 1–3):
// a missing variable is E03, a bad value E04. With SKIP_VALIDATIONS the URL
// checks are skipped; the environment and debug-mode checks never are.
func Load(lookup func(string) (string, bool)) (*Settings, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	var missing []string
	for _, k := range []string{EnvVaultName, EnvSecretName, EnvEnvironment} {
		// The reference only tests absence; an empty value fails later and
		// less clearly, so it counts as missing here.
		if get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, startupErr(E03, nil,
			"%s not set; set %s in the uid2-operator container's env in operator.yaml (the AKS guide's placeholders)",
			strings.Join(missing, ", "), pluralIt(len(missing)))
	}
	s := &Settings{
		VaultName:       get(EnvVaultName),
		SecretName:      get(EnvSecretName),
		Environment:     get(EnvEnvironment),
		SkipValidations: isTrue(get(EnvSkipValidations)),
		ImageVersion:    get(EnvImageVersion),
		SKRURL:          DefaultSKRURL,
		MAABaseURL:      DefaultMAABaseURL,
	}
	if s.ImageVersion == "" {
		s.ImageVersion = "unknown"
	}
	if s.Environment != Integ && s.Environment != Prod {
		return nil, startupErr(E04, nil, "%s is %q; it must be %q or %q (lowercase)", EnvEnvironment, s.Environment, Integ, Prod)
	}
	debug := isTrue(get(EnvDebugMode))
	if debug && s.Environment == Prod {
		return nil, startupErr(E04, nil, "%s=true is allowed only with %s=%s; remove it for prod", EnvDebugMode, EnvEnvironment, Integ)
	}
	s.DebugMode = debug
	if !validVaultName.MatchString(s.VaultName) || strings.Contains(s.VaultName, "--") {
		return nil, startupErr(E04, nil, "%s %q is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter); use the vault name, not its URL", EnvVaultName, s.VaultName)
	}

	// Core and Opt-Out: forced in prod, overridable in integ (azure-aks.md §1.2).
	s.CoreBaseURL = "https://core-" + s.Environment + ".uidapi.com"
	s.OptoutBaseURL = "https://optout-" + s.Environment + ".uidapi.com"
	for _, o := range []struct {
		name string
		dst  *string
	}{{EnvCoreBaseURL, &s.CoreBaseURL}, {EnvOptoutBaseURL, &s.OptoutBaseURL}} {
		v := get(o.name)
		if v == "" {
			continue
		}
		if s.Environment != Integ {
			s.Ignored = append(s.Ignored, o.name)
			continue
		}
		*o.dst = strings.TrimRight(v, "/")
	}
	if !s.SkipValidations {
		for _, u := range []struct{ name, v string }{{EnvCoreBaseURL, s.CoreBaseURL}, {EnvOptoutBaseURL, s.OptoutBaseURL}} {
			if err := checkServiceURL(u.name, u.v, s.Environment); err != nil {
				return nil, err
			}
		}
	}

	s.VaultURL = "https://" + s.VaultName + ".vault.azure.net"
	if v := get(EnvVaultURL); v != "" {
		if err := checkHTTPS(EnvVaultURL, v); err != nil {
			return nil, err
		}
		s.VaultURL, s.VaultURLOverridden = strings.TrimRight(v, "/"), true
	}
	if v := get(EnvSKRURL); v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, startupErr(E04, err, "%s %q is not an http(s) URL", EnvSKRURL, v)
		}
		s.SKRURL = strings.TrimRight(v, "/")
	}
	if v := get(EnvMAAURL); v != "" {
		if err := checkHTTPS(EnvMAAURL, v); err != nil {
			return nil, err
		}
		s.MAABaseURL = v
	}
	return s, nil
}

// validVaultName is Key Vault's naming rule; "--" is checked separately.
var validVaultName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$`)

func isTrue(v string) bool { return strings.EqualFold(v, "true") }

func pluralIt(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// checkServiceURL is the reference's URL rule, made stricter and clearer:
// an absolute https URL without query or fragment, which in integ must
// contain "integ" (so an integ operator never talks to prod Core). Loopback
// hosts may use http and skip the substring rule, for local testing.
func checkServiceURL(name, v, env string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return startupErr(E04, err, "%s %q is not an absolute https URL like https://core-%s.uidapi.com", name, v, env)
	}
	if isLoopback(u.Hostname()) {
		return nil
	}
	if u.Scheme != "https" {
		return startupErr(E04, nil, "%s %q must use https", name, v)
	}
	if env != Prod && !strings.Contains(strings.ToLower(v), env) {
		return startupErr(E04, nil, "%s %q does not look like a UID2 %s URL (it must contain %q); unset it to use the default", name, v, env, env)
	}
	return nil
}

func checkHTTPS(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return startupErr(E04, err, "%s %q is not an https URL", name, v)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keyFormat is the reference's operator-key pattern (azure-aks.md §1.3 3.5).
var keyFormat = regexp.MustCompile(`^(UID2|EUID)-.-(I|P|L)-\d+-.*$`)

// CheckOperatorKey is the reference's E05 check: a key of the form
// UID2-O-<env>-<site>-… must carry I in integ (or in debug mode) and P in
// prod. Keys of other forms are accepted, as in the reference. Skipped with
// SKIP_VALIDATIONS. The error never contains the key.
func (s *Settings) CheckOperatorKey(key string) error {
	if s.SkipValidations {
		return nil
	}
	m := keyFormat.FindStringSubmatch(key)
	if m == nil {
		return nil
	}
	want := "P"
	if s.DebugMode || s.Environment == Integ {
		want = "I"
	}
	if got := m[2]; got != want {
		return startupErr(E05, nil,
			"the operator key in secret %q is %s key (environment letter %s) but %s=%s needs %s key (letter %s); store the %s operator key UID2 gave you in the secret",
			s.SecretName, withArticle(letterName(got)), got, EnvEnvironment, s.Environment, withArticle(letterName(want)), want, s.Environment)
	}
	return nil
}

func letterName(l string) string {
	switch l {
	case "I":
		return "integ"
	case "P":
		return "prod"
	case "L":
		return "local"
	}
	return fmt.Sprintf("%q", l)
}

func withArticle(w string) string {
	if w != "" && strings.ContainsRune("aeiou", rune(w[0])) {
		return "an " + w
	}
	return "a " + w
}

// Endpoints are the Key Vault and SKR sidecar addresses of the reference's
// enclave_platform=azure-cc start-up, where the vault and secret names come
// from the config keys azure_vault_name and azure_secret_name instead of the
// AKS variables.
type Endpoints struct {
	VaultURL           string
	VaultURLOverridden bool
	SKRURL             string
}

// LoadEndpoints checks the vault name and applies the VAULT_URL and SKR_URL
// test overrides; an error names the config key or variable.
func LoadEndpoints(vaultName string, lookup func(string) (string, bool)) (*Endpoints, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if !validVaultName.MatchString(vaultName) || strings.Contains(vaultName, "--") {
		return nil, fmt.Errorf("azure_vault_name: %q is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter); use the vault name, not its URL", vaultName)
	}
	e := &Endpoints{VaultURL: "https://" + vaultName + ".vault.azure.net", SKRURL: DefaultSKRURL}
	if v := get(EnvVaultURL); v != "" {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not an https URL", EnvVaultURL, v)
		}
		e.VaultURL, e.VaultURLOverridden = strings.TrimRight(v, "/"), true
	}
	if v := get(EnvSKRURL); v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not an http(s) URL", EnvSKRURL, v)
		}
		e.SKRURL = strings.TrimRight(v, "/")
	}
	return e, nil
}
