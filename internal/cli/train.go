package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

func newTrainCmd() *cobra.Command {
	var mlRoot string
	cmd := &cobra.Command{
		Use:   "train [train]",
		Short: "Run the training program (what the training container runs): read the ml-root, train, write the model",
		Long: `train is the program inside the training image. SageMaker starts the image as
"<image> train"; that argument is accepted and ignored. It reads
input/config/*.json and input/data/<channel>/ under the ml-root (default /opt/ml,
or $` + trainer.EnvMLRoot + `, or --ml-root), writes the model to model/, extra output to
output/data/, checkpoints to checkpoints/ and, on failure, the reason to
output/failure with a non-zero exit. Metrics are printed as "metric: name=value"
lines and per-epoch "epoch=N group=G train_loss=.. val_loss=.. lr=.." lines
(with --output json they go to stderr, and stdout gets one JSON object with the
model folder and metrics.json).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && args[0] != "train") {
				return errs.Configuration(fmt.Sprintf("unexpected arguments %q", args), "run 'sagetrain train' or 'sagetrain train train' (as SageMaker does)", nil)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := mlRoot
			if root == "" {
				root = os.Getenv(trainer.EnvMLRoot)
			}
			if root == "" {
				root = trainer.DefaultMLRoot
			}
			if !jsonOutput() {
				return trainer.Run(cmd.Context(), root, cmd.OutOrStdout())
			}
			// JSON: the log and metric lines go to stderr, the summary to stdout.
			if err := trainer.Run(cmd.Context(), root, cmd.ErrOrStderr()); err != nil {
				return err
			}
			modelDir := filepath.Join(root, "model")
			b, err := os.ReadFile(filepath.Join(modelDir, trainer.MetricsFile))
			if err != nil {
				return errs.Job("training finished but its metrics cannot be read", "check "+modelDir, err)
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"ml_root": root, "model_dir": modelDir, "metrics": json.RawMessage(b)})
		},
	}
	cmd.Flags().StringVar(&mlRoot, "ml-root", "", "container root to use instead of /opt/ml (default $"+trainer.EnvMLRoot+")")
	return cmd
}

func newScoreCmd() *cobra.Command {
	var (
		modelDir, subject, metadata string
		age                         float64
		deployed                    bool
	)
	cmd := &cobra.Command{
		Use:   "score (--model DIR | --deployed) (--age YEARS | --metadata FILE) [--subject S] IMAGE...",
		Short: "Score drawings with a trained model: age group, score, threshold and verdict per image",
		Long: `score loads a model folder (model.json + weights.bin, as train writes it or as
extracted from model.tar.gz) and scores each image with the autoencoder of the
child's age group. The age comes from --age (the same for every image) or from a
metadata file (--metadata, CSV or JSON with filename, age_years and optionally
subject columns; an image is matched by its path, then its base name, then its
base name without extension). --subject applies when the metadata gives none.
score = the group's raw score (autoencoder error and nearest-neighbour distance) / group threshold;
above 1 the verdict is anomalous; "undetermined" where the group had too few
normals for an honest threshold.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, images []string) error {
			if deployed == (modelDir != "") {
				return errs.Configuration("score needs a model", "pass --model DIR (the folder with model.json) or --deployed (the active deployment for each age)", nil)
			}
			ageSet := cmd.Flags().Changed("age")
			if ageSet == (metadata != "") {
				return errs.Configuration("score needs the child's age", "give either --age YEARS or --metadata FILE with an age_years column", nil)
			}
			var byImage map[string]*data.Row // read at the first image that needs it
			rowFor := func(img string) (data.Row, error) {
				if byImage == nil {
					var err error
					if byImage, err = scoreMatchMetadata(metadata, images); err != nil {
						return data.Row{}, err
					}
				}
				row := byImage[img]
				if row == nil {
					return data.Row{}, errs.Configuration("no row for "+img+" in "+metadata, "add a row with its filename and age_years, or use --age", nil)
				}
				return *row, nil
			}
			if deployed {
				return scoreDeployed(cmd, images, func(img string) (float64, string, error) {
					if metadata == "" {
						return age, subject, nil
					}
					row, err := rowFor(img)
					if err != nil {
						return 0, "", err
					}
					if row.Subject != "" {
						return row.AgeYears, row.Subject, nil
					}
					return row.AgeYears, subject, nil
				})
			}
			m, err := trainer.LoadModel(modelDir)
			if err != nil {
				return err
			}
			if metadata != "" {
				if byImage, err = scoreMatchMetadata(metadata, images); err != nil {
					return err
				}
			}
			var scores []trainer.Score
			for _, img := range images {
				a, subj := age, subject
				if metadata != "" {
					row, err := rowFor(img)
					if err != nil {
						return err
					}
					a = row.AgeYears
					if row.Subject != "" {
						subj = row.Subject
					}
				}
				s, err := m.ScoreImage(img, subj, a)
				if err != nil {
					return err
				}
				scores = append(scores, s)
				scoreWarn(cmd.ErrOrStderr(), s, subj)
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), scores)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tAGE\tGROUP\tSCORE\tERROR\tTHRESHOLD\tVERDICT")
			for _, s := range scores {
				g := s.Group
				if !s.GroupExact {
					g += " (nearest)"
				}
				fmt.Fprintf(tw, "%s\t%g\t%s\t%.3f\t%.4g\t%.4g\t%s\n", s.Image, s.AgeYears, g, s.Score, s.Error, s.Threshold, s.Verdict)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, s := range scores {
				if s.Note != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", s.Image, s.Note)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&modelDir, "model", "", "model folder (model.json and weights.bin)")
	cmd.Flags().BoolVar(&deployed, "deployed", false, "score with the active deployment for each child's age (see 'sagetrain model deploy')")
	cmd.Flags().Float64Var(&age, "age", math.NaN(), "the child's age in years (for every image)")
	cmd.Flags().StringVar(&subject, "subject", "", "what the drawing shows (e.g. house, person); empty = unspecified")
	cmd.Flags().StringVar(&metadata, "metadata", "", "CSV or JSON metadata with filename, age_years (and subject) per image")
	return cmd
}

// scoreMatchMetadata reads a metadata file's usable rows and gives each
// image the row that names it, by the trainer's own matching rules
// (data.RowsForImages: path, base name, without extension, then any case).
func scoreMatchMetadata(file string, images []string) (map[string]*data.Row, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, errs.Configuration("cannot open the metadata file "+file, "check the path", err)
	}
	defer f.Close()
	format := ""
	if strings.EqualFold(filepath.Ext(file), ".json") {
		format = "json"
	}
	md, err := data.ParseMetadata(f, format, true, nil)
	if err != nil {
		return nil, err
	}
	byImage := make(map[string]*data.Row, len(images))
	for i, r := range data.RowsForImages(md.Rows, images) {
		if _, ok := byImage[images[i]]; !ok || r != nil {
			byImage[images[i]] = r
		}
	}
	return byImage, nil
}
