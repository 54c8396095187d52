package aks_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

// testPolicy is a made-up rego with env rules in the confcom layout: the
// three operator variables as re2 wildcards and the SKR's Port.
const testPolicy = `package policy

containers := [{"env_rules":[{"pattern":"DEPLOYMENT_ENVIRONMENT=.+","required":false,"strategy":"re2"},{"pattern":"VAULT_NAME=.+","required":false,"strategy":"re2"},{"pattern":"OPERATOR_KEY_SECRET_NAME=.+","required":false,"strategy":"re2"},{"pattern":"Port=9000","required":false,"strategy":"string"}]}]

allow_environment_variable_dropping := true
`

func renderVars() aks.Vars {
	v := guideVars()
	v.Image = "ghcr.io/example/uid2-operator:1.0.0"
	v.CCEPolicy = base64.StdEncoding.EncodeToString([]byte(testPolicy))
	return v
}

func TestRenderGolden(t *testing.T) {
	r, err := aks.Render(aksmanifest.Operator, renderVars())
	if err != nil {
		t.Fatalf("Render(guide vars) = %v", err)
	}
	golden(t, "render/operator.rendered.yaml", r.Manifest)
	sum := sha256.Sum256([]byte(testPolicy))
	if want := hex.EncodeToString(sum[:]); r.EnclaveID != want {
		t.Errorf("EnclaveID = %s; want %s", r.EnclaveID, want)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("Warnings = %q; want none", r.Warnings)
	}
	if strings.Contains(string(r.Manifest), "_PLACEHOLDER") {
		t.Error("rendered manifest still has a placeholder")
	}
}

// TestRenderMatchesGuideEdits checks that render does exactly what the
// guide's sed commands do: replace each placeholder token and nothing else.
func TestRenderMatchesGuideEdits(t *testing.T) {
	v := renderVars()
	r, err := aks.Render(aksmanifest.Operator, v)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(
		"IDENTITY_PLACEHOLDER", v.IdentityID(),
		"OPERATOR_KEY_SECRET_NAME_PLACEHOLDER", v.KeyVaultSecretName,
		"VAULT_NAME_PLACEHOLDER", v.KeyVaultName,
		"DEPLOYMENT_ENVIRONMENT_PLACEHOLDER", v.DeploymentEnv,
		"IMAGE_PLACEHOLDER", v.Image,
		"CCE_POLICY_PLACEHOLDER", v.CCEPolicy,
	).Replace(string(aksmanifest.Operator))
	if string(r.Manifest) != want {
		t.Errorf("Render differs from the guide's sed edits:\n%s", r.Manifest)
	}
}

func TestRenderReleaseManifest(t *testing.T) {
	// The release ZIP has image and policy filled; only the guide's four
	// placeholders remain.
	v := renderVars()
	release := strings.NewReplacer("IMAGE_PLACEHOLDER", v.Image, "CCE_POLICY_PLACEHOLDER", v.CCEPolicy).Replace(string(aksmanifest.Operator))
	v.Image, v.CCEPolicy = "", ""
	r, err := aks.Render([]byte(release), v)
	if err != nil {
		t.Fatalf("Render(release manifest) = %v", err)
	}
	if r.EnclaveID == "" {
		t.Error("no enclave id for a manifest with a policy")
	}
	// Values for placeholders that are gone are reported, not applied.
	v.Image = "ghcr.io/example/other:2.0.0"
	r, err = aks.Render([]byte(release), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "IMAGE ghcr.io/example/other:2.0.0 ignored") {
		t.Errorf("Warnings = %q; want IMAGE ignored", r.Warnings)
	}
}

func TestRenderRefusesLeftoverPlaceholders(t *testing.T) {
	v := guideVars() // no image, no policy
	_, err := aks.Render(aksmanifest.Operator, v)
	if !errors.Is(err, aks.ErrPlaceholder) {
		t.Fatalf("Render(no image) = %v; want ErrPlaceholder", err)
	}
	for _, want := range []string{"IMAGE_PLACEHOLDER", "CCE_POLICY_PLACEHOLDER", "--image", "--cce-policy-file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	v = renderVars()
	_, err = aks.Render(append([]byte("# MY_PLACEHOLDER\n"), aksmanifest.Operator...), v)
	if !errors.Is(err, aks.ErrPlaceholder) {
		t.Fatalf("Render(unknown placeholder) = %v; want ErrPlaceholder", err)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	v := renderVars()
	v.KeyVaultName = "my--vault"
	var ce *aks.CheckError
	if _, err := aks.Render(aksmanifest.Operator, v); !errors.As(err, &ce) || !strings.Contains(err.Error(), "KEYVAULT_NAME") {
		t.Fatalf("Render(bad vault) = %v; want *CheckError naming KEYVAULT_NAME", err)
	}
}

func TestRenderStrictDecoding(t *testing.T) {
	v := renderVars()
	for name, edit := range map[string]func(string) string{
		"unknown field": func(s string) string {
			return strings.Replace(s, "  replicas: 3\n", "  replicas: 3\n  replicaz: 3\n", 1)
		},
		"duplicate field": func(s string) string {
			return strings.Replace(s, "  replicas: 3\n", "  replicas: 3\n  replicas: 4\n", 1)
		},
		"wrong type":   func(s string) string { return strings.Replace(s, "  replicas: 3\n", "  replicas: three\n", 1) },
		"unknown kind": func(s string) string { return s + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" },
		"no liveness":  func(s string) string { return strings.Replace(s, "livenessProbe:", "startupProbe:", 1) },
		// Issue 10: liveness on the readiness path restarts pods during a Core outage.
		"liveness on readiness path": func(s string) string { return strings.Replace(s, "path: /ops/live", "path: /ops/healthcheck", 1) },
		// The drain (15 s) plus the shutdown timeout (25 s) must fit the grace period.
		"grace below drain": func(s string) string {
			return strings.Replace(s, "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", 1)
		},
		"max unavailable": func(s string) string { return strings.Replace(s, "maxUnavailable: 0", "maxUnavailable: 1", 1) },
		"no toleration":   func(s string) string { return strings.Replace(s, "virtual-kubelet.io/provider", "other", 1) },
		"exec hook": func(s string) string {
			return strings.Replace(s, "          securityContext:\n", "          lifecycle:\n            preStop:\n              exec:\n                command: [sleep, \"5\"]\n          securityContext:\n", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := edit(string(aksmanifest.Operator))
			if m == string(aksmanifest.Operator) {
				t.Fatal("edit did not apply")
			}
			if _, err := aks.Render([]byte(m), v); err == nil {
				t.Fatal("Render accepted a broken manifest")
			}
		})
	}
}

func TestRenderQuotedPlaceholder(t *testing.T) {
	// Users may quote placeholders; the token is still replaced.
	m := strings.Replace(string(aksmanifest.Operator), "image: IMAGE_PLACEHOLDER", "image: \"IMAGE_PLACEHOLDER\"", 1)
	v := renderVars()
	if _, err := aks.Render([]byte(m), v); err != nil {
		t.Fatalf("Render(quoted placeholder) = %v", err)
	}
}

func TestRenderWarnsAboutDroppedEnv(t *testing.T) {
	v := renderVars()
	m := strings.Replace(string(aksmanifest.Operator),
		"            - name: DEPLOYMENT_ENVIRONMENT\n",
		"            - name: CORE_BASE_URL\n              value: http://core.example\n            - name: DEPLOYMENT_ENVIRONMENT\n", 1)
	r, err := aks.Render([]byte(m), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "CORE_BASE_URL") || !strings.Contains(r.Warnings[0], "test-only") {
		t.Errorf("Warnings = %q; want one about CORE_BASE_URL", r.Warnings)
	}
}

func TestEnclaveID(t *testing.T) {
	// SHA-256 of the decoded policy, not of its base64 text.
	const rego = "package policy\n"
	id, err := aks.EnclaveID(base64.StdEncoding.EncodeToString([]byte(rego)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(rego))
	if id != hex.EncodeToString(sum[:]) {
		t.Errorf("EnclaveID = %s", id)
	}
	if _, err := aks.EnclaveID("not base64!"); !errors.Is(err, aks.ErrPolicy) {
		t.Errorf("EnclaveID(bad) = %v; want ErrPolicy", err)
	}
}

func TestNormalizePolicy(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testPolicy))
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"rego", testPolicy, b64, nil},
		{"base64 with newline", b64 + "\n", b64, nil},
		{"base64 wrapped", b64[:40] + "\n" + b64[40:], b64, nil},
		{"empty", " \n", "", aks.ErrPolicy},
		{"garbage", "%%%", "", aks.ErrPolicy},
	}
	for _, tt := range tests {
		got, err := aks.NormalizePolicy([]byte(tt.in))
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("NormalizePolicy(%s) = %.20q, %v; want %.20q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestDecodeRepositoryManifest(t *testing.T) {
	// The template itself decodes strictly (placeholders are plain strings).
	objs, err := aks.DecodeManifest(aksmanifest.Operator)
	if err != nil {
		t.Fatalf("DecodeManifest(operator.yaml) = %v", err)
	}
	if len(objs.Deployments) != 1 || len(objs.Services) != 1 || len(objs.PDBs) != 1 {
		t.Fatalf("objects = %d deployments, %d services, %d PDBs", len(objs.Deployments), len(objs.Services), len(objs.PDBs))
	}
	d := objs.Deployments[0]
	if *d.Spec.Replicas != 3 || d.Spec.Template.Spec.NodeSelector["virtualization"] != "virtualnode2" {
		t.Errorf("deployment = %+v", d.Spec)
	}
}
