package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print which sagetrain this is: module version, revision, dirty flag, Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), info)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "version:   %s\n", info.Version)
			if info.Revision != "" {
				fmt.Fprintf(w, "revision:  %s\n", info.Revision)
			}
			if info.Time != "" {
				fmt.Fprintf(w, "time:      %s\n", info.Time)
			}
			fmt.Fprintf(w, "dirty:     %t\n", info.Dirty)
			fmt.Fprintf(w, "go:        %s\n", info.GoVersion)
			return nil
		},
	}
}
