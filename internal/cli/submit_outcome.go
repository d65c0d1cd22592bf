package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// submitLaunchOutcome says what is true of a job whose backend create
// failed: failed for good (a reason no retry can fix; it is never created
// later), or still pending because the create is retried, in which case the
// submit succeeded and a second submit would make a second, billed job.
func submitLaunchOutcome(cmd *cobra.Command, j *store.Job, cause error) error {
	if j.Status == store.StatusFailed {
		return &errs.Error{Family: errs.ErrJob, Msg: "job " + j.ID + " failed before it started and will not be created",
			Fix: "fix the cause and submit again", Err: cause}
	}
	if j.Status != store.StatusPending {
		return nil
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "warning: job %s is recorded but the %s backend could not create it yet: %v\n", j.ID, j.Backend, cause)
	fmt.Fprintf(cmd.ErrOrStderr(), "it is retried by the next 'sagetrain status %s' (or a running 'sagetrain serve'); do not resubmit, that would start a second job\n", j.ID)
	return nil
}
