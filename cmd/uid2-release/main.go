// Command uid2-release builds the uid2-operator container image reproducibly
// without a Docker engine: `uid2-release image --oci-layout DIR` writes an OCI
// image layout and prints its digest; `--push REF` pushes it. See
// internal/release.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/uid2-private-operator/uid2-operator/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := release.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
