package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/jobs"
)

func newCompareCmd() *cobra.Command {
	var metrics []string
	cmd := &cobra.Command{
		Use:   "compare JOB JOB...",
		Short: "Set completed jobs side by side: the settings that differ, their metrics overall and per age group",
		Long: `Compare completed jobs (by id or remote name): the hyperparameters and instance
settings that differ between them, then every number of their metrics.json
overall, then per age group (validation and training loss, best epoch,
threshold, test ROC AUC, ...). --metric limits both to the metrics named
(overall keys such as test_auroc; per group val_loss or test.auroc).`,
		Example: "  sagetrain compare 01JDX3... 01JDX4...\n  sagetrain compare A B C --metric test_auroc,val_loss -o json",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			jobsSync(cmd, e)
			var ms []string
			for _, m := range metrics {
				for _, p := range strings.Split(m, ",") {
					if p = strings.TrimSpace(p); p != "" {
						ms = append(ms, p)
					}
				}
			}
			c, err := e.svc.Compare(cmd.Context(), args, ms)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), c)
			}
			comparePrint(cmd.OutOrStdout(), c)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&metrics, "metric", nil, "compare only these metrics (comma-separated or repeated)")
	return cmd
}

func comparePrint(w io.Writer, c *jobs.Comparison) {
	head := []string{""}
	for _, j := range c.Jobs {
		head = append(head, j.ID+" ("+j.Name+")")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	if len(c.Settings) == 0 {
		fmt.Fprintln(tw, "(no setting differs)")
	}
	for _, k := range c.Settings {
		row := []string{k}
		for _, v := range c.Differs[k] {
			if v == "" {
				v = "(default)"
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	fmt.Fprintln(tw, "")
	fmt.Fprintln(tw, compareCostRow(c))
	for _, k := range c.Names {
		fmt.Fprintln(tw, compareRow(k, c.Metrics[k]))
	}
	groups := make([]string, 0, len(c.Groups))
	for g := range c.Groups {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groupLess(groups[i], groups[j]) })
	for _, g := range groups {
		fmt.Fprintln(tw, "")
		fmt.Fprintf(tw, "age group %s\n", g)
		ms := make([]string, 0, len(c.Groups[g]))
		for m := range c.Groups[g] {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, m := range ms {
			fmt.Fprintln(tw, compareRow("  "+m, c.Groups[g][m]))
		}
	}
	tw.Flush()
}

func compareRow(name string, vals []*float64) string {
	row := []string{name}
	for _, v := range vals {
		if v == nil {
			row = append(row, "-")
		} else {
			row = append(row, fmt.Sprintf("%.6g", *v))
		}
	}
	return strings.Join(row, "\t")
}

// groupLess orders age groups by their first age ("2-5" before "10-13").
func groupLess(a, b string) bool {
	var x, y int
	fmt.Sscanf(a, "%d", &x)
	fmt.Sscanf(b, "%d", &y)
	if x != y {
		return x < y
	}
	return a < b
}
