package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/store"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Export, validate, deploy and undeploy trained models (the active model per age range)",
		Long: `model takes a completed job's model to the screening application: export it
(immutable, with an id and a SHA-256; sagetrain or ONNX format; optionally only
the age groups inside --age-min..--age-max), validate it, deploy it as the
active model for an age range, list and undeploy deployments. 'sagetrain score
--deployed' and POST /api/v1/score score with the active deployments. See
docs/models.md.`,
	}
	cmd.AddCommand(newModelExportCmd(), newModelListCmd(), newModelValidateCmd(), newModelDeployCmd(), newModelDeployedCmd(), newModelUndeployCmd())
	return cmd
}

// modelsOpen opens the store and the model service beside the job artifacts.
func modelsOpen(ctx context.Context) (*models.Service, func(), error) {
	e, err := jobsOpen(ctx)
	if err != nil {
		return nil, nil, err
	}
	ms, err := models.Open(e.st, e.svc.ArtifactRoot())
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	return ms, e.Close, nil
}

// whoami names the CLI's user in a deployment's history.
func whoami() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "user:" + u.Username
	}
	return "user:" + os.Getenv("USER")
}

// ageRange reads --age-min/--age-max: both or neither.
func ageRange(cmd *cobra.Command, lo, hi int) (*int, *int, error) {
	a, b := cmd.Flags().Changed("age-min"), cmd.Flags().Changed("age-max")
	if a != b {
		return nil, nil, errs.Configuration("only one of --age-min and --age-max was given", "give both (whole years, inclusive) or neither", nil)
	}
	if !a {
		return nil, nil, nil
	}
	return &lo, &hi, nil
}

func newModelExportCmd() *cobra.Command {
	var format string
	var lo, hi int
	cmd := &cobra.Command{
		Use:   "export JOB [--format sagetrain|onnx] [--age-min A --age-max B]",
		Short: "Export a completed job's model",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			amin, amax, err := ageRange(cmd, lo, hi)
			if err != nil {
				return err
			}
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			e, err := ms.Export(cmd.Context(), models.ExportRequest{JobID: args[0], Format: format, AgeMin: amin, AgeMax: amax, By: whoami()})
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), exportJSON(e))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported job %s as %s model %s (ages %d-%d, groups %s)\nsha256 %s\n%s\n",
				e.JobID, e.Format, e.ID, e.AgeMin, e.AgeMax, strings.Join(e.Groups, ", "), e.SHA256, e.Location)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "sagetrain", "export format: sagetrain (model.json + weights.bin) or onnx (adds model.onnx)")
	cmd.Flags().IntVar(&lo, "age-min", 0, "export only the age groups from this age (whole years)")
	cmd.Flags().IntVar(&hi, "age-max", 0, "export only the age groups up to this age (whole years, inclusive)")
	return cmd
}

func exportJSON(e *store.Export) map[string]any {
	return map[string]any{"model_id": e.ID, "training_job_id": e.JobID, "export_format": e.Format, "age_group_min": e.AgeMin,
		"age_group_max": e.AgeMax, "age_groups": e.Groups, "sha256": e.SHA256, "size_bytes": e.SizeBytes, "location": e.Location,
		"trainer_version": e.TrainerVersion, "data_manifest_digest": e.DataManifestDigest, "metrics": e.Metrics, "created_at": e.CreatedAt, "created_by": e.CreatedBy}
}

func newModelListCmd() *cobra.Command {
	var job string
	cmd := &cobra.Command{
		Use:   "list [--job JOB]",
		Short: "List exported models, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			es, err := ms.List(cmd.Context(), job)
			if err != nil {
				return err
			}
			if jsonOutput() {
				out := make([]map[string]any, 0, len(es))
				for _, e := range es {
					out = append(out, exportJSON(e))
				}
				return printJSON(cmd.OutOrStdout(), map[string]any{"success": true, "count": len(out), "models": out})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tJOB\tFORMAT\tAGES\tGROUPS\tSHA256\tCREATED")
			for _, e := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d-%d\t%s\t%s\t%s\n", e.ID, e.JobID, e.Format, e.AgeMin, e.AgeMax, strings.Join(e.Groups, ","), e.SHA256[:min(12, len(e.SHA256))], e.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&job, "job", "", "only this job's exports")
	return cmd
}

func newModelValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate MODEL_ID",
		Short: "Validate an export: checksum, format version, that it loads, its recorded test metrics (exit 1 when invalid)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			v, err := ms.Validate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if jsonOutput() {
				if err := printJSON(cmd.OutOrStdout(), map[string]any{"is_valid": v.Valid, "validation_result": v}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CHECK\tOK\tDETAIL")
				for _, c := range v.Checks {
					fmt.Fprintf(tw, "%s\t%v\t%s\n", c.Name, c.OK, c.Detail)
				}
				tw.Flush()
			}
			if !v.Valid {
				return errs.Job("model "+v.ModelID+" is not valid", "export the job again and use the new export", nil)
			}
			return nil
		},
	}
}

func newModelDeployCmd() *cobra.Command {
	var lo, hi int
	var replace, noBackup bool
	cmd := &cobra.Command{
		Use:   "deploy MODEL_ID [--age-min A --age-max B] [--replace] [--no-backup]",
		Short: "Make an export the active model for an age range (default: the export's)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			amin, amax, err := ageRange(cmd, lo, hi)
			if err != nil {
				return err
			}
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			d, replaced, err := ms.Deploy(cmd.Context(), models.DeployRequest{ModelID: args[0], AgeMin: amin, AgeMax: amax, Replace: replace, Backup: !noBackup, By: whoami()})
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"deployment": deploymentJSON(d), "replaced": deploymentsJSON(replaced)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deployment %s: model %s is active for ages %d-%d\n", d.ID, d.ModelID, d.AgeMin, d.AgeMax)
			for _, r := range replaced {
				fmt.Fprintf(cmd.OutOrStdout(), "replaced deployment %s (model %s, ages %d-%d)\n", r.ID, r.ModelID, r.AgeMin, r.AgeMax)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&lo, "age-min", 0, "first age of the range (whole years)")
	cmd.Flags().IntVar(&hi, "age-max", 0, "last age of the range (whole years, inclusive)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace active deployments overlapping the range (otherwise an overlap is an error)")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "with --replace: do not bring the replaced deployments back on undeploy")
	return cmd
}

func deploymentJSON(d *store.Deployment) map[string]any {
	return map[string]any{"id": d.ID, "model_id": d.ModelID, "age_group_min": d.AgeMin, "age_group_max": d.AgeMax, "active": d.Active,
		"threshold_source": d.ThresholdSource, "deployed_at": d.DeployedAt, "deployed_by": d.DeployedBy, "ended_at": d.EndedAt,
		"ended_by": d.EndedBy, "end_reason": d.EndReason, "superseded_by": d.SupersededBy}
}

func deploymentsJSON(ds []*store.Deployment) []map[string]any {
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, deploymentJSON(d))
	}
	return out
}

func newModelDeployedCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "deployed [--all]",
		Short: "List active deployments (--all: with the ended ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			ds, err := ms.Deployed(cmd.Context(), !all)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"success": true, "count": len(ds), "models": deploymentsJSON(ds)})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DEPLOYMENT\tMODEL\tAGES\tACTIVE\tTHRESHOLDS\tDEPLOYED\tBY\tENDED")
			for _, d := range ds {
				ended := ""
				if d.EndedAt != nil {
					ended = d.EndReason + " " + d.EndedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d-%d\t%v\t%s\t%s\t%s\t%s\n", d.ID, d.ModelID, d.AgeMin, d.AgeMax, d.Active, d.ThresholdSource, d.DeployedAt.Format(time.RFC3339), d.DeployedBy, ended)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include ended deployments (the history)")
	return cmd
}

func newModelUndeployCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "undeploy DEPLOYMENT_ID",
		Short: "End a deployment; the one it replaced (with a backup) becomes active again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, closeFn, err := modelsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer closeFn()
			d, restored, err := ms.Undeploy(cmd.Context(), args[0], whoami())
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"undeployed": deploymentJSON(d), "restored": deploymentsJSON(restored)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deployment %s (model %s, ages %d-%d) undeployed\n", d.ID, d.ModelID, d.AgeMin, d.AgeMax)
			for _, r := range restored {
				fmt.Fprintf(cmd.OutOrStdout(), "deployment %s (model %s, ages %d-%d) is active again\n", r.ID, r.ModelID, r.AgeMin, r.AgeMax)
			}
			return nil
		},
	}
}

// scoreDeployed is `sagetrain score --deployed`: each image with the
// active deployment for its age.
func scoreDeployed(cmd *cobra.Command, images []string, ageFor func(img string) (float64, string, error)) error {
	ms, closeFn, err := modelsOpen(cmd.Context())
	if err != nil {
		return err
	}
	defer closeFn()
	var out []*models.Result
	for _, img := range images {
		age, subj, err := ageFor(img)
		if err != nil {
			return err
		}
		if math.IsNaN(age) {
			return errs.Configuration("score needs the child's age", "give --age YEARS or --metadata FILE", nil)
		}
		b, err := os.ReadFile(img)
		if err != nil {
			return errs.Configuration("cannot read image "+img, "check the path", err)
		}
		r, err := ms.ScoreImage(cmd.Context(), img, b, subj, age)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	if jsonOutput() {
		return printJSON(cmd.OutOrStdout(), out)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tAGE\tGROUP\tSCORE\tTHRESHOLD\tVERDICT\tMODEL\tDEPLOYMENT")
	for _, r := range out {
		fmt.Fprintf(tw, "%s\t%g\t%s\t%.3f\t%.4g\t%s\t%s\t%s\n", r.Image, r.AgeYears, r.AgeGroup, r.Score, r.Threshold, r.Verdict, r.ModelID, r.DeploymentID)
	}
	return tw.Flush()
}
