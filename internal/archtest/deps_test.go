package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/uid2-private-operator/uid2-operator/"

type pkg struct {
	ImportPath string
	Imports    []string
	Dir        string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// leaf packages implement wire formats and crypto; they import no other
// package of ours except the few listed.
var leafAllowed = map[string][]string{
	"internal/aesgcm":   nil,
	"internal/b64":      nil,
	"internal/clock":    nil,
	"internal/hashids":  nil,
	"internal/jsonscan": nil,
	"internal/jsonw":    nil,
	"internal/tcf":      nil,
	"internal/identity": {"internal/b64"},
	"internal/envelope": {"internal/identity", "internal/jsonscan", "internal/b64"},
	"internal/token":    {"internal/identity", "internal/aesgcm", "internal/b64"},
	"internal/salts":    {"internal/hashids"},
	"internal/optout":   {"internal/identity", "internal/jsonscan", "internal/jsonw"},
	"internal/config":   {"internal/identity"},
	"internal/egress":   nil,

	// admission sizes and meters memory; it knows nothing of HTTP.
	"internal/admission": {"internal/clock"},

	// Small single-job packages api uses (issue 12).
	"internal/bufpool": nil,
	"internal/ratelog": nil,
	"internal/cors":    nil,
	"internal/framing": nil,
}

// rules: an import (prefix) and the packages (prefixes) that may use it.
var rules = []struct {
	imp     string
	allowed []string
}{
	{"github.com/spf13/cobra", []string{"internal/cli"}},
	{"github.com/Azure/azure-sdk-for-go", []string{"internal/azure"}},
	{"k8s.io/", []string{"internal/aks"}},
	{"sigs.k8s.io/", []string{"internal/aks"}},
	{"helm.sh/", nil}, // tests only
	{"github.com/Microsoft/hcsshim", []string{"internal/ccepolicy"}},
	{"github.com/open-policy-agent/opa", nil}, // the rego enforcer, tests only (build tag rego)
	{"net/http", []string{"internal/api", "internal/framing", "internal/cors", "internal/metrics/httpmetrics", "internal/core", "internal/health", "internal/lifecycle", "internal/client", "internal/cli",
		"internal/azure", "internal/aks", "internal/ccepolicy", "internal/load"}},
	{module + "internal/cli", []string{"cmd/uid2-operator"}}, // only main uses the wiring
	{module + "internal/api", []string{"internal/cli"}},
	// The stand-in Core is a test and demo server: only the core
	// subcommand wires it; the operator's own packages use it in tests.
	{module + "internal/core/standin", []string{"internal/cli"}},
}

func TestDependencyDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		if allowed, ok := leafAllowed[p.ImportPath]; ok {
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				rel := strings.TrimPrefix(imp, module)
				if !contains(allowed, rel) {
					t.Errorf("%s imports %s; leaf packages may import only %v", p.ImportPath, rel, allowed)
				}
			}
		}
		for _, imp := range p.Imports {
			for _, r := range rules {
				matches := imp == r.imp || strings.HasPrefix(imp, r.imp+"/") ||
					(strings.HasSuffix(r.imp, "/") && strings.HasPrefix(imp, r.imp))
				if !matches {
					continue
				}
				if !hasPrefix(p.ImportPath, r.allowed) {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, r.allowed)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hasPrefix reports whether path is one of prefixes or below one of them.
func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// apiForbidden are imports internal/api must not use: it is HTTP only
// (issue 12). Cryptography and origin rules belong to the domain packages
// (cstg, token, envelope, aesgcm); public-suffix rules to cstg.
var apiForbidden = []string{"crypto/ecdh", "crypto/x509", "crypto/elliptic", "crypto/ecdsa", "golang.org/x/net/publicsuffix"}

// domainPackages are the engines api calls; they know nothing of HTTP or of
// api (the net/http rule above holds them to it too).
var domainPackages = []string{"internal/cstg", "internal/mapping", "internal/keyshare", "internal/issuer", "internal/optout", "internal/jsonw", "internal/jsonscan"}

func TestAPIIsHTTPOnly(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if p.ImportPath == "internal/api" && contains(apiForbidden, imp) {
				t.Errorf("internal/api imports %s; that belongs in a domain package (cstg, mapping, …)", imp)
			}
			if contains(domainPackages, p.ImportPath) && (imp == "net/http" || strings.HasPrefix(imp, module+"internal/api")) {
				t.Errorf("%s imports %s; domain packages know nothing of HTTP", p.ImportPath, imp)
			}
			// Domain packages return facts (issuer.Facts, mapping.Counts);
			// api reports them, so the engines stay free of metrics.
			if contains(domainPackages, p.ImportPath) && strings.HasPrefix(imp, module+"internal/metrics") {
				t.Errorf("%s imports %s; domain packages return facts and api reports them", p.ImportPath, imp)
			}
		}
	}
}
