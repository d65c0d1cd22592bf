package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

func newSampleDataCmd() *cobra.Command {
	var o sampledata.Options
	cmd := &cobra.Command{
		Use:   "sample-data DIR",
		Short: "Write a synthetic drawing data set (DIR/training, DIR/test) for the quickstart and tests",
		Long: `Write a deterministic synthetic data set of children's-drawing-like images
(houses, people, trees, suns; detail grows with age 2 to 18): DIR/training holds
normal drawings only, DIR/test a labelled share of anomalies (missing or broken
parts: concern; scribbles, fragmented strokes: severe). Each channel has
metadata.csv and PNG images under images/. The same flags give the same bytes.`,
		Example: "  sagetrain sample-data ./data\n  sagetrain sample-data ./data --train 2000 --test 500 --size 256 --seed 42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("anomaly-rate") && o.AnomalyRate == 0 {
				o.AnomalyRate = -1 // an explicit 0 means no anomalies, not the default
			}
			s, err := sampledata.Generate(args[0], o)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), s)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s (%d px, seed %d)\n", s.Dir, s.Size, s.Seed)
			for _, ch := range []sampledata.ChannelSummary{s.Training, s.Test} {
				fmt.Fprintf(w, "  %-40s %5d images  %s\n", ch.Dir, ch.Images, sampleDataCounts(ch.Labels))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Train, "train", sampledata.DefaultTrain, "training images (all normal)")
	f.IntVar(&o.Test, "test", sampledata.DefaultTest, "test images")
	f.Float64Var(&o.AnomalyRate, "anomaly-rate", sampledata.DefaultAnomalyRate, "share of test images that are labelled anomalies (0 to 1)")
	f.IntVar(&o.Size, "size", sampledata.DefaultSize, "image width and height in pixels")
	f.Uint64Var(&o.Seed, "seed", sampledata.DefaultSeed, "random seed; the same seed writes the same bytes")
	return cmd
}

func sampleDataCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
