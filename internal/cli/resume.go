package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/store"
)

func newResumeCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "resume JOB",
		Short: "Start a new job from a stopped, failed or interrupted job's last checkpoints",
		Long: `Start a new job with the same spec, from where JOB stopped: a local job's
checkpoints stay in its folder, a SageMaker job's in its checkpoint_s3_uri.
The trainer skips the age groups that had finished and continues the others
at their last checkpointed epoch, so the final model is the one an
uninterrupted run makes. The new job records where it resumed from
(resume_from and resumed_from_job in its spec). Resuming the same job twice
returns the first resumed job.`,
		Example: "  sagetrain cancel --wait 01JDX3...\n  sagetrain resume 01JDX3... --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			jobsSync(cmd, e)
			j, created, err := e.svc.Resume(cmd.Context(), args[0])
			if err != nil && j == nil {
				return err
			}
			if err != nil {
				return fmt.Errorf("job %s recorded, but: %w", j.ID, err)
			}
			if wait {
				if j, err = jobsWatch(cmd, e, j.ID, false); err != nil {
					return err
				}
			}
			from := resumeSource(j)
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), struct {
					jobView
					Created        bool   `json:"created"`
					ResumedFromJob string `json:"resumed_from_job"`
					ResumeFrom     string `json:"resume_from"`
				}{jobsView(j, nil), created, from[0], from[1]})
			}
			w := cmd.OutOrStdout()
			verb := "resumed"
			if !created {
				verb = "already resumed"
			}
			fmt.Fprintf(w, "%s job %s as %s (%s) from %s: %s\n", verb, from[0], j.ID, j.RemoteName, from[1], j.Status)
			if !wait {
				fmt.Fprintf(w, "follow it: sagetrain status --watch %s\n", j.ID)
			}
			return jobsEndErr(j, wait)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the new job until it ends")
	return cmd
}

// resumeSource is the job a resumed job came from and its checkpoints' URI.
func resumeSource(j *store.Job) [2]string {
	var sp struct {
		ResumeFrom     string `json:"resume_from"`
		ResumedFromJob string `json:"resumed_from_job"`
	}
	_ = jsonUnmarshal(j.Spec, &sp)
	return [2]string{sp.ResumedFromJob, sp.ResumeFrom}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
