package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
)

func newAttachCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attach NAME",
		Short: "Adopt a SageMaker training job created outside sagetrain into the job store",
		Long: `Record a SageMaker training job that sagetrain did not submit (find them with
'sagetrain list --remote'), so status, logs, report, compare and the dashboard
work on it. Attaching is read-only: sagetrain follows the job and, once it
completed, fetches its artifacts (a report when they are our trainer's
output), but never stops it unless you run 'sagetrain cancel' on it.`,
		Example: "  sagetrain list --remote --since 7d\n  sagetrain attach my-notebook-run-2026-11-30",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			if e.awsErr != nil {
				return e.awsErr
			}
			j, created, err := e.svc.Attach(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			jobsSync(cmd, e)
			if j, err = e.svc.Get(cmd.Context(), j.ID); err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), struct {
					jobView
					Created bool `json:"created"`
				}{jobsView(j, nil), created})
			}
			verb := "attached"
			if !created {
				verb = "already known:"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s as job %s: %s\n", verb, j.RemoteName, j.ID, j.Status)
			return nil
		},
	}
	return cmd
}

// parseSince reads --since: a Go duration or a number of days ("7d").
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return time.Now().Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, errs.Configuration(fmt.Sprintf("--since %q is not a duration", s), "write e.g. 7d, 36h or 90m", nil)
}

// listRemote is `list --remote`: the account's SageMaker jobs the store does not know.
func listRemote(cmd *cobra.Command, e *jobsEnv, since, contains string, limit int) error {
	t, err := parseSince(since)
	if err != nil {
		return err
	}
	if e.awsErr != nil {
		return e.awsErr
	}
	rs, err := e.svc.ListRemote(cmd.Context(), t, contains, limit)
	if err != nil {
		return err
	}
	if jsonOutput() {
		return printJSON(cmd.OutOrStdout(), map[string]any{"remote_jobs": rs})
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tCREATED")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Status, r.CreatedAt.Local().Format(time.DateTime))
	}
	tw.Flush()
	if len(rs) > 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "adopt one: sagetrain attach NAME")
	}
	return nil
}
