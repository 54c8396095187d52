package release_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
	"github.com/uid2-private-operator/uid2-operator/internal/release"
)

// commitTime is the fake checkout's commit time: the default image time.
var commitTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// gitEnv isolates git from the user's configuration and pins commit dates.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE="+commitTime.Format(time.RFC3339), "GIT_COMMITTER_DATE="+commitTime.Format(time.RFC3339),
	)
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// fakeCheckout is a git repository with the operator's module path and a
// tiny cmd/uid2-operator whose version the linker sets, tagged v0.1.0. It
// builds in a second where the real operator takes minutes.
func fakeCheckout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	files := map[string]string{
		"go.mod":                     "module github.com/uid2-private-operator/uid2-operator\n\ngo 1.26\n",
		"internal/cli/version.go":    "package cli\n\nvar version = \"dev\"\n\nfunc Version() string { return version }\n",
		"cmd/uid2-operator/main.go":  "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/uid2-private-operator/uid2-operator/internal/cli\"\n)\n\nfunc main() { fmt.Println(cli.Version()) }\n",
		"cmd/uid2-operator/extra.go": "package main\n\nconst extra = 1\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, "git", "init", "-q", "-b", "main")
	run(t, dir, "git", "add", ".")
	run(t, dir, "git", "commit", "-q", "-m", "fake operator")
	run(t, dir, "git", "tag", "v0.1.0")
	return dir
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestReadSource(t *testing.T) {
	dir := fakeCheckout(t)
	rev := run(t, dir, "git", "rev-parse", "HEAD")
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		getenv      func(string) string
		wantVersion string
		wantTime    time.Time
		wantErr     string
	}{
		{"from git", env(), "v0.1.0", commitTime, ""},
		{"IMAGE_VERSION", env("IMAGE_VERSION", "1.2.3"), "1.2.3", commitTime, ""},
		{"SOURCE_DATE_EPOCH", env("SOURCE_DATE_EPOCH", "1700000000"), "v0.1.0", time.Unix(1700000000, 0).UTC(), ""},
		{"SOURCE_DATE_EPOCH zero", env("SOURCE_DATE_EPOCH", "0"), "v0.1.0", time.Unix(0, 0).UTC(), ""},
		{"SOURCE_DATE_EPOCH not a number", env("SOURCE_DATE_EPOCH", "2026-01-01"), "", time.Time{}, `SOURCE_DATE_EPOCH: want Unix seconds between 0 and 253402300799 (got "2026-01-01")`},
		{"SOURCE_DATE_EPOCH negative", env("SOURCE_DATE_EPOCH", "-5"), "", time.Time{}, "SOURCE_DATE_EPOCH: want Unix seconds"},
		{"IMAGE_VERSION with a space", env("IMAGE_VERSION", "1 2"), "", time.Time{}, `IMAGE_VERSION: must not contain spaces or control characters (got "1 2")`},
	} {
		src, err := release.ReadSource(ctx, dir, tc.getenv)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: ReadSource = %v; want error containing %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ReadSource: %v", tc.name, err)
			continue
		}
		if src.Version != tc.wantVersion || src.Revision != rev || !src.Time.Equal(tc.wantTime) || src.Dirty {
			t.Errorf("%s: ReadSource = %+v; want version %s revision %s time %v clean", tc.name, src, tc.wantVersion, rev, tc.wantTime)
		}
	}

	// An uncommitted change to a tracked file shows in the version.
	if err := os.WriteFile(filepath.Join(dir, "cmd/uid2-operator/extra.go"), []byte("package main\n\nconst extra = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := release.ReadSource(ctx, dir, env())
	if err != nil || !src.Dirty || src.Version != "v0.1.0-dirty" {
		t.Errorf("dirty checkout: ReadSource = %+v, %v; want Dirty and version v0.1.0-dirty", src, err)
	}
	run(t, dir, "git", "commit", "-q", "-am", "second")
	src, err = release.ReadSource(ctx, dir, env())
	if err != nil || !regexp.MustCompile(`^v0\.1\.0-1-g[0-9a-f]{12}$`).MatchString(src.Version) {
		t.Errorf("one commit after the tag: ReadSource = %+v, %v; want version v0.1.0-1-g<12 hex>", src, err)
	}

	if _, err := release.ReadSource(ctx, t.TempDir(), env()); err == nil || !strings.Contains(err.Error(), "not a git checkout") {
		t.Errorf("ReadSource outside git = %v; want 'not a git checkout'", err)
	}
}

func TestBuildEnvPinsWhatChangesTheBinary(t *testing.T) {
	environ := []string{
		"HOME=/home/u", "GOFLAGS=-race -tags=debug", "CGO_ENABLED=1", "GOARCH=arm64", "GOAMD64=v3",
		"GOEXPERIMENT=arenas", "GOOS=darwin", "GOCACHE=/cache", "GOTOOLCHAIN=auto",
		"GOWORK=/home/u/go.work", "GO111MODULE=off", "GOFIPS140=latest",
	}
	pinned := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "GOARM64=v8.0",
		"GO111MODULE=on", "GOWORK=off", "GOFIPS140=off", "GOFLAGS=", "GOEXPERIMENT="}
	for _, tc := range []struct {
		toolchain string
		want      []string
	}{
		{"", slices.Concat([]string{"HOME=/home/u", "GOCACHE=/cache", "GOTOOLCHAIN=auto"}, pinned)},
		{"go1.26.8", slices.Concat([]string{"HOME=/home/u", "GOCACHE=/cache"}, pinned, []string{"GOTOOLCHAIN=go1.26.8"})},
	} {
		if got := release.BuildEnv(environ, "amd64", tc.toolchain); !slices.Equal(got, tc.want) {
			t.Errorf("BuildEnv(toolchain %q) = %q;\nwant %q", tc.toolchain, got, tc.want)
		}
	}
}

func TestToolchain(t *testing.T) {
	for _, tc := range []struct {
		gomod, want, wantErr string
	}{
		{"module m\n\ngo 1.26.0\n\ntoolchain go1.26.8\n", "go1.26.8", ""},
		{"module m\n\ngo 1.26.0\n", "", ""},
		{"module m\ntoolchain default\n", "", `toolchain "default" is not a Go release name`},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tc.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := release.Toolchain(dir)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Toolchain(%q) = %q, %v; want %q, %q", tc.gomod, got, err, tc.want, tc.wantErr)
		}
	}
	// This module pins its toolchain: it is an input of the image digest.
	if got, err := release.Toolchain("../.."); err != nil || !strings.HasPrefix(got, "go1.") {
		t.Errorf("Toolchain(this module) = %q, %v; want go.mod to pin a toolchain", got, err)
	}
}

func TestBuildArgs(t *testing.T) {
	got := release.BuildArgs("/out/uid2-operator", "1.2.3")
	want := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X github.com/uid2-private-operator/uid2-operator/internal/cli.version=1.2.3",
		"-o", "/out/uid2-operator", "./cmd/uid2-operator"}
	if !slices.Equal(got, want) {
		t.Errorf("BuildArgs = %q;\nwant %q", got, want)
	}
}

// mainOut runs release.Main and returns its exit code, stdout and stderr.
func mainOut(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := release.Main(context.Background(), args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

var digestLine = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// disturb makes a clone look as different as a user's machine can: other
// file modes (as a restrictive umask leaves them) and other mtimes.
func disturb(t *testing.T, dir string, mtime time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || strings.Contains(path, string(filepath.Separator)+".git") {
			return err
		}
		mode := os.FileMode(0o600)
		if d.IsDir() {
			mode = 0o700
		}
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		return os.Chtimes(path, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageReproducibleAcrossClones is the acceptance test in small:
// two clones at different paths, with different file modes and mtimes, build
// to the same digest, and the image runs the binary with the git version.
func TestImageReproducibleAcrossClones(t *testing.T) {
	origin := fakeCheckout(t)
	var digests []string
	var layoutDir string
	for i, mtime := range []time.Time{time.Unix(1, 0), time.Now().Add(time.Hour)} {
		clone := filepath.Join(t.TempDir(), strings.Repeat("deeper/", i), "clone")
		run(t, t.TempDir(), "git", "clone", "-q", origin, clone)
		disturb(t, clone, mtime)
		layoutDir = filepath.Join(t.TempDir(), "oci")
		code, stdout, stderr := mainOut(t, os.Environ(), "image", "--oci-layout", layoutDir, "--source", clone)
		if code != release.ExitOK {
			t.Fatalf("image from clone %d: exit %d\n%s", i, code, stderr)
		}
		d := lastLine(stdout)
		if !digestLine.MatchString(d) {
			t.Fatalf("image: last stdout line %q is not a digest\n%s", d, stdout)
		}
		img, err := ociimage.ReadLayout(layoutDir)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := img.Digest(); got.String() != d {
			t.Errorf("layout holds %s; stdout says %s", got, d)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("two clones of one commit gave %s and %s", digests[0], digests[1])
	}

	// The image's binary is the build of the checkout, version from git.
	img, err := ociimage.ReadLayout(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	rev := run(t, origin, "git", "rev-parse", "HEAD")
	if cf.Config.Labels["org.opencontainers.image.revision"] != rev || cf.Config.Labels["org.opencontainers.image.version"] != "v0.1.0" ||
		!cf.Created.Time.Equal(commitTime) {
		t.Errorf("labels %v created %v; want revision %s version v0.1.0 created %v", cf.Config.Labels, cf.Created.Time, rev, commitTime)
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cannot run a linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := extract(t, img, "app/uid2-operator")
	path := filepath.Join(t.TempDir(), "op")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path).Output()
	if err != nil || strings.TrimSpace(string(out)) != "v0.1.0" {
		t.Errorf("image binary printed %q, %v; want the version v0.1.0", out, err)
	}
}

// extract returns the file name from img's flattened filesystem.
func extract(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in image: %v", name, err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func TestImagePush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	environ := append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "IMAGE_VERSION=1.0.0", "SOURCE_DATE_EPOCH=1700000000")
	ref := host + "/uid2/operator:1.0.0"
	code, stdout, stderr := mainOut(t, environ, "image", "--push", ref, "--source", fakeCheckout(t))
	if code != release.ExitOK {
		t.Fatalf("image --push: exit %d\n%s", code, stderr)
	}
	d := lastLine(stdout)
	if !digestLine.MatchString(d) || !strings.Contains(stdout, "pushed: "+host+"/uid2/operator@"+d+"\n") {
		t.Fatalf("image --push stdout:\n%s\nwant a pushed: line and the digest last", stdout)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if got, _ := img.Digest(); got.String() != d {
		t.Errorf("registry holds %s for %s; stdout says %s", got, ref, d)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; v != "1.0.0" || cf.Created.Unix() != 1700000000 {
		t.Errorf("pushed image version %q created %v; want IMAGE_VERSION 1.0.0 and SOURCE_DATE_EPOCH 1700000000", v, cf.Created.Time)
	}
}

// TestPushLayout pushes what `image --oci-layout` wrote, without a rebuild.
func TestPushLayout(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := ociimage.Image(ociimage.Spec{Binary: []byte("bin"), Version: "1", Revision: "abc", Created: commitTime})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	want, err := ociimage.WriteLayout(dir, img, "1")
	if err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	ref := host + "/uid2/operator:1"
	code, stdout, stderr := mainOut(t, environ, "push", "--oci-layout", dir, ref)
	if code != release.ExitOK {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	if wantOut := "pushed: " + host + "/uid2/operator@" + want.String() + "\n" + want.String() + "\n"; stdout != wantOut {
		t.Errorf("push stdout %q; want %q", stdout, wantOut)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if d, _ := got.Digest(); d != want {
		t.Errorf("registry holds %s; pushed %s", d, want)
	}
}

func TestBinaryCommand(t *testing.T) {
	src := fakeCheckout(t)
	out := filepath.Join(t.TempDir(), "bin", "uid2-operator")
	code, stdout, stderr := mainOut(t, os.Environ(), "binary", "-o", out, "--source", src)
	if code != release.ExitOK {
		t.Fatalf("binary: exit %d\n%s", code, stderr)
	}
	if want := "built " + out + " (version v0.1.0)\n"; stdout != want {
		t.Errorf("binary stdout %q; want %q", stdout, want)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		t.Errorf("binary wrote %d bytes, %v; want an ELF executable", len(b), err)
	}
}

func TestMainUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{nil, release.ExitUsage, "USAGE"},
		{[]string{"build"}, release.ExitUsage, `unknown command "build"`},
		{[]string{"image"}, release.ExitUsage, "give --oci-layout DIR, --push REF or both"},
		{[]string{"image", "--oci-layout"}, release.ExitUsage, "flag needs an argument: -oci-layout"},
		{[]string{"image", "--oci-layout", "x", "extra"}, release.ExitUsage, `unexpected argument "extra"`},
		{[]string{"image", "--push", "r", "--push-timeout", "0s"}, release.ExitUsage, "--push-timeout: must be positive"},
		{[]string{"image", "--oci-layout", "x", "--ca-bundle", os.DevNull}, release.ExitError, "holds no PEM certificate"},
		{[]string{"image", "--oci-layout", "x", "--source", os.TempDir()}, release.ExitError, "not a git checkout"},
		{[]string{"push", "--oci-layout", "x"}, release.ExitUsage, "want exactly one registry reference REF after the flags (got 0 arguments)"},
		{[]string{"push", "r"}, release.ExitUsage, "--oci-layout DIR is required"},
		// A bad reference or layout directory is refused before the build or the layout is read.
		{[]string{"image", "--oci-layout", ".", "--source", os.TempDir()}, release.ExitUsage, "--oci-layout: oci layout: . is neither empty nor an OCI image layout"},
		{[]string{"image", "--push", "bad ref!", "--source", os.TempDir()}, release.ExitUsage, `--push: "bad ref!" is not a registry reference`},
		{[]string{"push", "--oci-layout", os.TempDir(), "Bad/Ref"}, release.ExitUsage, `REF: "Bad/Ref" is not a registry reference`},
		{[]string{"push", "--oci-layout", os.TempDir(), "r"}, release.ExitError, "oci layout"},
		{[]string{"help"}, release.ExitOK, ""},
	} {
		code, _, stderr := mainOut(t, os.Environ(), tc.args...)
		if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
			t.Errorf("Main(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.wantCode, tc.wantErr)
		}
	}
}

// A build of uncommitted changes says so: in the version, the label and a
// warning, because nobody can rebuild that image from the commit.
func TestBuildImageDirtyCheckout(t *testing.T) {
	dir := fakeCheckout(t)
	if err := os.WriteFile(filepath.Join(dir, "cmd/uid2-operator/extra.go"), []byte("package main\n\nconst extra = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	img, src, err := release.BuildImage(context.Background(), dir, os.Environ(), nil, &log)
	if err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, log.String())
	}
	if !src.Dirty || src.Version != "v0.1.0-dirty" || !strings.Contains(log.String(), "has uncommitted changes; this image cannot be rebuilt from "+src.Revision) {
		t.Errorf("BuildImage of a dirty checkout: source %+v, log %q; want Dirty, version v0.1.0-dirty and a warning", src, log.String())
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; v != "v0.1.0-dirty" {
		t.Errorf("version label %q; want v0.1.0-dirty", v)
	}
}
