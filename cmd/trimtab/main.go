// Command trimtab is the release-safety and autoscaling controller for
// Kubernetes. One binary carries every subcommand: the controller itself and
// the offline tools (judge, replay, version) that share its decision code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitUsage is returned for bad flags and bad input, so that scripts can tell
// "you called me wrong" (2) from "the work failed" (1).
const exitUsage = 2

// usageError marks errors caused by the caller's input rather than by the work.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func newUsageError(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with explicit streams and returns the process exit code;
// tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "trimtab: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return 1
}

// usageArgs makes a positional-argument check fail as a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "trimtab",
		Short: "Release-safety and autoscaling controller for Kubernetes",
		Long: `trimtab is the release-safety and autoscaling controller for Kubernetes. It
collects app, business and CloudWatch metrics, judges canaries against their
baselines, scales workloads and promotes or rolls back releases.`,
		Args: usageArgs(cobra.NoArgs),
		// Runnable, so that cobra validates arguments and `trimtab nope` is
		// an error rather than a help page.
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(
		newControllerCmd(),
		newVersionCmd(),
		newReplayCmd(),
		newJudgeCmd(),
	)
	return root
}
