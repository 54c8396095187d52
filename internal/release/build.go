package release

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

// What the build compiles and where the version goes.
const (
	MainPackage   = "./cmd/uid2-operator"
	VersionSymbol = "github.com/uid2-private-operator/uid2-operator/internal/cli.version"
	// buildTimeout bounds one `go build`; a cold build with module downloads
	// takes a few minutes on 2 cores.
	buildTimeout = 15 * time.Minute
)

// BuildArgs returns the `go build` arguments that produce the operator
// binary at out: no file paths (-trimpath), no build id, no VCS stamp (which
// flips with untracked files), stripped, version set by the linker.
func BuildArgs(out, version string) []string {
	return []string{
		"build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X " + VersionSymbol + "=" + version,
		"-o", out, MainPackage,
	}
}

// BuildEnv returns environ with every variable that changes the compiled
// bytes pinned: a static (CGO_ENABLED=0) linux binary for goarch at the
// baseline GOAMD64=v1; module mode with no go.work from a parent directory
// (which could swap dependency versions); no FIPS 140 module; no GOFLAGS or
// GOEXPERIMENT from the caller's machine; and GOTOOLCHAIN=toolchain when toolchain is not empty (go.mod's toolchain
// line, see Toolchain): the go command then runs exactly that release,
// downloading it from the module proxy if the local Go is another one.
func BuildEnv(environ []string, goarch, toolchain string) []string {
	pinned := []string{
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch, "GOAMD64=v1", "GOARM64=v8.0",
		"GO111MODULE=on", "GOWORK=off", "GOFIPS140=off", "GOFLAGS=", "GOEXPERIMENT=",
	}
	if toolchain != "" {
		pinned = append(pinned, "GOTOOLCHAIN="+toolchain)
	}
	out := make([]string, 0, len(environ)+len(pinned))
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		if !isPinned(key, pinned) {
			out = append(out, kv)
		}
	}
	return append(out, pinned...)
}

// Toolchain returns the Go release that the go.mod of the module at dir pins
// with its toolchain line ("go1.26.8"), or "" when it has none. The
// toolchain compiles the binary, so it is an input of the image digest;
// pinning it in go.mod makes it part of the commit.
func Toolchain(dir string) (string, error) {
	b, err := readBounded(filepath.Join(dir, "go.mod"), 1<<20)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "toolchain" {
			if !toolchainName.MatchString(f[1]) {
				return "", fmt.Errorf("go.mod: toolchain %q is not a Go release name like go1.26.8", f[1])
			}
			return f[1], nil
		}
	}
	return "", nil
}

var toolchainName = regexp.MustCompile(`^go1\.[0-9]+(\.[0-9]+)?$`)

func isPinned(key string, pinned []string) bool {
	for _, p := range pinned {
		if strings.HasPrefix(p, key+"=") {
			return true
		}
	}
	return false
}

// ErrNotELF reports that the build produced something other than a Linux executable.
var ErrNotELF = errors.New("release: build output is not an ELF executable")

// Build compiles MainPackage of the module at dir with BuildArgs and
// BuildEnv(environ, goarch, Toolchain(dir)) and returns the binary's bytes.
// The compiler's output goes to log.
func Build(ctx context.Context, dir, version, goarch string, environ []string, log io.Writer) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "uid2-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "uid2-operator")
	if err := BuildTo(ctx, dir, out, version, goarch, environ, log); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return nil, ErrNotELF
	}
	if len(bin) > ociimage.MaxBinarySize {
		return nil, fmt.Errorf("release: binary is %d bytes; at most %d", len(bin), ociimage.MaxBinarySize)
	}
	return bin, nil
}

// BuildTo is Build writing the binary to the file out (scripts/build.sh).
func BuildTo(ctx context.Context, dir, out, version, goarch string, environ []string, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	toolchain, err := Toolchain(dir)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", BuildArgs(abs, version)...)
	cmd.Dir = dir
	cmd.Env = BuildEnv(environ, goarch, toolchain)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(BuildArgs(abs, version), " "), err)
	}
	return nil
}

// BuildImage builds the operator image from the git checkout of this module
// at dir: ReadSource (IMAGE_VERSION and SOURCE_DATE_EPOCH from environ),
// Build, then ociimage.Image with caCerts (nil: the pinned bundle). Progress
// and warnings (uncommitted changes, a toolchain other than the pinned one)
// go to log. It is what `uid2-release image` runs; the returned image is in
// memory, for ociimage.WriteLayout or ociimage.Push.
func BuildImage(ctx context.Context, dir string, environ []string, caCerts []byte, log io.Writer) (v1.Image, Source, error) {
	src, err := ReadSource(ctx, dir, getenvFrom(environ))
	if err != nil {
		return nil, src, err
	}
	if src.Dirty {
		fmt.Fprintf(log, "uid2-release: warning: %s has uncommitted changes; this image cannot be rebuilt from %s\n", dir, src.Revision)
	}
	toolchain, err := Toolchain(dir)
	if err != nil {
		return nil, src, err
	}
	if toolchain != "" && runtime.Version() != toolchain {
		// The layers are gzipped in this process, by this Go's compress/gzip.
		fmt.Fprintf(log, "uid2-release: warning: running on %s, not the pinned %s; run it with GOTOOLCHAIN=%s for a digest other machines reproduce\n",
			runtime.Version(), toolchain, toolchain)
	}
	fmt.Fprintf(log, "uid2-release: building %s (version %s, revision %s, time %s, toolchain %s)\n",
		MainPackage, src.Version, src.Revision, src.Time.Format(time.RFC3339), cmp.Or(toolchain, "local"))
	bin, err := Build(ctx, dir, src.Version, ociimage.DefaultArchitecture, environ, log)
	if err != nil {
		return nil, src, err
	}
	img, err := ociimage.Image(ociimage.Spec{
		Binary:   bin,
		CACerts:  caCerts,
		Version:  src.Version,
		Revision: src.Revision,
		Created:  src.Time,
	})
	return img, src, err
}
