//go:build linux && rego

// These tests load the generated policy into hcsshim's rego enforcer, the
// code the confidential guest (GCS) runs, and replay what the guest does
// when the pod starts. Run them with: go test -tags rego ./internal/ccepolicy/...

package ccepolicy_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Microsoft/hcsshim/ext4/dmverity"
	"github.com/Microsoft/hcsshim/ext4/tar2ext4"
	"github.com/Microsoft/hcsshim/pkg/securitypolicy"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	oci "github.com/opencontainers/runtime-spec/specs-go"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

// releaseImage is the operator image as cmd/uid2-release builds it, with
// a stand-in binary whose bytes depend on build.
func releaseImage(t *testing.T, build string) v1.Image {
	t.Helper()
	img, err := ociimage.Image(ociimage.Spec{
		Binary:   []byte("\x7fELF stand-in uid2-operator, build " + build),
		Version:  "5.0.0-test",
		Revision: "0000000000000000000000000000000000000000",
		Created:  time.Unix(1700000000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// guest replays the confidential guest's calls into the enforcer for one
// pod: one sandbox (the pause container) and its containers.
type guest struct {
	t        *testing.T
	enforcer securitypolicy.SecurityPolicyEnforcer
	sandbox  string
	devices  int
}

// defaultMounts are the mounts the guest adds to every container itself
// (CRI's /proc, /dev, … ); it hands them to the enforcer as defaults.
var defaultMounts = []oci.Mount{
	{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
	{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
	{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
}

func newGuest(t *testing.T, policyBase64 string) *guest {
	t.Helper()
	e, err := securitypolicy.CreateSecurityPolicyEnforcer("rego", policyBase64, defaultMounts, nil, 0)
	if err != nil {
		t.Fatalf("CreateSecurityPolicyEnforcer = %v", err)
	}
	return &guest{t: t, enforcer: e, sandbox: "sandbox0"}
}

// deviceHash is the root hash the guest reads from a layer's dm-verity
// device: hcsshim turns the layer into ext4 plus a hash device, and the
// guest takes the root from its superblock.
func deviceHash(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	path := filepath.Join(t.TempDir(), "layer.vhd")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tar2ext4.Convert(rc, f, tar2ext4.ConvertWhiteout, tar2ext4.MaximumDiskSize(dmverity.RecommendedVHDSizeGB), tar2ext4.AppendDMVerity); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	size, _, err := tar2ext4.Ext4FileSystemSize(f)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dmverity.ReadDMVerityInfo(path, size)
	if err != nil {
		t.Fatal(err)
	}
	return info.RootDigest
}

func imageHashes(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, l := range layers {
		hashes = append(hashes, deviceHash(t, l))
	}
	return hashes
}

// mountLayers mounts each layer device by its hash, then the overlay of
// them, as the guest does before it creates containerID.
func (g *guest) mountLayers(containerID string, hashes []string) error {
	ctx := context.Background()
	var paths []string
	for _, h := range hashes {
		target := "/run/layers/p" + string(rune('a'+g.devices))
		g.devices++
		if err := g.enforcer.EnforceDeviceMountPolicy(ctx, target, h); err != nil {
			return err
		}
		paths = append([]string{target}, paths...) // the overlay lists the top layer first
	}
	return g.enforcer.EnforceOverlayMountPolicy(ctx, containerID, paths, "/run/gcs/c/"+containerID+"/rootfs")
}

// process is what the guest asks create_container to allow.
type process struct {
	args    []string
	env     []string
	workDir string
	mounts  []string // destinations bound from the sandbox (read-write unless in ro)
	ro      []string
	user    string
}

var unprivileged = securitypolicy.DefaultUnprivilegedCapabilities()

func (g *guest) create(containerID string, p process) ([]string, error) {
	var mounts []oci.Mount
	mounts = append(mounts, defaultMounts...)
	for _, d := range p.mounts {
		opt := "rw"
		if slices.Contains(p.ro, d) {
			opt = "ro"
		}
		mounts = append(mounts, oci.Mount{
			Destination: d, Type: "bind", Options: []string{"rbind", "rshared", opt},
			Source: "/run/gcs/c/" + g.sandbox + "/sandboxMounts/tmp/atlas/emptydir/" + containerID + strings.ReplaceAll(d, "/", "_"),
		})
	}
	caps := &oci.LinuxCapabilities{Bounding: unprivileged, Effective: unprivileged, Permitted: unprivileged,
		Inheritable: []string{}, Ambient: []string{}}
	user := securitypolicy.IDName{ID: p.user}
	env, _, _, err := g.enforcer.EnforceCreateContainerPolicy(context.Background(), g.sandbox, containerID, p.args, p.env,
		p.workDir, mounts, false, false, user, []securitypolicy.IDName{{ID: p.user}}, "0022", caps, "")
	return env, err
}

// vn2Mounts are the files a virtual node binds into every container.
var vn2Mounts = []string{"/etc/resolv.conf", "/var/run/secrets/kubernetes.io/serviceaccount", "/etc/hosts", "/dev/termination-log", "/etc/hostname"}

const skrMount = "/opt/confidential-containers/share/kata-containers/reference-info-base64"

// vn2Env is what the platform adds to every container's environment.
var vn2Env = []string{"TERM=xterm", "HOSTNAME=operator-deployment-5d9c7-x2x9q",
	"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443",
	"OPERATOR_SVC_SERVICE_HOST=10.0.12.7", "OPERATOR_SVC_PORT_80_TCP_PORT=80", "IDENTITY_HEADER=opaque"}

func operatorProcess(extraEnv ...string) process {
	env := slices.Concat([]string{"PATH=" + ociimage.Path, "IMAGE_VERSION=5.0.0-test"},
		[]string{"VAULT_NAME=my-vault", "OPERATOR_KEY_SECRET_NAME=opr-key", "DEPLOYMENT_ENVIRONMENT=prod"}, vn2Env, extraEnv)
	return process{args: []string{ociimage.BinaryPath}, env: env, workDir: ociimage.WorkingDir, mounts: vn2Mounts,
		ro: []string{"/var/run/secrets/kubernetes.io/serviceaccount"}, user: "1000"}
}

func skrProcess() process {
	return process{args: []string{"/skr.sh"}, env: slices.Concat([]string{"PATH=" + ociimage.Path, "Port=9000"}, vn2Env),
		workDir: "/", mounts: append(slices.Clone(vn2Mounts), skrMount), ro: []string{"/var/run/secrets/kubernetes.io/serviceaccount"}, user: "0"}
}

// registryPolicy pushes the operator image (build) and the sidecar to an
// in-process registry standing in for ACR and MCR, and generates the
// policy of the built-in manifest from there, as `aks policy` does.
func registryPolicy(t *testing.T, op v1.Image, opts ccepolicy.Options) *ccepolicy.Policy {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	push := func(repo string, img v1.Image) string {
		ref, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	pod := builtinPod(t)
	sources := map[string]string{
		imageOf(pod, aks.OperatorContainer): push("uid2-operator:5.0.0-test", op),
		imageOf(pod, aks.SKRContainer):      push("aci/skr:2.14", sidecarImage(t)),
	}
	var lines bytes.Buffer
	p, err := ccepolicy.Build(context.Background(), ccepolicy.Loader{Insecure: true}, pod, sources, opts,
		func(s string) { lines.WriteString(s + "\n") })
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	if n := strings.Count(lines.String(), "dm-verity root hash"); n != 3 {
		t.Errorf("progress reported %d layers; want 3 (two operator, one sidecar):\n%s", n, lines.String())
	}
	return p
}

// startPod replays the pause container and the SKR sidecar.
func startPod(t *testing.T, g *guest) {
	t.Helper()
	if err := g.mountLayers(g.sandbox, []string{ccepolicy.PauseLayerHash}); err != nil {
		t.Fatalf("pause layers: %v", err)
	}
	if _, err := g.create(g.sandbox, process{args: []string{"/pause"}, env: []string{"PATH=" + ociimage.Path, "TERM=xterm"}, workDir: "/"}); err != nil {
		t.Fatalf("create pause: %v", err)
	}
	if err := g.mountLayers("skr", imageHashes(t, sidecarImage(t))); err != nil {
		t.Fatalf("skr layers: %v", err)
	}
	if _, err := g.create("skr", skrProcess()); err != nil {
		t.Fatalf("create skr: %v", err)
	}
}

func TestEnforcerAllowsThePod(t *testing.T) {
	op := releaseImage(t, "a")
	p := registryPolicy(t, op, ccepolicy.Options{})
	g := newGuest(t, p.Base64())
	startPod(t, g)
	if err := g.mountLayers("operator", imageHashes(t, op)); err != nil {
		t.Fatalf("operator layers: %v", err)
	}
	env, err := g.create("operator", operatorProcess())
	if err != nil {
		t.Fatalf("create operator: %v", err)
	}
	for _, want := range []string{"VAULT_NAME=my-vault", "OPERATOR_KEY_SECRET_NAME=opr-key", "DEPLOYMENT_ENVIRONMENT=prod", "IMAGE_VERSION=5.0.0-test", "KUBERNETES_SERVICE_HOST=10.0.0.1"} {
		if !slices.Contains(env, want) {
			t.Errorf("env kept %v; lacks %s", env, want)
		}
	}
	// kubectl rollout: the kubelet stops the operator with SIGTERM, and it drains.
	if err := g.enforcer.EnforceSignalContainerProcessPolicy(context.Background(), "operator", syscall.SIGTERM, true, []string{ociimage.BinaryPath}); err != nil {
		t.Errorf("SIGTERM to the operator: %v", err)
	}
}

// denied checks that err is the enforcer's deny decision naming reason.
func denied(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed; want denied (%s)", reason)
	}
	decision, derr := securitypolicy.ExtractPolicyDecision(err.Error())
	if derr != nil {
		t.Fatalf("error %v carries no policy decision: %v", err, derr)
	}
	if !strings.Contains(decision, `"decision":"deny"`) || !strings.Contains(decision, reason) {
		t.Errorf("decision %s; want a deny with %q", decision, reason)
	}
}

func TestEnforcerDenies(t *testing.T) {
	op := releaseImage(t, "a")
	p := registryPolicy(t, op, ccepolicy.Options{})

	t.Run("a layer of another build", func(t *testing.T) {
		g := newGuest(t, p.Base64())
		startPod(t, g)
		other := imageHashes(t, releaseImage(t, "b"))
		if other[0] != imageHashes(t, op)[0] {
			t.Fatal("the base layer should not depend on the binary")
		}
		denied(t, g.mountLayers("operator", other), "deviceHash not found")
	})
	t.Run("changed command", func(t *testing.T) {
		g := newGuest(t, p.Base64())
		startPod(t, g)
		if err := g.mountLayers("operator", imageHashes(t, op)); err != nil {
			t.Fatal(err)
		}
		proc := operatorProcess()
		proc.args = append(proc.args, "--platform", "default")
		_, err := g.create("operator", proc)
		denied(t, err, "invalid command")
	})
	t.Run("root user", func(t *testing.T) {
		g := newGuest(t, p.Base64())
		startPod(t, g)
		if err := g.mountLayers("operator", imageHashes(t, op)); err != nil {
			t.Fatal(err)
		}
		proc := operatorProcess()
		proc.user = "0"
		_, err := g.create("operator", proc)
		denied(t, err, "invalid user")
	})
	// The production policy allows env dropping (as UID2's AKS policy
	// does), so the guest starts the operator without the override: it
	// never reaches the process.
	t.Run("CORE_BASE_URL in a non-debug policy", func(t *testing.T) {
		g := newGuest(t, p.Base64())
		startPod(t, g)
		if err := g.mountLayers("operator", imageHashes(t, op)); err != nil {
			t.Fatal(err)
		}
		env, err := g.create("operator", operatorProcess("CORE_BASE_URL=http://attacker.example", "SKIP_VALIDATIONS=true"))
		if err != nil {
			t.Fatalf("create = %v", err)
		}
		for _, e := range env {
			if strings.HasPrefix(e, "CORE_BASE_URL=") || strings.HasPrefix(e, "SKIP_VALIDATIONS=") {
				t.Errorf("the enforcer let %s through", e)
			}
		}
		if !slices.Contains(env, "VAULT_NAME=my-vault") {
			t.Errorf("env kept %v; lacks VAULT_NAME", env)
		}
	})
}

func TestEnforcerDebugPolicyKeepsOverrides(t *testing.T) {
	op := releaseImage(t, "a")
	p := registryPolicy(t, op, ccepolicy.Options{Debug: true})
	g := newGuest(t, p.Base64())
	startPod(t, g)
	if err := g.mountLayers("operator", imageHashes(t, op)); err != nil {
		t.Fatal(err)
	}
	env, err := g.create("operator", operatorProcess("CORE_BASE_URL=http://core.test", "OPTOUT_BASE_URL=http://optout.test"))
	if err != nil {
		t.Fatalf("create = %v", err)
	}
	for _, want := range []string{"CORE_BASE_URL=http://core.test", "OPTOUT_BASE_URL=http://optout.test"} {
		if !slices.Contains(env, want) {
			t.Errorf("debug policy dropped %s (kept %v)", want, env)
		}
	}
}

// The whole chain a user follows: the policy of the image, `aks render`
// with it, then the guest starting the pod the rendered manifest
// describes, with the policy read back from the rendered annotation and
// each process built from the rendered containers (Kubernetes semantics
// for command and args, the virtual node's env and mounts added).
func TestEnforcerAcceptsRenderedManifest(t *testing.T) {
	op := releaseImage(t, "a")
	skr := sidecarImage(t)
	p := registryPolicy(t, op, ccepolicy.Options{})

	v := aks.Default()
	v.KeyVaultName, v.KeyVaultSecretName, v.DeploymentEnv = "my-vn-aks-vault", "my-vn-aks-opr-key-name", "integ"
	v.SubscriptionID, v.ResourceGroup, v.ManagedIdentity = "00000000-1111-2222-3333-444444444444", "my-vn-aks", "my-vn-aks-opr-id"
	v.Image, v.CCEPolicy = "myacr.azurecr.io/uid2-operator:5.0.0", p.Base64()
	r, err := aks.Render(aksmanifest.Operator, v)
	if err != nil {
		t.Fatalf("Render = %v", err)
	}
	if r.EnclaveID != p.EnclaveID() {
		t.Fatalf("rendered enclave id %s; policy %s", r.EnclaveID, p.EnclaveID())
	}
	pod, err := aks.PolicyPod(r.Objects)
	if err != nil {
		t.Fatal(err)
	}
	annotation := r.Objects.Deployments[0].Spec.Template.Annotations[aks.AnnotationCCEPolicy]
	g := newGuest(t, annotation)
	if err := g.mountLayers(g.sandbox, []string{ccepolicy.PauseLayerHash}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.create(g.sandbox, process{args: []string{"/pause"}, env: []string{"PATH=" + ociimage.Path, "TERM=xterm"}, workDir: "/"}); err != nil {
		t.Fatalf("create pause: %v", err)
	}
	images := map[string]v1.Image{aks.OperatorContainer: op, aks.SKRContainer: skr}
	for _, c := range pod.Containers {
		img := images[c.Name]
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		args := slices.Concat(cf.Config.Entrypoint, cf.Config.Cmd)
		if len(c.Command) > 0 {
			args = slices.Concat(c.Command, c.Args)
		}
		proc := process{args: args, env: slices.Clone(cf.Config.Env), workDir: cf.Config.WorkingDir, mounts: slices.Clone(vn2Mounts),
			ro: []string{"/var/run/secrets/kubernetes.io/serviceaccount"}, user: "0"}
		if proc.workDir == "" {
			proc.workDir = "/"
		}
		for _, e := range c.Env {
			proc.env = append(proc.env, e.Name+"="+e.Value)
		}
		proc.env = append(proc.env, vn2Env...)
		for _, m := range c.Mounts {
			proc.mounts = append(proc.mounts, m.Path)
			if m.ReadOnly {
				proc.ro = append(proc.ro, m.Path)
			}
		}
		if c.RunAsUser != nil {
			proc.user = strconv.FormatInt(*c.RunAsUser, 10)
		}
		if err := g.mountLayers(c.Name, imageHashes(t, img)); err != nil {
			t.Fatalf("%s layers: %v", c.Name, err)
		}
		env, err := g.create(c.Name, proc)
		if err != nil {
			t.Fatalf("create %s: %v", c.Name, err)
		}
		for _, e := range c.Env {
			if !slices.Contains(env, e.Name+"="+e.Value) {
				t.Errorf("%s: the enforcer dropped %s=%s", c.Name, e.Name, e.Value)
			}
		}
	}
}
