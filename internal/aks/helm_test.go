package aks_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"k8s.io/apimachinery/pkg/api/equality"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

const chartDir = "../../deploy/helm/uid2-operator"

// chartValues are the chart values equivalent to renderVars.
func chartValues(extra map[string]any) map[string]any {
	v := renderVars()
	vals := map[string]any{
		"image":                 map[string]any{"reference": v.Image},
		"ccePolicy":             v.CCEPolicy,
		"identity":              v.IdentityID(),
		"vaultName":             v.KeyVaultName,
		"operatorKeySecretName": v.KeyVaultSecretName,
		"deploymentEnvironment": v.DeploymentEnv,
	}
	maps.Copy(vals, extra)
	return vals
}

// helmTemplate renders the chart like `helm template uid2 <chart>`.
func helmTemplate(t *testing.T, vals map[string]any) ([]byte, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	rv, err := chartutil.ToRenderValues(chrt, vals,
		chartutil.ReleaseOptions{Name: "uid2", Namespace: "default", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(files[name]) == "" {
			continue
		}
		b.WriteString("---\n# Source: " + name + "\n")
		b.WriteString(strings.TrimLeft(files[name], "\n"))
		if !strings.HasSuffix(files[name], "\n") {
			b.WriteString("\n")
		}
	}
	return []byte(b.String()), nil
}

func TestHelmLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"default": chartValues(nil),
		"hpa":     chartValues(map[string]any{"autoscaling": map[string]any{"enabled": true}}),
	} {
		t.Run(name, func(t *testing.T) {
			l := lint.AllWithKubeVersion(chartDir, vals, "default", nil)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestHelmTemplateMatchesManifest renders the chart and checks that it
// produces the same objects as deploy/aks/operator.yaml after render.
func TestHelmTemplateMatchesManifest(t *testing.T) {
	out, err := helmTemplate(t, chartValues(nil))
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	golden(t, "helm/default.yaml", out)
	got, err := aks.DecodeManifest(out)
	if err != nil {
		t.Fatalf("strict decode of helm output: %v", err)
	}
	if err := got.Check(); err != nil {
		t.Fatalf("helm output: %v", err)
	}
	r, err := aks.Render(aksmanifest.Operator, renderVars())
	if err != nil {
		t.Fatal(err)
	}
	want := r.Objects
	if len(got.HPAs) != 0 {
		t.Errorf("HPA rendered without autoscaling.enabled")
	}
	if !equality.Semantic.DeepEqual(got.Deployments[0].Spec, want.Deployments[0].Spec) {
		t.Errorf("chart Deployment spec differs from operator.yaml:\n got %+v\nwant %+v", got.Deployments[0].Spec, want.Deployments[0].Spec)
	}
	if !equality.Semantic.DeepEqual(got.Services[0].Spec, want.Services[0].Spec) {
		t.Errorf("chart Service spec differs from operator.yaml:\n got %+v\nwant %+v", got.Services[0].Spec, want.Services[0].Spec)
	}
	if !equality.Semantic.DeepEqual(got.PDBs[0].Spec, want.PDBs[0].Spec) {
		t.Errorf("chart PDB spec differs from operator.yaml:\n got %+v\nwant %+v", got.PDBs[0].Spec, want.PDBs[0].Spec)
	}
	for _, pair := range [][2]string{
		{got.Deployments[0].Name, want.Deployments[0].Name},
		{got.Services[0].Name, want.Services[0].Name},
		{got.PDBs[0].Name, want.PDBs[0].Name},
	} {
		if pair[0] != pair[1] {
			t.Errorf("object name %q; want %q", pair[0], pair[1])
		}
	}
}

func TestHelmTemplateHPA(t *testing.T) {
	out, err := helmTemplate(t, chartValues(map[string]any{
		"autoscaling": map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 9},
	}))
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	golden(t, "helm/hpa.yaml", out)
	objs, err := aks.DecodeManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Check(); err != nil {
		t.Fatal(err)
	}
	if len(objs.HPAs) != 1 || objs.HPAs[0].Spec.MaxReplicas != 9 || *objs.HPAs[0].Spec.MinReplicas != 3 {
		t.Fatalf("HPAs = %+v", objs.HPAs)
	}
	if objs.Deployments[0].Spec.Replicas != nil {
		t.Error("replicas set on the Deployment while the HPA owns them")
	}
}

func TestHelmTemplateRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"missing vault", chartValues(map[string]any{"vaultName": ""}), "vaultName is required"},
		{"missing policy", chartValues(map[string]any{"ccePolicy": ""}), "ccePolicy is required"},
		{"missing image", chartValues(map[string]any{"image": map[string]any{"reference": ""}}), "image.repository is required"},
		{"unknown key", chartValues(map[string]any{"replicas": 3}), "replicas"},
		{"bad environment", chartValues(map[string]any{"deploymentEnvironment": "Prod"}), "deploymentEnvironment"},
		{"bad vault name", chartValues(map[string]any{"vaultName": "1vault"}), "vaultName"},
		{"bad identity", chartValues(map[string]any{"identity": "my-id"}), "identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(t, tt.vals)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("helm template = %v; want an error mentioning %q", err, tt.want)
			}
		})
	}
}
