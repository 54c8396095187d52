package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

// policyImages writes a stand-in operator image (as uid2-release builds
// it) and a stand-in SKR image to OCI layouts and returns their sources.
func policyImages(t *testing.T, build string) (operator, sidecar string) {
	t.Helper()
	op, err := ociimage.Image(ociimage.Spec{Binary: []byte("stand-in operator " + build), Version: "5.0.0-test", Revision: strings.Repeat("0", 40), Created: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	skr, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	skr = withConfig(t, skr, func(c *v1.Config) { c.Cmd = []string{"/skr.sh"} })
	dirs := [2]string{filepath.Join(t.TempDir(), "op"), filepath.Join(t.TempDir(), "skr")}
	for i, img := range []v1.Image{op, skr} {
		if _, err := ociimage.WriteLayout(dirs[i], img, ""); err != nil {
			t.Fatal(err)
		}
	}
	return "oci:" + dirs[0], "oci:" + dirs[1]
}

func withConfig(t *testing.T, img v1.Image, f func(*v1.Config)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	f(&cf.Config)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var reEnclaveID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// aks policy writes a policy that aks render takes as it is, and both
// print the same enclave id: the SHA-256 of the decoded file.
func TestAKSPolicyThenRender(t *testing.T) {
	guideEnv(t)
	op, skr := policyImages(t, "a")
	policyFile := filepath.Join(t.TempDir(), "cce-policy.base64")
	code, out, errOut := runAKS(t, "policy", "--image", op, "--sidecar-image", skr, "--output", policyFile)
	if code != ExitOK {
		t.Fatalf("aks policy = %d\n%s%s", code, out, errOut)
	}
	id := lastLine(out)
	if !reEnclaveID.MatchString(id) {
		t.Fatalf("last line %q is not an enclave id\n%s", id, out)
	}
	if n := strings.Count(errOut, "dm-verity root hash"); n != 3 {
		t.Errorf("stderr shows %d layer hashes; want 3:\n%s", n, errOut)
	}
	b, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	rego, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(rego); hex.EncodeToString(sum[:]) != id {
		t.Errorf("enclave id %s is not the SHA-256 of the decoded policy", id)
	}

	rendered := filepath.Join(t.TempDir(), "operator.rendered.yaml")
	code, out, errOut = runAKS(t, "render", "--image", "myacr.azurecr.io/uid2-operator:5.0.0", "--cce-policy-file", policyFile, "-o", rendered)
	if code != ExitOK {
		t.Fatalf("aks render = %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "enclave id: "+id) {
		t.Errorf("render printed %q; want enclave id %s", out, id)
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("render warned about the generated policy:\n%s", errOut)
	}

	// Same images, same policy: stdout mode prints the policy then the id.
	code, out2, _ := runAKS(t, "policy", "--image", op, "--sidecar-image", skr)
	if code != ExitOK || lastLine(out2) != id || !strings.HasPrefix(out2, strings.TrimSpace(string(b))+"\n") {
		t.Errorf("aks policy to stdout = %d\n%s; want the policy then %s", code, out2, id)
	}
}

func TestAKSPolicyRenderWarnsAboutDroppedOverride(t *testing.T) {
	guideEnv(t)
	op, skr := policyImages(t, "a")
	policyFile := filepath.Join(t.TempDir(), "p.base64")
	if code, out, errOut := runAKS(t, "policy", "--image", op, "--sidecar-image", skr, "-o", policyFile); code != ExitOK {
		t.Fatalf("aks policy = %d\n%s%s", code, out, errOut)
	}
	manifest := filepath.Join(t.TempDir(), "operator.yaml")
	withOverride := strings.Replace(string(aksmanifest.Operator), "            - name: VAULT_NAME\n", "            - name: CORE_BASE_URL\n              value: http://core.test\n            - name: VAULT_NAME\n", 1)
	if err := os.WriteFile(manifest, []byte(withOverride), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runAKS(t, "render", "-f", manifest, "--image", "myacr.azurecr.io/uid2-operator:5.0.0", "--cce-policy-file", policyFile, "-o", filepath.Join(t.TempDir(), "r.yaml"))
	if code != ExitOK || !strings.Contains(errOut, "env CORE_BASE_URL is not allowed by the CCE policy") {
		t.Errorf("render = %d; want a warning that CORE_BASE_URL is dropped:\n%s", code, errOut)
	}
	// The same manifest cannot get a production policy at all.
	code, _, errOut = runAKS(t, "policy", "-f", manifest, "--image", op, "--sidecar-image", skr)
	if code != ExitError || !strings.Contains(errOut, "--debug-policy") {
		t.Errorf("aks policy with CORE_BASE_URL = %d; want an error naming --debug-policy:\n%s", code, errOut)
	}
}

func TestAKSPolicyDebugAndErrors(t *testing.T) {
	guideEnv(t)
	op, skr := policyImages(t, "a")
	_, prod, _ := runAKS(t, "policy", "--image", op, "--sidecar-image", skr)
	code, debug, errOut := runAKS(t, "policy", "--image", op, "--sidecar-image", skr, "--debug-policy")
	if code != ExitOK || !strings.Contains(errOut, "DIFFERENT enclave id") || lastLine(debug) == lastLine(prod) {
		t.Errorf("--debug-policy = %d, id %s (production %s)\n%s", code, lastLine(debug), lastLine(prod), errOut)
	}
	opB, _ := policyImages(t, "b")
	if _, other, _ := runAKS(t, "policy", "--image", opB, "--sidecar-image", skr); lastLine(other) == lastLine(prod) {
		t.Error("another operator build gave the same enclave id")
	}
	if code, _, errOut := runAKS(t, "policy", "--sidecar-image", skr); code != ExitUsage || !strings.Contains(errOut, "--image") {
		t.Errorf("no --image = %d\n%s", code, errOut)
	}
	// Each source is checked, naming its flag, before any layer is read.
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--image", "oci:" + t.TempDir(), "--sidecar-image", skr}, "--image: "},
		{[]string{"--image", "oci:", "--sidecar-image", skr}, `--image: no directory after "oci:"`},
		{[]string{"--image", "Bad Ref!", "--sidecar-image", skr}, `--image: "Bad Ref!" is neither oci:DIR nor a registry reference`},
		{[]string{"--image", op, "--sidecar-image", "oci:" + t.TempDir()}, "--sidecar-image: "},
		{[]string{"--image", op, "--sidecar-image", "UPPER/case"}, `--sidecar-image: "UPPER/case" is neither`},
		{[]string{"--image", op, "--sidecar-image", skr, "--output", filepath.Join(t.TempDir(), "missing", "p.base64")}, "--output: "},
		{[]string{"--image", op, "--sidecar-image", skr, "--output", t.TempDir()}, "is a directory"},
	} {
		code, _, errOut := runAKS(t, append([]string{"policy"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("aks policy %q = %d; want a usage error with %q\n%s", tc.args, code, tc.wantErr, errOut)
		}
		if strings.Contains(errOut, "layer") {
			t.Errorf("aks policy %q read layers before refusing a source\n%s", tc.args, errOut)
		}
	}
}

// Own build: step 0 computes the policy of the OCI layout before any
// script exists; the script pushes the layout to IMAGE and renders the
// built-in manifest with that policy.
func TestAKSPlanOwnBuild(t *testing.T) {
	guideEnv(t)
	op, skr := policyImages(t, "a")
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "cce-policy.base64")
	script := filepath.Join(dir, "provision.sh")

	code, _, errOut := runAKS(t, "plan", "--image-source", op, "--sidecar-image", skr, "--cce-policy-file", policyFile, "-o", script)
	if code != ExitUsage || !strings.Contains(errOut, "IMAGE") {
		t.Fatalf("plan without IMAGE = %d; want a usage error naming IMAGE\n%s", code, errOut)
	}
	if _, err := os.Stat(script); err == nil {
		t.Fatal("a script was written although step 0 failed")
	}

	t.Setenv("IMAGE", "myacr.azurecr.io/uid2-operator:5.0.0")
	code, out, errOut := runAKS(t, "plan", "--image-source", op, "--sidecar-image", skr, "--cce-policy-file", policyFile, "-o", script)
	if code != ExitOK {
		t.Fatalf("aks plan = %d\n%s%s", code, out, errOut)
	}
	_, policyOut, _ := runAKS(t, "policy", "--image", op, "--sidecar-image", skr)
	id := lastLine(policyOut)
	if !strings.Contains(out, "enclave id: "+id) || !strings.Contains(errOut, "enclave id "+id) {
		t.Errorf("plan printed\n%s%s\nwant enclave id %s (as aks policy computes it)", out, errOut, id)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	layoutDir := strings.TrimPrefix(op, "oci:")
	for _, want := range []string{
		"ENCLAVE_ID='" + id + "'",
		"IMAGE_LAYOUT='" + layoutDir + "'",
		"CCE_POLICY_FILE='" + policyFile + "'",
		`uid2_release push --oci-layout "$IMAGE_LAYOUT" "$IMAGE"`,
		`aks render --output "$RENDERED_MANIFEST" --cce-policy-file "$CCE_POLICY_FILE"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %s", want)
		}
	}
	if push, render := strings.Index(s, "uid2_release push"), strings.Index(s, "aks render"); push < 0 || render < push {
		t.Errorf("push at %d, render at %d; want the push first", push, render)
	}
}

func TestAKSPlanPolicyFlagsNeedImageSource(t *testing.T) {
	guideEnv(t)
	pf := filepath.Join(t.TempDir(), "p.rego")
	if err := os.WriteFile(pf, []byte("package policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{{"--debug-policy"}, {"--sidecar-image", "oci:x"}} {
		args := append([]string{"plan", "--cce-policy-file", pf, "-o", filepath.Join(t.TempDir(), "p.sh")}, extra...)
		if code, _, errOut := runAKS(t, args...); code != ExitUsage || !strings.Contains(errOut, "--image-source") {
			t.Errorf("aks %v = %d; want a usage error naming --image-source\n%s", args, code, errOut)
		}
	}
}
