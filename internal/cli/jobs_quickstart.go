package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

func newQuickstartCmd() *cobra.Command {
	var (
		dir         string
		train, test int
		size        int
		epochs      int
	)
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Train a model on a generated sample data set, locally, and print its report",
		Long: `Write the sample data set (DIR/data/training, DIR/data/test; kept for later
runs), submit a local training job on it, follow it with a progress display,
and print the report: the age groups with their thresholds, the test ROC AUC,
and where the model is. DIR defaults to <data dir>/quickstart, the data dir
being $XDG_DATA_HOME/sagetrain, else ~/.local/share/sagetrain. Nothing needs
to be installed or configured.`,
		Example: "  go run ./cmd/sagetrain quickstart\n  sagetrain quickstart --dir /tmp/qs --epochs 5 -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if dir == "" {
				dir = filepath.Join(local.DataDir(), "quickstart")
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return errs.Configuration("quickstart folder "+dir+" is not usable", "pass another --dir", err)
			}
			dir = abs
			data := filepath.Join(dir, "data")
			w := cmd.ErrOrStderr()
			if _, err := os.Stat(filepath.Join(data, "test", "metadata.csv")); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(w, "writing the sample data set to %s\n", data)
				if _, err := sampledata.Generate(data, sampledata.Options{Train: train, Test: test, Size: size}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "using the sample data set in %s\n", data)
			}
			sp := &spec.Spec{
				JobName:       "quickstart",
				Backend:       spec.BackendLocal,
				DatasetFolder: filepath.Join(data, "training"),
				Channels:      map[string]string{"test": filepath.Join(data, "test")},
				OutputS3URI:   filepath.Join(dir, "output"),
				Hyperparameters: map[string]string{
					"epochs": strconv.Itoa(epochs),
				},
			}
			e, err := jobsOpen(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			j, _, err := e.svc.Submit(ctx, sp, jobs.SubmitOptions{})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "submitted local job %s (%s)\n", j.ID, j.RemoteName)
			if j, err = jobsWatch(cmd, e, j.ID, false); err != nil {
				return err
			}
			if j.Status != store.StatusCompleted {
				return errs.Job(fmt.Sprintf("the quickstart job %s ended %s: %s", j.ID, j.Status, j.FailureReason),
					"see 'sagetrain logs "+j.ID+"'", nil)
			}
			r, err := e.svc.Report(ctx, j.ID)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), r)
			}
			jobsPrintReport(cmd.OutOrStdout(), r)
			fmt.Fprintf(cmd.OutOrStdout(), "\nNext: 'sagetrain report %s', 'sagetrain logs %s', 'sagetrain list'.\n", j.ID, j.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder for the sample data and the job's output (default <data dir>/quickstart)")
	f.IntVar(&train, "train", 600, "training images to generate (first run only)")
	f.IntVar(&test, "test", 200, "test images to generate (first run only)")
	f.IntVar(&size, "size", 64, "generated image size in pixels (first run only)")
	f.IntVar(&epochs, "epochs", 15, "training epochs per age group (early stopping may end sooner)")
	return cmd
}
