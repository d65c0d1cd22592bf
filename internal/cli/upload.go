package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/dataset"
	"github.com/sagetrain/sagetrain/internal/errs"
)

func newUploadCmd() *cobra.Command {
	var (
		awsf awssetupFlags
		opts dataset.UploadOptions
	)
	cmd := &cobra.Command{
		Use:   "upload DATASET_DIR --to s3://BUCKET/PREFIX [--metadata FILE]",
		Short: "Check a data set by the trainer's rules and upload it to S3 (parallel, incremental, resumable)",
		Long: `Upload checks the data set first, by the trainer's own rules (metadata rows
matched to images or embeddings.npy, every image decoded), and reports every
problem before a byte is sent; --allow-partial uploads without the bad files.

It then sends, in parallel, only what the bucket lacks: the metadata goes to
<prefix>/metadata.csv, files keep their sub-folders, and <prefix>/manifest.json
(path, size, SHA-256 of every file) is written last. An unchanged data set
costs one manifest read; an interrupted upload resumes when run again. Remote
objects are never deleted unless --delete is given.

It prints the S3 URI to use as input_data_s3_uri in a job spec.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if opts.To == "" {
				return errs.Configuration("no destination", "pass --to s3://BUCKET/PREFIX", nil)
			}
			if opts.Workers <= 0 {
				opts.Workers = dataset.DefaultWorkers
			}
			cfg, err := awsf.load(cmd, opts.Workers)
			if err != nil {
				return err
			}
			var bars *uploadBars
			if !jsonOutput() && uploadIsTerminal(cmd.ErrOrStderr()) {
				bars = &uploadBars{out: cmd.ErrOrStderr()}
				opts.Progress = bars
			}
			res, err := dataset.Upload(cmd.Context(), cfg, opts)
			if bars != nil {
				bars.Done()
			}
			if err != nil {
				var pe *dataset.ProblemsError
				if jsonOutput() && res != nil && errors.As(err, &pe) {
					_ = printJSON(cmd.OutOrStdout(), res)
				}
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			uploadPrintSummary(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Metadata, "metadata", "", "the metadata file (CSV or JSON); default metadata.csv or metadata.json in DATASET_DIR")
	f.StringVar(&opts.To, "to", "", "destination s3://BUCKET/PREFIX (required)")
	f.BoolVar(&opts.AllowPartial, "allow-partial", false, "upload without the files and rows that have problems")
	f.BoolVar(&opts.Delete, "delete", false, "delete objects under the prefix that are no longer in the data set")
	f.BoolVar(&opts.Plain, "plain", false, "upload the folder as it is, without the trainer's checks (for channels that are not drawings)")
	f.IntVar(&opts.Workers, "workers", dataset.DefaultWorkers, "parallel uploads")
	f.Int64Var(&opts.MultipartThreshold, "multipart-threshold", dataset.DefaultMultipartThreshold, "files at least this many bytes are sent in parts")
	f.StringVar(&opts.CacheDir, "cache-dir", "", "where the hash cache and upload journals live (default: the user cache dir)")
	awsf.add(cmd)
	return cmd
}

func uploadPrintSummary(w io.Writer, r *dataset.UploadResult) {
	for _, p := range r.Warnings {
		fmt.Fprintln(w, "warning:", p.String())
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "left out (--allow-partial), %d problem(s):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintln(w, "  -", p.String())
		}
	}
	switch {
	case r.Unchanged:
		fmt.Fprintf(w, "unchanged: %d files (%s) already at %s\n", r.Files, uploadBytes(r.Bytes), r.URI)
	default:
		fmt.Fprintf(w, "uploaded %d files (%s), %d already there", r.Uploaded, uploadBytes(r.UploadedBytes), r.Skipped)
		if r.Deleted > 0 {
			fmt.Fprintf(w, ", %d deleted", r.Deleted)
		}
		if r.Extra > 0 {
			fmt.Fprintf(w, ", %d remote objects not in the set kept (--delete removes them)", r.Extra)
		}
		fmt.Fprintf(w, " in %.1fs\n", r.Seconds)
	}
	fmt.Fprintln(w, "manifest:", r.ManifestURI)
	fmt.Fprintln(w, r.URI)
}

func uploadBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// uploadIsTerminal reports whether w is a terminal (no bars into pipes or files).
func uploadIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// uploadBars is the progress display: files and bytes with time left.
type uploadBars struct {
	out          io.Writer
	p            *mpb.Progress
	files, bytes *mpb.Bar
}

func (b *uploadBars) Start(files int, bytes int64) {
	if files == 0 {
		return
	}
	b.p = mpb.New(mpb.WithOutput(b.out), mpb.WithWidth(40), mpb.WithAutoRefresh())
	b.files = b.p.AddBar(int64(files),
		mpb.PrependDecorators(decor.Name("files ", decor.WCSyncSpaceR), decor.CountersNoUnit("%d / %d", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace)))
	b.bytes = b.p.AddBar(bytes,
		mpb.PrependDecorators(decor.Name("bytes ", decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace),
			decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
}

func (b *uploadBars) Add(files int, bytes int64) {
	if b.p == nil {
		return
	}
	b.files.IncrBy(files)
	b.bytes.IncrInt64(bytes)
}

func (b *uploadBars) Done() {
	if b.p == nil {
		return
	}
	for _, bar := range []*mpb.Bar{b.files, b.bytes} {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
	b.p = nil
}

// awssetupFlags are the AWS flags of the data and setup commands.
type awssetupFlags struct {
	profile, region string
}

func (a *awssetupFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.profile, "profile", "", "AWS profile (default $AWS_PROFILE)")
	cmd.Flags().StringVar(&a.region, "region", "", "AWS region (default $AWS_REGION or the profile's)")
}

func (a *awssetupFlags) load(cmd *cobra.Command, conns int) (aws.Config, error) {
	return awssetup.LoadConfig(cmd.Context(), awssetup.Options{Profile: a.profile, Region: a.region, Connections: conns})
}
