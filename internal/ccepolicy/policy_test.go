package ccepolicy_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/Microsoft/hcsshim/pkg/securitypolicy"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
)

// builtinPod is the pod of deploy/aks/operator.yaml.
func builtinPod(t *testing.T) ccepolicy.Pod {
	t.Helper()
	objs, err := aks.DecodeManifest(aksmanifest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := aks.PolicyPod(objs)
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// ociDir writes img to a new OCI layout and returns "oci:DIR".
func ociDir(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir
}

// imageOf returns the manifest reference of the named container.
func imageOf(pod ccepolicy.Pod, name string) string {
	for _, c := range pod.Containers {
		if c.Name == name {
			return c.Image
		}
	}
	return ""
}

// buildPolicy generates the policy of pod for an operator image of the
// given build and the stand-in sidecar.
func buildPolicy(t *testing.T, pod ccepolicy.Pod, build string, opts ccepolicy.Options) *ccepolicy.Policy {
	t.Helper()
	sources := map[string]string{
		imageOf(pod, aks.OperatorContainer): ociDir(t, operatorImage(t, build)),
		imageOf(pod, aks.SKRContainer):      ociDir(t, sidecarImage(t)),
	}
	p, err := ccepolicy.Build(context.Background(), ccepolicy.Loader{}, pod, sources, opts, nil)
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	return p
}

func TestGenerateShape(t *testing.T) {
	pod := builtinPod(t)
	p := buildPolicy(t, pod, "a", ccepolicy.Options{})
	for _, want := range []string{
		"package policy\n",
		`api_version := "0.10.0"`,
		`"feed": "mcr.microsoft.com/aci/aci-cc-infra-fragment"`,
		`"includes": ["containers","fragments"]`,
		`"command": ["/app/uid2-operator"],`,
		`"command": ["/skr.sh"],`,
		`"command": ["/pause"],`,
		`"working_dir": "/app",`,
		"{\"pattern\": `VAULT_NAME=.+`, \"strategy\": \"re2\", \"required\": false}",
		"{\"pattern\": `OPERATOR_KEY_SECRET_NAME=.+`, \"strategy\": \"re2\", \"required\": false}",
		"{\"pattern\": `DEPLOYMENT_ENVIRONMENT=.+`, \"strategy\": \"re2\", \"required\": false}",
		"{\"pattern\": `IMAGE_VERSION=1.2.3-a`, \"strategy\": \"string\", \"required\": false}",
		"{\"pattern\": `Port=9000`, \"strategy\": \"string\", \"required\": false}",
		"\"user_idname\": {\"pattern\": `1000`, \"strategy\": \"id\"},",
		`{"destination": "/opt/confidential-containers/share/kata-containers/reference-info-base64", "options": ["rbind","rshared","rw"], "source": "sandbox:///tmp/atlas/emptydir/.+", "type": "bind"}`,
		`"signals": [15],`,
		`"layers": ["` + ccepolicy.PauseLayerHash + `"],`,
		"allow_properties_access := true",
		"allow_dump_stacks := false",
		"allow_runtime_logging := false",
		"allow_environment_variable_dropping := true",
		"allow_unencrypted_scratch := false",
		"allow_capability_dropping := true",
		"create_container := data.framework.create_container",
	} {
		if !strings.Contains(p.Rego, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	for _, bad := range append(ccepolicy.DebugEnv, "PLACEHOLDER", "mcr.microsoft.com/aci/skr") {
		if strings.Contains(p.Rego, bad) {
			t.Errorf("policy contains %q", bad)
		}
	}
	if strings.Count(p.Rego, `"command": [`) != 3 {
		t.Errorf("policy has %d containers; want operator, skr and pause", strings.Count(p.Rego, `"command": [`))
	}
}

// The enclave id is the SHA-256 of the decoded annotation, as hcsshim
// computes HOST_DATA and as aks render reports it.
func TestEnclaveID(t *testing.T) {
	p := buildPolicy(t, builtinPod(t), "a", ccepolicy.Options{})
	digest, err := securitypolicy.NewSecurityPolicyDigest(p.Base64())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.EnclaveID(), hex.EncodeToString(digest); got != want {
		t.Errorf("EnclaveID = %s; hcsshim digest %s", got, want)
	}
	fromRender, err := aks.EnclaveID(p.Base64())
	if err != nil || fromRender != p.EnclaveID() {
		t.Errorf("aks.EnclaveID = %s, %v; want %s", fromRender, err, p.EnclaveID())
	}
	if dec, _ := base64.StdEncoding.DecodeString(p.Base64()); string(dec) != p.Rego {
		t.Error("Base64 does not decode to Rego")
	}
}

func TestEnclaveIDChanges(t *testing.T) {
	pod := builtinPod(t)
	base := buildPolicy(t, pod, "a", ccepolicy.Options{}).EnclaveID()
	if again := buildPolicy(t, pod, "a", ccepolicy.Options{}).EnclaveID(); again != base {
		t.Errorf("same inputs: enclave id %s then %s", base, again)
	}
	changed := func(f func(*ccepolicy.Pod)) ccepolicy.Pod {
		p := builtinPod(t)
		f(&p)
		return p
	}
	op := func(p *ccepolicy.Pod) *ccepolicy.Container {
		for i := range p.Containers {
			if p.Containers[i].Operator {
				return &p.Containers[i]
			}
		}
		t.Fatal("no operator container")
		return nil
	}
	for _, tc := range []struct {
		name string
		pod  ccepolicy.Pod
		bld  string
		opts ccepolicy.Options
	}{
		{"another build", pod, "b", ccepolicy.Options{}},
		{"debug policy", pod, "a", ccepolicy.Options{Debug: true}},
		{"command", changed(func(p *ccepolicy.Pod) { op(p).Args = []string{"--platform", "default"} }), "a", ccepolicy.Options{}},
		{"new env", changed(func(p *ccepolicy.Pod) { op(p).Env = append(op(p).Env, ccepolicy.EnvVar{Name: "REGION", Value: "eu"}) }), "a", ccepolicy.Options{}},
		{"user", changed(func(p *ccepolicy.Pod) { u := int64(0); op(p).RunAsUser = &u }), "a", ccepolicy.Options{}},
	} {
		if got := buildPolicy(t, tc.pod, tc.bld, tc.opts).EnclaveID(); got == base {
			t.Errorf("%s: enclave id unchanged", tc.name)
		}
	}
	// The three deployment variables are wildcards: their values do not
	// change the enclave id.
	filled := changed(func(p *ccepolicy.Pod) {
		for i := range op(p).Env {
			op(p).Env[i].Value = "my-vault-" + op(p).Env[i].Name
		}
	})
	if got := buildPolicy(t, filled, "a", ccepolicy.Options{}).EnclaveID(); got != base {
		t.Errorf("filled VAULT_NAME etc.: enclave id %s; want %s", got, base)
	}
}

func TestDebugPolicy(t *testing.T) {
	pod := builtinPod(t)
	p := buildPolicy(t, pod, "a", ccepolicy.Options{Debug: true})
	for _, n := range ccepolicy.DebugEnv {
		if !strings.Contains(p.Rego, "{\"pattern\": `"+n+"=.+`, \"strategy\": \"re2\", \"required\": false}") {
			t.Errorf("debug policy lacks a rule for %s", n)
		}
	}
	if !strings.Contains(p.Rego, "allow_runtime_logging := true") {
		t.Error("debug policy does not allow runtime logging")
	}
}

func TestGenerateRejects(t *testing.T) {
	img := &ccepolicy.Image{LayerHashes: []string{strings.Repeat("a", 64)}, Entrypoint: []string{"/app/uid2-operator"}}
	images := map[string]*ccepolicy.Image{"op": img}
	for _, tc := range []struct {
		name string
		c    ccepolicy.Container
		opts ccepolicy.Options
		want string
	}{
		{"debug env without debug policy", ccepolicy.Container{Name: "uid2-operator", Image: "op", Operator: true,
			Env: []ccepolicy.EnvVar{{Name: "CORE_BASE_URL", Value: "http://core"}}}, ccepolicy.Options{}, "--debug-policy"},
		{"valueFrom", ccepolicy.Container{Name: "uid2-operator", Image: "op", Env: []ccepolicy.EnvVar{{Name: "X", FromRef: true}}}, ccepolicy.Options{}, "valueFrom"},
		{"quote in env", ccepolicy.Container{Name: "c", Image: "op", Env: []ccepolicy.EnvVar{{Name: "X", Value: `a"b`}}}, ccepolicy.Options{}, "quote"},
		{"backquote in env", ccepolicy.Container{Name: "c", Image: "op", Env: []ccepolicy.EnvVar{{Name: "X", Value: "a`b"}}}, ccepolicy.Options{}, "backquote"},
		{"newline in command", ccepolicy.Container{Name: "c", Image: "op", Command: []string{"/bin/x\n"}}, ccepolicy.Options{}, "control"},
		{"bad env name", ccepolicy.Container{Name: "c", Image: "op", Env: []ccepolicy.EnvVar{{Name: "A=B"}}}, ccepolicy.Options{}, "valid variable name"},
		{"env twice", ccepolicy.Container{Name: "c", Image: "op", Env: []ccepolicy.EnvVar{{Name: "A"}, {Name: "A"}}}, ccepolicy.Options{}, "twice"},
		{"relative mount", ccepolicy.Container{Name: "c", Image: "op", Mounts: []ccepolicy.Mount{{Path: "data"}}}, ccepolicy.Options{}, "not absolute"},
		{"unknown image", ccepolicy.Container{Name: "c", Image: "other"}, ccepolicy.Options{}, "no image"},
	} {
		_, err := ccepolicy.Generate(ccepolicy.Pod{Containers: []ccepolicy.Container{tc.c}}, images, tc.opts)
		if !errors.Is(err, ccepolicy.ErrInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Generate = %v; want ErrInput mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := ccepolicy.Generate(ccepolicy.Pod{}, images, ccepolicy.Options{}); !errors.Is(err, ccepolicy.ErrInput) {
		t.Errorf("Generate(empty pod) = %v; want ErrInput", err)
	}
}
