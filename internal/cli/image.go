package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/image"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build the training image without a Docker daemon and push it to ECR, pinned by digest",
	}
	cmd.AddCommand(newImageBuildCmd(), newImagePushCmd())
	return cmd
}

// imageBuildResult is what `image build --output json` prints: the first
// three fields describe the main output (the push, else the tarball, else
// the layout); outputs lists every place written.
type imageBuildResult struct {
	image.Published
	Outputs []image.Published `json:"outputs"`
}

func newImageBuildCmd() *cobra.Command {
	var (
		o                                 image.BuildOptions
		platform, tag, layoutDir, tarPath string
		caBundle, revision                string
		adds                              []string
		push, insecure                    bool
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the training image (no Docker daemon): the trainer compiled statically on a minimal base",
		Long: `build compiles this project's trainer (./cmd/sagetrain of the Go module around
--source) statically for linux/amd64 (or --platform linux/arm64) and lays it onto
the base image at ` + image.BinaryPath + `, with that as the entrypoint and "train" as
the command, so SageMaker's "<image> train" runs "sagetrain train".

The default base is built in memory with no pull: the Mozilla CA roots, /etc/passwd
and /etc/group (root, nobody), /tmp; timezone data is embedded in the binary.
--base takes any image reference (credentials from the docker config and credential
helpers), oci:DIR or a folder with an OCI layout, or an image tarball.

The result is reproducible: the same source, base and Go version give the same
digest (timestamps are SOURCE_DATE_EPOCH or 1970-01-01, owners 0:0, entries sorted).

Output: an OCI layout in ` + image.DefaultLayoutDir + ` (or --oci-layout DIR), a tarball that
"docker load" accepts (--tarball FILE), or the registry named by --tag with --push.`,
		Example: `  sagetrain image build
  sagetrain image build --tarball trainer.tar --tag sagetrain:dev
  sagetrain image build --push --tag 123456789012.dkr.ecr.eu-west-1.amazonaws.com/drawings:v3
  sagetrain image build --base python:3.11-slim --add ./scripts:/opt/program --platform linux/arm64`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := image.ParsePlatform(platform)
			if err != nil {
				return err
			}
			o.Platform = p
			for _, a := range adds {
				add, err := image.ParseAdd(a)
				if err != nil {
					return err
				}
				o.Adds = append(o.Adds, add)
			}
			if caBundle != "" {
				if o.CABundle, err = os.ReadFile(caBundle); err != nil {
					return errs.Configuration("cannot read --ca-bundle "+caBundle, "give a PEM file of CA certificates", err)
				}
			}
			if o.Created, err = image.CreatedFromEnv(); err != nil {
				return err
			}
			o.Revision = revision
			if !cmd.Flags().Changed("revision") {
				o.Revision = imageDefaultRevision(cmd, o.Source)
			}
			if push && tag == "" {
				return errs.Configuration("--push needs --tag", "name the registry and repository, e.g. --tag 123456789012.dkr.ecr.eu-west-1.amazonaws.com/drawings:v3", nil)
			}
			if !jsonOutput() {
				o.Log = cmd.ErrOrStderr()
			}

			var pubs []image.Publisher
			stopBar := func() {}
			if push {
				var updates chan<- v1.Update
				updates, stopBar = pushProgress(cmd)
				defer stopBar()
				if image.IsECRReference(tag) {
					pubs = append(pubs, image.ECRPublisher{URI: tag, Options: image.ECROptions{Progress: updates, LoadAWSConfig: imageAWSConfig}})
				} else {
					pubs = append(pubs, image.RegistryPublisher{Ref: tag, Insecure: insecure, Progress: updates})
				}
			}
			if tarPath != "" {
				pubs = append(pubs, image.TarballPublisher{Path: tarPath, Tag: imageTarballTag(tag)})
			}
			if layoutDir != "" || len(pubs) == 0 {
				if layoutDir == "" {
					layoutDir = image.DefaultLayoutDir
				}
				pubs = append(pubs, image.LayoutPublisher{Dir: layoutDir, Tag: imageLayoutTag(tag)})
			}

			if err := imageTrainerSource(ctx, &o); err != nil {
				return err
			}
			img, err := image.Build(ctx, o)
			if err != nil {
				return err
			}
			var res imageBuildResult
			for i, pub := range pubs {
				out, err := pub.Publish(ctx, img)
				if i == 0 {
					stopBar() // the push, when there is one, is first
				}
				if err != nil {
					return err
				}
				res.Outputs = append(res.Outputs, out)
			}
			res.Published = res.Outputs[0]
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			for _, out := range res.Outputs {
				fmt.Fprintln(cmd.OutOrStdout(), out.Reference)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "digest %s, %.1f MB to pull\n", res.Digest, float64(res.SizeBytes)/1e6)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Source, "source", "", "a folder inside the Go module to build (default: the current folder)")
	f.StringVar(&o.Package, "package", image.DefaultPackage, "the main package to compile, relative to the module root")
	f.StringVar(&o.Base, "base", "", "base image: a reference, oci:DIR, a layout folder or a tarball (default: the built-in minimal base)")
	f.StringVar(&platform, "platform", "linux/amd64", "linux/amd64 or linux/arm64")
	f.StringArrayVar(&adds, "add", nil, "SRC:DST: add a local file or folder at DST in the image (repeatable)")
	f.StringVar(&tag, "tag", "", "image name: the registry/repo:tag to push to with --push; also the tarball's and layout's tag")
	f.StringVar(&layoutDir, "oci-layout", "", "write an OCI image layout to DIR (the default output, in "+image.DefaultLayoutDir+")")
	f.StringVar(&tarPath, "tarball", "", "write a tarball that 'docker load' accepts to FILE")
	f.BoolVar(&push, "push", false, "push to the registry named by --tag: an ECR URI logs in and creates the repository as 'image push' does, other registries use the docker credentials")
	f.BoolVar(&insecure, "insecure", false, "allow plain HTTP to a registry that is not on loopback or a private network")
	f.StringVar(&caBundle, "ca-bundle", "", "PEM file to use as the minimal base's CA bundle instead of the Mozilla roots")
	f.StringVar(&revision, "revision", "", "source revision label (default: git HEAD of the source, if any)")
	return cmd
}

func newImagePushCmd() *cobra.Command {
	var (
		o        image.ECROptions
		platform string
	)
	cmd := &cobra.Command{
		Use:   "push IMAGE ECR_REPOSITORY_URI",
		Short: "Push an image to ECR: log in, create the repository if missing, upload missing blobs, print repo@sha256:...",
		Long: `push sends IMAGE (an OCI layout folder or oci:DIR[@sha256:...], an image tarball,
or a registry reference) to ECR_REPOSITORY_URI, written as
<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]. The account and region
come from the URI, so repositories of other accounts work (given a repository
policy). It logs in with ECR's GetAuthorizationToken, creates the repository when
it is missing (scan on push; --immutable-tags for immutable tags), uploads only the
blobs the registry lacks (an interrupted push resumes) and prints the digest-pinned
reference, repo@sha256:..., which is what a training job should use. Without a tag
the image is pushed by digest only.

A URI whose host is not an ECR host is pushed to as a plain registry with the docker
credentials, or, with --ecr-auth, with ECR credentials (account and region from the
AWS configuration or --registry-id), e.g. for a registry fronting ECR.`,
		Example: `  sagetrain image push dist/image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/drawings:v3
  sagetrain image push trainer.tar 210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/drawings --immutable-tags`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := image.ParsePlatform(platform)
			if err != nil {
				return err
			}
			img, err := image.LoadImage(ctx, args[0], image.LoadOptions{Platform: p})
			if err != nil {
				return err
			}
			var stopBar func()
			o.Progress, stopBar = pushProgress(cmd)
			o.LoadAWSConfig = imageAWSConfig
			res, err := image.PushECR(ctx, img, args[1], o)
			stopBar()
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			if res.RepositoryCreated {
				fmt.Fprintf(cmd.ErrOrStderr(), "created repository %s (scan on push)\n", res.Repository)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Reference)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.ImmutableTags, "immutable-tags", false, "create the repository with immutable tags")
	f.BoolVar(&o.NoCreate, "no-create", false, "fail if the repository does not exist instead of creating it")
	f.BoolVar(&o.ECRAuth, "ecr-auth", false, "use ECR credentials and repository creation even though the URI's host is not an ECR host")
	f.StringVar(&o.RegistryID, "registry-id", "", "with --ecr-auth: the account that owns the repository")
	f.StringVar(&platform, "platform", "linux/amd64", "which image to take from a multi-platform IMAGE")
	return cmd
}

// imageDefaultRevision is the git commit of the source, "" outside git.
func imageDefaultRevision(cmd *cobra.Command, src string) string {
	if src == "" {
		src = "."
	}
	return image.SourceRevision(cmd.Context(), src)
}

// imageLayoutTag is the tag part of --tag ("latest" when none).
func imageLayoutTag(tag string) string {
	if tag == "" {
		return "latest"
	}
	if t, err := name.NewTag(tag); err == nil && strings.Contains(tag, ":") {
		return t.TagStr()
	}
	return "latest"
}

// imageTarballTag is what docker load names the image: --tag, or sagetrain:latest.
func imageTarballTag(tag string) string {
	if tag == "" {
		return "sagetrain:latest"
	}
	return tag
}

// imageAWSConfig loads the AWS configuration of an ECR push the way every
// other command does (the SDK's log lines silenced unless --debug).
func imageAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	return awssetup.LoadConfig(ctx, awssetup.Options{Region: region})
}
