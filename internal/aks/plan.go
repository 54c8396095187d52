package aks

import (
	_ "embed"
	"fmt"
	"io"
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
}

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
		RenderedPath             string
		K8sMinor, Deployment     string
		Egress                   []egress.Host
		EgressPort               int
	}{exports, opts.ManifestPath, opts.PolicyFile, opts.RenderedPath, minor, DeploymentName,
		egress.Hosts(v.DeploymentEnv), egress.Port}
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
