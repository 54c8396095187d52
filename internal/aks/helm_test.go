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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"

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
	return helmRender(t, vals, nil)
}

// helmRender renders the chart; with cluster set, lookup reads from it as
// `helm upgrade` reads the live objects.
func helmRender(t *testing.T, vals map[string]any, cluster engine.ClientProvider) ([]byte, error) {
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
	var files map[string]string
	if cluster == nil {
		files, err = engine.Render(chrt, rv)
	} else {
		files, err = engine.RenderWithClientProvider(chrt, rv, cluster)
	}
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
		"default":    chartValues(nil),
		"hpa":        chartValues(map[string]any{"autoscaling": map[string]any{"enabled": true}}),
		"monitoring": monitoringValues(),
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
	// replicas stays set (see TestHelmAutoscalingKeepsCapacity).
	if r := objs.Deployments[0].Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("Deployment replicas = %v; want 3 (max of minReplicas and replicaCount)", r)
	}
}

// liveCluster answers Helm's lookup from a fake API server holding objs.
type liveCluster struct {
	dyn *dynamicfake.FakeDynamicClient
}

func newLiveCluster(objs ...runtime.Object) liveCluster {
	return liveCluster{dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), objs...)}
}

func (c liveCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	return c.dyn.Resource(gv.WithResource(strings.ToLower(kind) + "s")), true, nil
}

// liveDeployment is operator-deployment as the cluster holds it.
func liveDeployment(replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "operator-deployment", "namespace": "default"},
		"spec":     map[string]any{"replicas": replicas},
	}}
}

// Issue 9 item 5: upgrading a release to autoscaling.enabled=true dropped
// the live Deployment to 1 replica, because the chart left replicas out and
// Kubernetes defaults it to 1 until the HPA reacts.
func TestHelmAutoscalingKeepsCapacity(t *testing.T) {
	hpa := func(min int) map[string]any {
		return map[string]any{"enabled": true, "minReplicas": min, "maxReplicas": 9}
	}
	tests := []struct {
		name    string
		vals    map[string]any
		cluster engine.ClientProvider
		want    int32
	}{
		{"fixed count", chartValues(map[string]any{"replicaCount": 4, "podDisruptionBudget": map[string]any{"minAvailable": 2}}), nil, 4},
		{"no cluster: replicaCount above minReplicas", chartValues(map[string]any{"replicaCount": 4, "autoscaling": hpa(2)}), nil, 4},
		{"no cluster: minReplicas above replicaCount", chartValues(map[string]any{"autoscaling": hpa(5)}), nil, 5},
		{"upgrade from a fixed count keeps the live pods", chartValues(map[string]any{"autoscaling": hpa(2)}), newLiveCluster(liveDeployment(3)), 3},
		{"upgrade keeps what the HPA scaled to", chartValues(map[string]any{"autoscaling": hpa(3)}), newLiveCluster(liveDeployment(7)), 7},
		{"live below the floor is raised", chartValues(map[string]any{"autoscaling": hpa(3)}), newLiveCluster(liveDeployment(1)), 3},
		{"first install", chartValues(map[string]any{"autoscaling": hpa(3)}), newLiveCluster(), 3},
		{"numbers as values.yaml gives them", chartValues(map[string]any{"replicaCount": 4.0,
			"autoscaling": map[string]any{"enabled": true, "minReplicas": 2.0, "maxReplicas": 9.0}}), newLiveCluster(liveDeployment(3)), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helmRender(t, tt.vals, tt.cluster)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			objs, err := aks.DecodeManifest(out)
			if err != nil {
				t.Fatal(err)
			}
			if r := objs.Deployments[0].Spec.Replicas; r == nil || *r != tt.want {
				t.Fatalf("Deployment replicas = %v; want %d", r, tt.want)
			}
		})
	}
}

// Issue 9 item 5: the schema accepted vault names preflight rejects. The
// chart and preflight must agree on every name.
func TestHelmVaultNameAgreesWithPreflight(t *testing.T) {
	for _, name := range []string{
		"my-vn-aks-vault", "abc", "a-b", "A1b2", strings.Repeat("v", 24), // valid
		"my--vault", "ab", strings.Repeat("v", 25), "1vault", "-vault", "vault-", "my_vault", "my.vault", "vault--", "välut",
	} {
		v := renderVars()
		v.KeyVaultName = name
		preflightOK := true
		for _, f := range aks.RenderChecks(v).Findings {
			if f.Field == "KEYVAULT_NAME" && f.Severity == aks.Error {
				preflightOK = false
			}
		}
		_, err := helmTemplate(t, chartValues(map[string]any{"vaultName": name}))
		chartOK := err == nil
		if chartOK != preflightOK {
			t.Errorf("vault name %q: chart accepts = %v (%v), preflight accepts = %v", name, chartOK, err, preflightOK)
		}
		if !chartOK && !strings.Contains(err.Error(), "vaultName") {
			t.Errorf("vault name %q: error %v does not name vaultName", name, err)
		}
	}
}

// Issue 9 item 5: a PDB minAvailable above the replicas was accepted; no
// node could ever be drained.
func TestHelmPDBMinAvailable(t *testing.T) {
	pdb := func(v any) map[string]any { return map[string]any{"enabled": true, "minAvailable": v} }
	tests := []struct {
		name string
		vals map[string]any
		want string // "" means accepted
	}{
		{"equal to replicaCount", chartValues(map[string]any{"podDisruptionBudget": pdb(3)}), ""},
		{"above replicaCount", chartValues(map[string]any{"podDisruptionBudget": pdb(4)}), "podDisruptionBudget.minAvailable (4) is above replicaCount (3)"},
		{"above minReplicas", chartValues(map[string]any{"podDisruptionBudget": pdb(3),
			"autoscaling": map[string]any{"enabled": true, "minReplicas": 2}}), "podDisruptionBudget.minAvailable (3) is above autoscaling.minReplicas (2)"},
		{"above replicaCount, numbers as values.yaml gives them", chartValues(map[string]any{"podDisruptionBudget": pdb(4.0), "replicaCount": 3.0}),
			"podDisruptionBudget.minAvailable (4) is above replicaCount (3)"},
		{"percentage", chartValues(map[string]any{"podDisruptionBudget": pdb("50%")}), ""},
		{"bad percentage", chartValues(map[string]any{"podDisruptionBudget": pdb("half")}), "minAvailable"},
		{"negative", chartValues(map[string]any{"podDisruptionBudget": pdb(-1)}), "minAvailable"},
		{"disabled", chartValues(map[string]any{"podDisruptionBudget": map[string]any{"enabled": false, "minAvailable": 9}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(t, tt.vals)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("helm template = %v; want it accepted", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("helm template = %v; want an error containing %q", err, tt.want)
			}
		})
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
