package aks_test

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// monitoringValues turns on every optional monitoring object.
func monitoringValues() map[string]any {
	// A fresh map per key: Helm merges defaults into the maps it is given.
	on := func() map[string]any { return map[string]any{"enabled": true} }
	return chartValues(map[string]any{
		"podAnnotations": map[string]any{"example.com/team": "ids",
			"microsoft.containerinstance.virtualnode.ccepolicy": "override"},
		"metrics": map[string]any{
			"scrapeAnnotations": true,
			"service":           on(),
			"serviceMonitor":    map[string]any{"enabled": true, "labels": map[string]any{"release": "kps"}},
			"podMonitor":        on(),
			"prometheusRule":    on(),
			"dashboard":         on(),
		},
	})
}

// renderedObjects renders vals and decodes every document loosely.
func renderedObjects(t *testing.T, vals map[string]any) map[string]map[string]any {
	t.Helper()
	out, err := helmTemplate(t, vals)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	objs := map[string]map[string]any{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		kind, _ := o["kind"].(string)
		name, _ := o["metadata"].(map[string]any)["name"].(string)
		objs[kind+"/"+name] = o
	}
	return objs
}

// TestHelmMonitoringOffByDefault: the default values render none of the
// monitoring objects and no scrape annotations (the golden of
// TestHelmTemplateMatchesManifest pins the rest).
func TestHelmMonitoringOffByDefault(t *testing.T) {
	objs := renderedObjects(t, chartValues(nil))
	for key := range objs {
		switch key {
		case "Deployment/operator-deployment", "Service/operator-svc", "PodDisruptionBudget/operator-pdb":
		default:
			t.Errorf("default values render %s", key)
		}
	}
}

func TestHelmMonitoringObjects(t *testing.T) {
	objs := renderedObjects(t, monitoringValues())
	for _, key := range []string{"Service/operator-metrics", "ServiceMonitor/uid2-operator", "PodMonitor/uid2-operator",
		"PrometheusRule/uid2-operator", "ConfigMap/uid2-operator-dashboard"} {
		if objs[key] == nil {
			t.Errorf("%s not rendered", key)
		}
	}
	ann := objs["Deployment/operator-deployment"]["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
	for k, want := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9080",
		"prometheus.io/path": "/metrics", "example.com/team": "ids"} {
		if ann[k] != want {
			t.Errorf("pod annotation %s = %v; want %q", k, ann[k], want)
		}
	}
	if ann["microsoft.containerinstance.virtualnode.ccepolicy"] == "override" {
		t.Error("podAnnotations replaced the CCE policy annotation")
	}
	if sm := objs["ServiceMonitor/uid2-operator"]; sm != nil {
		if l := sm["metadata"].(map[string]any)["labels"].(map[string]any); l["release"] != "kps" {
			t.Errorf("ServiceMonitor labels = %v; want release=kps", l)
		}
	}
	// The PrometheusRule carries the rule file's groups with Prometheus'
	// templates left literal, and the ConfigMap the dashboard as valid JSON.
	if pr := objs["PrometheusRule/uid2-operator"]; pr != nil {
		groups, _ := pr["spec"].(map[string]any)["groups"].([]any)
		if len(groups) == 0 {
			t.Fatalf("PrometheusRule has no groups: %v", pr["spec"])
		}
		b, _ := json.Marshal(groups)
		if !strings.Contains(string(b), "{{ $labels.pod }}") {
			t.Error("PrometheusRule lost the literal {{ $labels.pod }} templates")
		}
	}
	if cm := objs["ConfigMap/uid2-operator-dashboard"]; cm != nil {
		var dash struct {
			UID    string `json:"uid"`
			Panels []any  `json:"panels"`
		}
		data := cm["data"].(map[string]any)["uid2-operator.json"].(string)
		if err := json.Unmarshal([]byte(data), &dash); err != nil || dash.UID != "uid2-operator" || len(dash.Panels) == 0 {
			t.Errorf("dashboard ConfigMap: %v (uid %q, %d panels)", err, dash.UID, len(dash.Panels))
		}
	}
}

func TestHelmMonitoringRejectsBadValues(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"unknown metrics key":      chartValues(map[string]any{"metrics": map[string]any{"enabled": true}}),
		"bad interval":             chartValues(map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"interval": "30"}}}),
		"non-string podAnnotation": chartValues(map[string]any{"podAnnotations": map[string]any{"a": 1}}),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := helmTemplate(t, vals); err == nil {
				t.Fatal("helm template accepted it")
			}
		})
	}
}
