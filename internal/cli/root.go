package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Global flags, shared by every command.
type globalFlags struct {
	Output string // "table" (default) or "json"
	DB     string // store DSN: a SQLite path or postgres://...; default from SAGETRAIN_DB or the default path
	Debug  bool   // the AWS SDK's own log lines on stderr

	Profile, Region string // --profile/--region of the job commands (addJobAWSFlags)
}

var globals globalFlags

// commands builds every sagetrain command, in the order help lists them.
// This is the one place a command is added: each constructor lives in its
// group's file.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newAttachCmd(),
		newCancelCmd(),
		newCompareCmd(),
		newEventsCmd(),
		newImageCmd(),
		newListCmd(),
		newLocalRunCmd(),
		newLogsCmd(),
		newModelCmd(),
		newQuickstartCmd(),
		newReportCmd(),
		newResumeCmd(),
		newRoleCmd(),
		newSampleDataCmd(),
		newScoreCmd(),
		newServeCmd(),
		newSetupCmd(),
		newStatusCmd(),
		newSubmitCmd(),
		newSweepCmd(),
		newTrainCmd(),
		newUploadCmd(),
		newValidateCmd(),
		newVersionCmd(),
	}
}

// NewRoot builds the root command with every command under it.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "sagetrain",
		Short:         "Train the drawing anomaly detector and manage its training jobs (local or SageMaker)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&globals.Output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().BoolVar(&globals.Debug, "debug", false, "let the AWS SDK's own log lines (retries, requests, checksum and IMDS notices) through to stderr")
	root.PersistentPreRunE = rootPreRun
	root.PersistentFlags().StringVar(&globals.DB, "db", "", "job store: a SQLite file path or a postgres:// URL (default $SAGETRAIN_DB, else the SQLite file in the user's data dir)")
	root.AddCommand(commands()...)
	addJobAWSFlags(root)
	markUsageErrors(root)
	return root
}

// usageError is a mistake in how a command was typed (an unknown flag, a
// missing argument): exit code 2, like other command-line tools.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// markUsageErrors makes every command's flag and argument errors usageErrors.
func markUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// Main runs the CLI and returns the process exit code (see errs.ExitCode).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if code, ok := interruptedExit(ctx, root, args, err, stderr); ok {
		return code
	}
	if err != nil {
		if globals.Output == "json" {
			_ = json.NewEncoder(stderr).Encode(map[string]string{"error": err.Error()})
		} else {
			fmt.Fprintln(stderr, "Error:", err)
		}
		var u usageError
		if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") {
			if globals.Output != "json" {
				fmt.Fprintln(stderr, "Run 'sagetrain --help' or 'sagetrain COMMAND --help' for usage.")
			}
			return 2
		}
		code := errs.ExitCode(err)
		if code == 0 {
			code = 1
		}
		return code
	}
	return 0
}

// jsonOutput reports whether --output json was asked.
func jsonOutput() bool { return globals.Output == "json" }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
