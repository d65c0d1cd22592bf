package cli

import (
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/image"
)

func newSetupCmd() *cobra.Command {
	var (
		awsf awssetupFlags
		o    awssetup.SetupOptions
	)
	cmd := &cobra.Command{
		Use:   "setup --bucket B --repository R",
		Short: "Get an AWS account ready for training jobs: validate, execution role, image build and push",
		Long: `Setup runs, in order: validate (identity, region, SageMaker, the bucket and
its prefix), role create (least-privilege execution role that reads everything
under <prefix>/ and writes <prefix>/output and <prefix>/checkpoints, and pulls
from the repository),
image build (the trainer, without a daemon) and push to ECR (creating the
repository if needed, pinned by digest). It stops at the first step that fails,
saying what to fix, and prints the values to put in a job spec.

--image-uri skips the build and push and uses an image already pushed.`,
		Example: `  sagetrain setup --bucket my-drawings --repository sagetrain
  sagetrain setup --bucket my-drawings --repository sagetrain --prefix study-2024 --role drawings-training`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The options and where the image's trainer comes from are
			// settled before anything is created: no role is made for an
			// image that cannot be built.
			if err := o.Check(); err != nil {
				return err
			}
			ctx := cmd.Context()
			o.Build = image.BuildOptions{}
			if o.ImageURI == "" {
				if err := imageTrainerSource(ctx, &o.Build); err != nil {
					return err
				}
			}
			cfg, err := awsf.load(cmd, 0)
			if err != nil {
				return err
			}
			o.Profile = awsf.profile
			if !jsonOutput() {
				o.Build.Log = cmd.ErrOrStderr()
				o.Progress = func(format string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", a...) }
			}
			o.PushProgress = func() (chan<- v1.Update, func()) { return pushProgress(cmd) }
			res, err := awssetup.Setup(ctx, cfg, o)
			if err != nil {
				if res != nil && res.Validation != nil && !res.Validation.IsValid {
					if jsonOutput() {
						_ = printJSON(cmd.OutOrStdout(), res)
					} else {
						validatePrintReport(cmd.OutOrStdout(), res.Validation)
					}
				}
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			setupPrintSpec(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Bucket, "bucket", "", "the S3 bucket for data and models (required; must exist, in the same region)")
	f.StringVar(&o.Repository, "repository", "", "the ECR repository of the training image (required; created if missing)")
	f.StringVar(&o.Prefix, "prefix", awssetup.DefaultPrefix, "the root prefix in the bucket: data/, output/ and checkpoints/ go under it")
	f.StringVar(&o.RoleName, "role", awssetup.DefaultRoleName, "the execution role's name")
	f.StringVar(&o.Tag, "tag", "latest", "the image tag to push (the spec gets the digest)")
	f.StringVar(&o.ImageURI, "image-uri", "", "use this already-pushed image instead of building and pushing")
	f.StringVar(&o.Registry, "registry", "", "push to this registry host with ECR credentials instead of <account>.dkr.ecr.<region>.amazonaws.com (a registry fronting ECR)")
	f.BoolVar(&o.ManagedPolicy, "managed-policy", false, "also attach AmazonSageMakerFullAccess to the role")
	f.BoolVar(&o.RepairTrust, "repair-trust", false, "repair the trust policy of an existing role that does not trust SageMaker")
	f.BoolVar(&o.ReadOnly, "read-only", false, "validate without writing a probe object")
	f.DurationVar(&o.Grace, "grace", 10*time.Second, "extra wait after a role change, for IAM to reach SageMaker (0: none)")
	awsf.add(cmd)
	return cmd
}

func setupPrintSpec(w io.Writer, r *awssetup.SetupResult) {
	for _, wn := range r.Validation.Warnings {
		fmt.Fprintf(w, "warning: %s (%s)\n", wn.Message, wn.Fix)
	}
	if r.Role.Created {
		fmt.Fprintf(w, "created role %s\n", r.Role.ARN)
	}
	if r.Image != nil && r.Image.RepositoryCreated {
		fmt.Fprintf(w, "created repository %s\n", r.Image.Repository)
	}
	fmt.Fprintln(w, "ready. Put these in your job spec (backend: sagemaker):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "backend: sagemaker\nrole_arn: %s\nimage_uri: %s\ninput_data_s3_uri: %s\noutput_s3_uri: %s\ncheckpoint_s3_uri: %s\n",
		r.Spec.RoleARN, r.Spec.ImageURI, r.Spec.InputDataS3URI, r.Spec.OutputS3URI, r.Spec.CheckpointS3URI)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "upload the drawings with: sagetrain upload DATASET_DIR --to %s\n", r.Spec.InputDataS3URI)
}
