package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
// baseline GOAMD64=v1, and no GOFLAGS or GOEXPERIMENT from the caller's
// machine. The Go toolchain itself (go.mod, GOTOOLCHAIN) is left alone: its
// version is an input of the digest.
func BuildEnv(environ []string, goarch string) []string {
	pinned := []string{
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch, "GOAMD64=v1", "GOARM64=v8.0",
		"GOFLAGS=", "GOEXPERIMENT=",
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
// BuildEnv(environ, goarch) and returns the binary's bytes. The compiler's
// output goes to log.
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
	cmd := exec.CommandContext(ctx, "go", BuildArgs(abs, version)...)
	cmd.Dir = dir
	cmd.Env = BuildEnv(environ, goarch)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(BuildArgs(abs, version), " "), err)
	}
	return nil
}
