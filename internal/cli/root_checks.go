package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// rootPreRun runs before every command: it refuses an output format that
// does not exist (-o yaml used to print a table) and sets the SDK's logging.
func rootPreRun(cmd *cobra.Command, _ []string) error {
	switch globals.Output {
	case "table", "json":
	default:
		return usageError{fmt.Errorf("unknown output format %q: use -o table or -o json", globals.Output)}
	}
	awssetup.SetDebug(globals.Debug)
	return nil
}

// interruptedExit: a command stopped by Ctrl-C (or SIGTERM) exits 130, as
// shells expect, with one short line instead of the cancelled call's error.
// A command that says what the interruption left behind (status --watch:
// the job keeps running) keeps that sentence.
// A command that ends cleanly on the signal (serve shutting down) exits as
// it says, and the trainer keeps its container contract (train, local-run).
func interruptedExit(ctx context.Context, root *cobra.Command, args []string, err error, stderr io.Writer) (int, bool) {
	if ctx.Err() == nil || err == nil {
		return 0, false
	}
	if c, _, ferr := root.Find(args); ferr == nil && (c.Name() == "train" || c.Name() == "local-run") {
		return 0, false
	}
	var se *errs.Error
	if errors.As(err, &se) && se.Family == nil && se.Fix != "" {
		fmt.Fprintf(stderr, "interrupted: %s (%s)\n", se.Msg, se.Fix)
	} else {
		fmt.Fprintln(stderr, "interrupted")
	}
	return 130, true
}
