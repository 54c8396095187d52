// Package cli wires the uid2-operator subcommands (serve, core, request, local, load, aks)
// to the domain packages. It is the only package that imports cobra.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes returned by Run.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks errors caused by bad flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// streams are the process's standard streams, passed to every subcommand.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := streams{in: stdin, out: stdout, err: stderr}
	root := newRootCommand(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ce interface{ ExitCode() int }
	if errors.As(err, &ce) {
		// Coded start-up errors (Exx) are one self-contained line.
		fmt.Fprintln(stderr, err)
		return ce.ExitCode()
	}
	fmt.Fprintf(stderr, "uid2-operator: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

func newRootCommand(s streams) *cobra.Command {
	serve := newServeCommand(s)
	root := &cobra.Command{
		Use:           "uid2-operator",
		Short:         "UID2 private operator",
		Long:          "uid2-operator is a UID2 private operator. With no subcommand it runs `serve`.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          serve.RunE,
	}
	root.Flags().AddFlagSet(serve.Flags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(serve)
	// One line per subcommand; keep the list explicit (no init-time registration).
	root.AddCommand(
		newAKSCommand(s),
		newCoreCommand(s),
		newLoadCommand(s),
		newLocalCommand(s),
		newRequestCommand(s),
	)
	return root
}

// version is the build's version, set by the linker (scripts/build.sh,
// Dockerfile: -X …/internal/cli.version=$IMAGE_VERSION).
var version = "dev"
