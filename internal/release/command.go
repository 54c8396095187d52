package release

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

// Exit codes of Main.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// DefaultPushTimeout bounds a whole --push upload.
const DefaultPushTimeout = 10 * time.Minute

const usage = `uid2-release builds the uid2-operator container image reproducibly, without a
Docker engine.

USAGE
  uid2-release image [--oci-layout DIR] [--push REF] [flags]
  uid2-release push --oci-layout DIR [--push-timeout D] REF
  uid2-release binary [-o FILE] [--source DIR]

COMMANDS
  image    build the static binary and the OCI image; write it as an OCI image
           layout and/or push it. Prints the image digest (sha256:…) as the
           last line of stdout.
  push     push the image of an OCI image layout written by "image" to REF
           without rebuilding it. Prints the digest as the last line.
  binary   build only the static binary, with the same flags (scripts/build.sh).

ENVIRONMENT
  IMAGE_VERSION      version (default: git describe --tags --always --dirty --abbrev=12)
  SOURCE_DATE_EPOCH  every timestamp in the image, Unix seconds (default: the commit time)
  DOCKER_CONFIG      where --push and push find credentials (default ~/.docker; az acr login
                     writes there); without a Docker config, podman's auth.json

EXAMPLES
  go run ./cmd/uid2-release image --oci-layout out/oci
  az acr login -n myacr
  go run ./cmd/uid2-release image --push myacr.azurecr.io/uid2-operator:1.2.3
  go run ./cmd/uid2-release push --oci-layout out/oci myacr.azurecr.io/uid2-operator:1.2.3

EXIT CODES
  0 success, 1 build or push failed, 2 bad command line
`

// Main runs the uid2-release command line. environ is the process
// environment (os.Environ()): the build and the defaults read it, nothing
// else does.
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "image":
		err = runImage(ctx, args[1:], environ, stdout, stderr)
	case "push":
		err = runPush(ctx, args[1:], stdout, stderr)
	case "binary":
		err = runBinary(ctx, args[1:], environ, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "uid2-release: unknown command %q\n\n%s", args[0], usage)
		return ExitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "uid2-release %s: %v\n", args[0], err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "uid2-release %s: %v\n", args[0], err)
		return ExitError
	}
}

type usageError struct{ error }

func getenvFrom(environ []string) func(string) string {
	return func(key string) string {
		for i := len(environ) - 1; i >= 0; i-- { // the last one wins, as in exec
			if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

func newFlagSet(name string, stderr io.Writer, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nFLAGS\n", help)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func runImage(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("image", stderr, "uid2-release image [--oci-layout DIR] [--push REF] [flags]")
	layoutDir := fs.String("oci-layout", "", "write the image as an OCI image layout in `DIR` (missing, empty or an earlier layout)")
	pushRef := fs.String("push", "", "push the image to registry reference `REF` (registry/repository:tag) with the Docker config credentials")
	source := fs.String("source", ".", "git checkout of this module to build")
	caBundle := fs.String("ca-bundle", "", "PEM `FILE` for /etc/ssl/certs/ca-certificates.crt (default: the pinned Mozilla bundle; another file changes the digest)")
	pushTimeout := fs.Duration("push-timeout", DefaultPushTimeout, "bound on the whole push")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *layoutDir == "" && *pushRef == "" {
		return usageError{errors.New("give --oci-layout DIR, --push REF or both")}
	}
	if *pushTimeout <= 0 {
		return usageError{fmt.Errorf("--push-timeout: must be positive (got %s)", *pushTimeout)}
	}
	if *layoutDir != "" {
		if err := ociimage.CheckLayoutDir(*layoutDir); err != nil {
			return usageError{fmt.Errorf("--oci-layout: %w", err)}
		}
	}
	if *pushRef != "" {
		// Checked before the build, which takes a minute, as --oci-layout is.
		if err := checkRef("--push", *pushRef); err != nil {
			return err
		}
	}
	var certs []byte
	if *caBundle != "" {
		b, err := readBounded(*caBundle, 4<<20)
		if err != nil {
			return fmt.Errorf("--ca-bundle: %w", err)
		}
		if !bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
			return fmt.Errorf("--ca-bundle: %s holds no PEM certificate", *caBundle)
		}
		certs = b
	}

	img, src, err := BuildImage(ctx, *source, environ, certs, stderr)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version: %s\nrevision: %s\ncreated: %s\n", src.Version, src.Revision, src.Time.Format(time.RFC3339))
	if *layoutDir != "" {
		if _, err := ociimage.WriteLayout(*layoutDir, img, src.Version); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "oci-layout: %s\n", *layoutDir)
	}
	if *pushRef != "" {
		if err := push(ctx, *pushRef, img, *pushTimeout, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, digest)
	return nil
}

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("push", stderr, "uid2-release push --oci-layout DIR [--push-timeout D] REF")
	layoutDir := fs.String("oci-layout", "", "OCI image layout `DIR` written by uid2-release image")
	pushTimeout := fs.Duration("push-timeout", DefaultPushTimeout, "bound on the whole push")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("want exactly one registry reference REF after the flags (got %d arguments)", fs.NArg())}
	}
	if *layoutDir == "" {
		return usageError{errors.New("--oci-layout DIR is required")}
	}
	if *pushTimeout <= 0 {
		return usageError{fmt.Errorf("--push-timeout: must be positive (got %s)", *pushTimeout)}
	}
	if err := checkRef("REF", fs.Arg(0)); err != nil {
		return err
	}
	img, err := ociimage.ReadLayout(*layoutDir)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := push(ctx, fs.Arg(0), img, *pushTimeout, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, digest)
	return nil
}

// checkRef rejects a registry reference that cannot be parsed, naming the
// flag or argument it came from.
func checkRef(what, ref string) error {
	if _, err := name.ParseReference(ref); err != nil {
		return usageError{fmt.Errorf("%s: %q is not a registry reference (registry/repository:tag or @sha256:...): %w", what, ref, err)}
	}
	return nil
}

func push(ctx context.Context, ref string, img v1.Image, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pushed, err := ociimage.Push(ctx, ref, img, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed: %s\n", pushed)
	return nil
}

func runBinary(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("binary", stderr, "uid2-release binary [-o FILE] [--source DIR]")
	out := fs.String("o", "bin/uid2-operator", "output `FILE`")
	source := fs.String("source", ".", "module directory to build")
	if err := parse(fs, args); err != nil {
		return err
	}
	getenv := getenvFrom(environ)
	version := getenv(EnvVersion)
	if version == "" {
		src, err := ReadSource(ctx, *source, getenv)
		if err != nil {
			// A source archive or a Docker context without .git still builds.
			fmt.Fprintf(stderr, "uid2-release: %v; version \"dev\"\n", err)
			version = "dev"
		} else {
			version = src.Version
		}
	} else if strings.ContainsFunc(version, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%s: must not contain spaces or control characters (got %q)", EnvVersion, version)
	}
	if err := BuildTo(ctx, *source, *out, version, ociimage.DefaultArchitecture, environ, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s (version %s)\n", *out, version)
	return nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
