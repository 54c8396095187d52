package aks

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"

	"github.com/uid2-private-operator/uid2-operator/internal/egress"
)

//go:embed plan.sh.tmpl
var planTemplate string

var planTmpl = template.Must(template.New("plan").Funcs(template.FuncMap{"q": ShellQuote}).Parse(planTemplate))

// PlanOptions are the plan's inputs besides the variables. The zero value
// uses the defaults below.
type PlanOptions struct {
	// ManifestPath is the operator.yaml the script renders
	// (default "operator.yaml", the file of the release ZIP).
	ManifestPath string
	// RenderedPath is where the script writes the filled manifest
	// (default "operator.rendered.yaml").
	RenderedPath string
	// PolicyFile, when set, is passed to render as --cce-policy-file.
	PolicyFile string
	// BuiltinManifest renders the manifest built into uid2-operator (no
	// --file): the one `aks policy` measured when ManifestPath is unset.
	BuiltinManifest bool
	// EnclaveID is the SHA-256 of the policy the deployment carries,
	// computed in step 0 before the script is written (required). The
	// script checks the policy against it before any az call and again
	// after render, and tells the user to register it with UID2.
	EnclaveID string
	// ImageLayout, when set, is the OCI layout of the user's own build:
	// the script pushes it to IMAGE (uid2-release push) before rendering.
	ImageLayout string
}

// ErrNoEnclaveID means Plan was called before step 0 computed the policy.
var ErrNoEnclaveID = errors.New("plan: no enclave id: step 0 (image, CCE policy, enclave id) must run first")

var reEnclaveID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Plan writes the complete, ordered provisioning script of the integration
// guide for v (a bash script). It refuses inputs that fail Preflight. The
// script is idempotent and fixes the guide's known failure points
// (azure-aks.md §7): pinned chart over HTTPS, role assignment by object id
// with retry, provider registration wait, soft-deleted vault recovery, RBAC
// propagation wait and the node resource group read from AKS.
func Plan(w io.Writer, v Vars, opts PlanOptions) error {
	if err := Preflight(v).Err(); err != nil {
		return err
	}
	if !reEnclaveID.MatchString(opts.EnclaveID) {
		return ErrNoEnclaveID
	}
	if opts.ImageLayout != "" && v.Image == "" {
		return fmt.Errorf("plan: IMAGE must name the registry repository to push %s to (e.g. myacr.azurecr.io/uid2-operator:1.0)", opts.ImageLayout)
	}
	if opts.ManifestPath == "" {
		opts.ManifestPath = "operator.yaml"
	}
	if opts.RenderedPath == "" {
		opts.RenderedPath = "operator.rendered.yaml"
	}
	minor := v.KubernetesVersion
	if parts := strings.Split(minor, "."); len(parts) > 2 {
		minor = parts[0] + "." + parts[1]
	}
	type export struct{ Name, Value string }
	var exports []export
	for _, f := range Fields() {
		// The key stays in the caller's environment; the policy is long and
		// travels as a file; the identity id is read from Azure.
		if f.Secret || f.Env == "CCE_POLICY" || f.Env == "MANAGED_IDENTITY_ID" {
			continue
		}
		if val := f.Get(&v); val != "" {
			exports = append(exports, export{f.Env, val})
		}
	}
	data := struct {
		Exports                  []export
		ManifestPath, PolicyFile string
		BuiltinManifest          bool
		EnclaveID, ImageLayout   string
		RenderedPath             string
		K8sMinor, Deployment     string
		Annotation               string
		Egress                   []egress.Host
		EgressPort               int
	}{exports, opts.ManifestPath, opts.PolicyFile, opts.BuiltinManifest, opts.EnclaveID, opts.ImageLayout,
		opts.RenderedPath, minor, DeploymentName, AnnotationCCEPolicy, egress.Hosts(v.DeploymentEnv), egress.Port}
	if err := planTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}

// ShellQuote quotes s for POSIX shells: single quotes, with each embedded
// single quote written as '\”.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
