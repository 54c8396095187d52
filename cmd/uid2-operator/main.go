// Command uid2-operator is a UID2 private operator: the public UID2 API server,
// a stand-in Core for local use, a request client and an AKS deployment toolkit.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/uid2-private-operator/uid2-operator/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
