package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/image"
)

// setupResult is what setup did and the values a job spec needs.
type setupResult struct {
	Validation *awssetup.Report     `json:"validation"`
	Role       *awssetup.RoleResult `json:"role"`
	Image      *image.ECRPushed     `json:"image,omitempty"`
	Spec       setupSpecValues      `json:"spec"`
}

// setupSpecValues are the job spec fields, named as in the spec file.
type setupSpecValues struct {
	RoleARN         string `json:"role_arn" yaml:"role_arn"`
	ImageURI        string `json:"image_uri" yaml:"image_uri"`
	InputDataS3URI  string `json:"input_data_s3_uri" yaml:"input_data_s3_uri"`
	OutputS3URI     string `json:"output_s3_uri" yaml:"output_s3_uri"`
	CheckpointS3URI string `json:"checkpoint_s3_uri" yaml:"checkpoint_s3_uri"`
}

func newSetupCmd() *cobra.Command {
	var (
		awsf                     awssetupFlags
		bucket, repository       string
		prefix, roleName, tag    string
		imageURI, registry       string
		managed, repair, noProbe bool
		grace                    time.Duration
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
			if bucket == "" || repository == "" {
				return errs.Configuration("setup needs --bucket and --repository", "pass the S3 bucket and the ECR repository name to use", nil)
			}
			ctx := cmd.Context()
			// Where the image's trainer comes from is settled before
			// anything is created: no role is made for an image that
			// cannot be built.
			if err := awssetup.CheckRoleOptions(awssetup.Layout{Bucket: bucket, Root: prefix}.RoleOptions(roleName, repository)); err != nil {
				return err
			}
			var bo image.BuildOptions
			if imageURI == "" {
				if err := imageTrainerSource(ctx, &bo); err != nil {
					return err
				}
			}
			cfg, err := awsf.load(cmd, 0)
			if err != nil {
				return err
			}
			lay := awssetup.Layout{Bucket: bucket, Root: prefix}
			res := &setupResult{Spec: setupSpecValues{
				InputDataS3URI:  lay.URI(lay.DataPrefix() + "/training"),
				OutputS3URI:     lay.URI(lay.OutputPrefix()),
				CheckpointS3URI: lay.URI(lay.CheckpointPrefix()),
			}}
			progress := func(format string, a ...any) {
				if !jsonOutput() {
					fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", a...)
				}
			}

			progress("1/4 validating the account, region, SageMaker and %s ...", lay.URI(lay.DataPrefix()))
			vo := lay.ValidateOptions("", "")
			vo.ReadOnly = noProbe
			res.Validation = awssetup.Validate(ctx, cfg, vo)
			if !res.Validation.IsValid {
				if jsonOutput() {
					_ = printJSON(cmd.OutOrStdout(), res)
				} else {
					validatePrintReport(cmd.OutOrStdout(), res.Validation)
				}
				return errs.Configuration("setup stopped: the account is not ready", "apply the fixes listed above, then run setup again", nil)
			}

			progress("2/4 creating or updating the execution role %s ...", roleName)
			g := grace
			if g == 0 {
				g = -1
			}
			ro := lay.RoleOptions(roleName, repository)
			ro.ManagedPolicy, ro.RepairTrust, ro.Grace = managed, repair, g
			res.Role, err = awssetup.EnsureRole(ctx, cfg, ro)
			if err != nil {
				return err
			}
			res.Spec.RoleARN = res.Role.ARN

			if imageURI != "" {
				progress("3/4 4/4 using the image %s (no build, no push)", imageURI)
				res.Spec.ImageURI = imageURI
			} else {
				pushed, err := setupBuildAndPush(ctx, cmd, cfg, awsf, bo, res.Role.Account, repository, tag, registry, progress)
				if err != nil {
					return err
				}
				res.Image = pushed
				res.Spec.ImageURI = pushed.Reference
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			setupPrintSpec(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&bucket, "bucket", "", "the S3 bucket for data and models (required; must exist, in the same region)")
	f.StringVar(&repository, "repository", "", "the ECR repository of the training image (required; created if missing)")
	f.StringVar(&prefix, "prefix", awssetup.DefaultPrefix, "the root prefix in the bucket: data/, output/ and checkpoints/ go under it")
	f.StringVar(&roleName, "role", awssetup.DefaultRoleName, "the execution role's name")
	f.StringVar(&tag, "tag", "latest", "the image tag to push (the spec gets the digest)")
	f.StringVar(&imageURI, "image-uri", "", "use this already-pushed image instead of building and pushing")
	f.StringVar(&registry, "registry", "", "push to this registry host with ECR credentials instead of <account>.dkr.ecr.<region>.amazonaws.com (a registry fronting ECR)")
	f.BoolVar(&managed, "managed-policy", false, "also attach AmazonSageMakerFullAccess to the role")
	f.BoolVar(&repair, "repair-trust", false, "repair the trust policy of an existing role that does not trust SageMaker")
	f.BoolVar(&noProbe, "read-only", false, "validate without writing a probe object")
	f.DurationVar(&grace, "grace", 10*time.Second, "extra wait after a role change, for IAM to reach SageMaker (0: none)")
	awsf.add(cmd)
	return cmd
}

// setupBuildAndPush builds the trainer image (from the module around the
// current folder, or this binary) and pushes it to the account's ECR repository.
func setupBuildAndPush(ctx context.Context, cmd *cobra.Command, cfg aws.Config, awsf awssetupFlags, o image.BuildOptions, account, repository, tag, registry string,
	progress func(string, ...any)) (*image.ECRPushed, error) {
	host := registry
	if host == "" {
		host = account + ".dkr.ecr." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			host += ".cn"
		}
	}
	uri := host + "/" + repository
	if tag != "" {
		uri += ":" + tag
	}
	created, err := image.CreatedFromEnv()
	if err != nil {
		return nil, err
	}
	o.Created = created
	if o.Binary == "" {
		o.Revision = image.SourceRevision(ctx, ".")
	} else {
		o.Revision = buildinfo.Get().Revision // the running binary's own
	}
	if !jsonOutput() {
		o.Log = cmd.ErrOrStderr()
	}
	progress("3/4 building the training image ...")
	img, err := image.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	progress("4/4 pushing it to %s ...", uri)
	updates, stopBar := pushProgress(cmd)
	pushed, err := image.PushECR(ctx, img, uri, image.ECROptions{
		Progress:   updates,
		ECRAuth:    registry != "",
		RegistryID: account,
		Region:     cfg.Region,
		LoadAWSConfig: func(ctx context.Context, region string) (aws.Config, error) {
			return awssetup.LoadConfig(ctx, awssetup.Options{Profile: awsf.profile, Region: region})
		},
	})
	stopBar()
	if err != nil {
		return nil, err
	}
	return &pushed, nil
}

func setupPrintSpec(w io.Writer, r *setupResult) {
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
