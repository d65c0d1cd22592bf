package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
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
