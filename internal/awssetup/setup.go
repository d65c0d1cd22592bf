package awssetup

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/image"
)

// SetupOptions is what `sagetrain setup` was asked to do.
type SetupOptions struct {
	Bucket     string // the S3 bucket for data and models (required)
	Repository string // the ECR repository of the training image (required)
	Prefix     string // the root prefix in the bucket
	RoleName   string // the execution role's name
	Tag        string // the image tag to push ("" pushes by digest only)
	ImageURI   string // an already-pushed image: no build, no push
	Registry   string // push here with ECR credentials instead of the account's ECR host
	Profile    string // the shared-config profile, for the push's own AWS configuration

	ManagedPolicy, RepairTrust bool
	ReadOnly                   bool          // validate without writing a probe object
	Grace                      time.Duration // extra wait after a role change (0: none)

	// Build is where the image's trainer comes from (Source or Binary, and
	// Log); Setup fills in the creation time and revision.
	Build image.BuildOptions
	// Progress, when set, gets one line per step ("1/4 validating ...").
	Progress func(format string, a ...any)
	// PushProgress, when set, starts a progress display for the push: the
	// updates channel goes to the registry write, stop is called after it.
	PushProgress func() (updates chan<- v1.Update, stop func())
}

// SetupResult is what setup did and the values a job spec needs.
type SetupResult struct {
	Validation *Report          `json:"validation"`
	Role       *RoleResult      `json:"role"`
	Image      *image.ECRPushed `json:"image,omitempty"`
	Spec       SetupSpecValues  `json:"spec"`
}

// SetupSpecValues are the job spec fields, named as in the spec file.
type SetupSpecValues struct {
	RoleARN         string `json:"role_arn" yaml:"role_arn"`
	ImageURI        string `json:"image_uri" yaml:"image_uri"`
	InputDataS3URI  string `json:"input_data_s3_uri" yaml:"input_data_s3_uri"`
	OutputS3URI     string `json:"output_s3_uri" yaml:"output_s3_uri"`
	CheckpointS3URI string `json:"checkpoint_s3_uri" yaml:"checkpoint_s3_uri"`
}

func (o SetupOptions) layout() Layout { return Layout{Bucket: o.Bucket, Root: o.Prefix} }

// Check reports what is wrong with the options before anything is asked
// of AWS, so that no role is made for a setup that cannot finish.
func (o SetupOptions) Check() error {
	if o.Bucket == "" || o.Repository == "" {
		return errs.Configuration("setup needs --bucket and --repository", "pass the S3 bucket and the ECR repository name to use", nil)
	}
	return CheckRoleOptions(o.layout().RoleOptions(o.RoleName, o.Repository))
}

// Setup gets an account ready for training jobs, in order: validate the
// account, region, SageMaker and the bucket; create or update the execution
// role; build the training image and push it to ECR (unless ImageURI names
// one). It stops at the first step that fails. When validation fails the
// result holds its report (to print) and the error says setup stopped.
func Setup(ctx context.Context, cfg aws.Config, o SetupOptions) (*SetupResult, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	lay := o.layout()
	res := &SetupResult{Spec: SetupSpecValues{
		InputDataS3URI:  lay.URI(lay.DataPrefix() + "/training"),
		OutputS3URI:     lay.URI(lay.OutputPrefix()),
		CheckpointS3URI: lay.URI(lay.CheckpointPrefix()),
	}}

	progress("1/4 validating the account, region, SageMaker and %s ...", lay.URI(lay.DataPrefix()))
	vo := lay.ValidateOptions("", "")
	vo.ReadOnly = o.ReadOnly
	res.Validation = Validate(ctx, cfg, vo)
	if !res.Validation.IsValid {
		return res, errs.Configuration("setup stopped: the account is not ready", "apply the fixes listed above, then run setup again", nil)
	}

	progress("2/4 creating or updating the execution role %s ...", o.RoleName)
	g := o.Grace
	if g == 0 {
		g = -1 // RoleOptions' zero is its default wait; setup's zero is none
	}
	ro := lay.RoleOptions(o.RoleName, o.Repository)
	ro.ManagedPolicy, ro.RepairTrust, ro.Grace = o.ManagedPolicy, o.RepairTrust, g
	var err error
	res.Role, err = EnsureRole(ctx, cfg, ro)
	if err != nil {
		return res, err
	}
	res.Spec.RoleARN = res.Role.ARN

	if o.ImageURI != "" {
		progress("3/4 4/4 using the image %s (no build, no push)", o.ImageURI)
		res.Spec.ImageURI = o.ImageURI
		return res, nil
	}
	pushed, err := setupBuildAndPush(ctx, cfg, o, res.Role.Account, progress)
	if err != nil {
		return res, err
	}
	res.Image = pushed
	res.Spec.ImageURI = pushed.Reference
	return res, nil
}

// setupBuildAndPush builds the trainer image (from the module around the
// current folder, or this binary) and pushes it to the account's ECR repository.
func setupBuildAndPush(ctx context.Context, cfg aws.Config, o SetupOptions, account string, progress func(string, ...any)) (*image.ECRPushed, error) {
	host := o.Registry
	if host == "" {
		host = account + ".dkr.ecr." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			host += ".cn"
		}
	}
	uri := host + "/" + o.Repository
	if o.Tag != "" {
		uri += ":" + o.Tag
	}
	created, err := image.CreatedFromEnv()
	if err != nil {
		return nil, err
	}
	bo := o.Build
	bo.Created = created
	if bo.Binary == "" {
		bo.Revision = image.SourceRevision(ctx, ".")
	} else {
		bo.Revision = buildinfo.Get().Revision // the running binary's own
	}
	progress("3/4 building the training image ...")
	img, err := image.Build(ctx, bo)
	if err != nil {
		return nil, err
	}
	progress("4/4 pushing it to %s ...", uri)
	var updates chan<- v1.Update
	stop := func() {}
	if o.PushProgress != nil {
		updates, stop = o.PushProgress()
	}
	pushed, err := image.PushECR(ctx, img, uri, image.ECROptions{
		Progress:   updates,
		ECRAuth:    o.Registry != "",
		RegistryID: account,
		Region:     cfg.Region,
		LoadAWSConfig: func(ctx context.Context, region string) (aws.Config, error) {
			return LoadConfig(ctx, Options{Profile: o.Profile, Region: region})
		},
	})
	stop()
	if err != nil {
		return nil, err
	}
	return &pushed, nil
}
