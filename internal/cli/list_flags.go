package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// listCheckFlags refuses values list would otherwise quietly bend: an
// unknown backend (which matched nothing) and a limit beyond the page size.
func listCheckFlags(f store.ListFilter) error {
	if f.Backend != "" && f.Backend != spec.BackendLocal && f.Backend != spec.BackendSageMaker {
		return errs.Configuration(fmt.Sprintf("unknown backend %q", f.Backend), "use --backend local or --backend sagemaker", nil)
	}
	if f.Limit < 1 || f.Limit > store.MaxListLimit {
		return errs.Configuration(fmt.Sprintf("--limit %d is out of range", f.Limit), fmt.Sprintf("use 1 to %d jobs per page", store.MaxListLimit), nil)
	}
	return nil
}

// listFilterFlags repeats the filters given, so the "more:" hint shows the
// next page of the same list.
func listFilterFlags(cmd *cobra.Command) string {
	var b strings.Builder
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name == "cursor" {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			fmt.Fprintf(&b, " --%s %s", fl.Name, shellQuote(strings.Join(sv.GetSlice(), ",")))
			return
		}
		fmt.Fprintf(&b, " --%s %s", fl.Name, shellQuote(fl.Value.String()))
	})
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
