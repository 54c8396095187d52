// Package release turns a git checkout of this module into the reproducible
// uid2-operator image (issue 9 item 1): it reads the source facts from git,
// builds the static binary with fixed flags and hands both to
// internal/ociimage. cmd/uid2-release is its command line (Main) and
// scripts/build.sh calls it, so every build of the binary uses BuildArgs.
//
// Only these inputs reach the image digest: the commit's tree, the version
// (IMAGE_VERSION or `git describe`), the time (SOURCE_DATE_EPOCH or the commit
// time), the Go toolchain version and the pinned CA bundle. The clone's path,
// the umask, file mtimes, the user's GOFLAGS and the build machine's CA store
// do not.
package release

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Environment variables that override what git says.
const (
	// EnvVersion sets the version (default: `git describe --tags --always --dirty --abbrev=12`).
	EnvVersion = "IMAGE_VERSION"
	// EnvSourceDateEpoch sets every image timestamp, in Unix seconds (default: the commit time).
	// See https://reproducible-builds.org/specs/source-date-epoch/.
	EnvSourceDateEpoch = "SOURCE_DATE_EPOCH"
)

// gitTimeout bounds each git call; they are all local.
const gitTimeout = 30 * time.Second

// Source is what the image records about the checkout it was built from.
type Source struct {
	Version  string    // IMAGE_VERSION, else git describe
	Revision string    // full commit id (git rev-parse HEAD)
	Time     time.Time // SOURCE_DATE_EPOCH, else the commit time; UTC, whole seconds
	// Dirty reports uncommitted changes to tracked files: the binary then
	// holds code that Revision does not, and nobody can rebuild it.
	Dirty bool
}

// ReadSource reads the Source of the git checkout at dir. getenv supplies
// EnvVersion and EnvSourceDateEpoch (os.Getenv in the command; a map in tests).
func ReadSource(ctx context.Context, dir string, getenv func(string) string) (Source, error) {
	var src Source
	rev, err := git(ctx, dir, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return src, fmt.Errorf("source %s: not a git checkout with a commit: %w", dir, err)
	}
	src.Revision = rev
	status, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return src, fmt.Errorf("source %s: %w", dir, err)
	}
	src.Dirty = status != ""

	if v := getenv(EnvSourceDateEpoch); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 || secs > 253402300799 { // 9999-12-31T23:59:59Z
			return src, fmt.Errorf("%s: want Unix seconds between 0 and 253402300799 (got %q)", EnvSourceDateEpoch, v)
		}
		src.Time = time.Unix(secs, 0).UTC()
	} else {
		ct, err := git(ctx, dir, "log", "-1", "--format=%ct", "HEAD")
		if err != nil {
			return src, fmt.Errorf("source %s: commit time: %w", dir, err)
		}
		secs, err := strconv.ParseInt(ct, 10, 64)
		if err != nil {
			return src, fmt.Errorf("source %s: commit time %q: %w", dir, ct, err)
		}
		src.Time = time.Unix(secs, 0).UTC()
	}

	if v := getenv(EnvVersion); v != "" {
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return src, fmt.Errorf("%s: must not contain spaces or control characters (got %q)", EnvVersion, v)
		}
		src.Version = v
	} else {
		// --abbrev=12 is a minimum; git lengthens it only when ambiguous,
		// which two clones of one repository agree on.
		v, err := git(ctx, dir, "describe", "--tags", "--always", "--dirty", "--abbrev=12")
		if err != nil {
			return src, fmt.Errorf("source %s: version: %w", dir, err)
		}
		src.Version = v
	}
	return src, nil
}

// git runs git in dir and returns its trimmed stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}
