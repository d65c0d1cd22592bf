package awssetup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sagetrain/sagetrain/internal/image"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// precheckTimeout bounds each submit-time check: a service out of reach
// becomes a warning quickly instead of holding the submit.
const precheckTimeout = 15 * time.Second

// SubmitChecks returns the checks submit makes of a SageMaker spec before
// anything is recorded or billed: each S3 input holds a manifest or at least
// one object, the role exists and trusts SageMaker, an ECR image exists (by
// digest or tag). A definite "no" is a problem of the spec's field; a check
// that cannot be made (denied, unreachable) is a warning.
func SubmitChecks(cfg aws.Config) func(ctx context.Context, sp *spec.Spec) ([]spec.Violation, []string) {
	cfg = cfg.Copy()
	cfg.RetryMaxAttempts = 2
	return func(ctx context.Context, sp *spec.Spec) ([]spec.Violation, []string) {
		var (
			mu       sync.Mutex
			problems []spec.Violation
			warnings []string
			wg       sync.WaitGroup
		)
		report := func(field string, problem, warning string) {
			mu.Lock()
			defer mu.Unlock()
			if problem != "" {
				problems = append(problems, spec.Violation{Field: field, Message: problem})
			}
			if warning != "" {
				warnings = append(warnings, field+": "+warning)
			}
		}
		run := func(fn func(ctx context.Context)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, precheckTimeout)
				defer cancel()
				fn(cctx)
			}()
		}
		if strings.HasPrefix(sp.InputDataS3URI, "s3://") {
			run(func(ctx context.Context) {
				p, w := checkS3Input(ctx, cfg, sp.InputDataS3URI)
				report("input_data_s3_uri", p, w)
			})
		}
		for name, uri := range sp.Channels {
			if strings.HasPrefix(uri, "s3://") {
				run(func(ctx context.Context) {
					p, w := checkS3Input(ctx, cfg, uri)
					report("channels."+name, p, w)
				})
			}
		}
		if sp.RoleARN != "" {
			run(func(ctx context.Context) {
				p, w := checkRole(ctx, cfg, sp.RoleARN)
				report("role_arn", p, w)
			})
		}
		if sp.ImageURI != "" {
			run(func(ctx context.Context) {
				p, w := checkImage(ctx, cfg, sp.ImageURI)
				report("image_uri", p, w)
			})
		}
		wg.Wait()
		sort.Slice(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
		sort.Strings(warnings)
		return problems, warnings
	}
}

// notChecked is the warning of a check that could not be made.
func notChecked(what string, err error) string {
	return "not checked: cannot " + what + " (" + oneLine(err) + "); the job may still fail for it"
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// checkS3Input: SageMaker's S3Prefix matches keys by prefix, so the input
// is usable when <prefix>/manifest.json or any object under the prefix exists.
func checkS3Input(ctx context.Context, cfg aws.Config, uri string) (problem, warning string) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	client := NewS3Client(cfg)
	manifest := strings.TrimSuffix(prefix, "/") + "/manifest.json"
	if prefix == "" {
		manifest = "manifest.json"
	}
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &manifest}); err == nil {
		return "", ""
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		var nb *s3types.NoSuchBucket
		if errors.As(err, &nb) || APIErrorCode(err) == "NoSuchBucket" {
			return "bucket " + bucket + " does not exist; create it or fix the URI", ""
		}
		return "", notChecked("list "+uri, err)
	}
	if len(out.Contents) == 0 {
		return uri + " holds no objects (and no manifest.json): the job would fail at its input download; upload first: sagetrain upload DATASET_DIR --to " + uri, ""
	}
	return "", ""
}

func checkRole(ctx context.Context, cfg aws.Config, arn string) (problem, warning string) {
	name := roleName(arn)
	got, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if err != nil {
		if APIErrorCode(err) == "NoSuchEntity" {
			return "execution role " + name + " does not exist; create it with 'sagetrain setup' or 'sagetrain role create " + name + "'", ""
		}
		return "", notChecked("read role "+name, err)
	}
	if got.Role != nil && aws.ToString(got.Role.Arn) != "" && aws.ToString(got.Role.Arn) != arn {
		return fmt.Sprintf("is %s but the role %s has the ARN %s", arn, name, aws.ToString(got.Role.Arn)), ""
	}
	if got.Role != nil && !TrustsSageMaker(aws.ToString(got.Role.AssumeRolePolicyDocument)) {
		return "role " + name + " does not let sagemaker.amazonaws.com assume it; repair it: sagetrain role create " + name + " --repair-trust (with its --bucket/--repository flags)", ""
	}
	return "", ""
}

// checkImage asks ECR for an image named by an ECR URI, by digest when it
// has one. Other registries are not checked.
func checkImage(ctx context.Context, cfg aws.Config, uri string) (problem, warning string) {
	host, rest, ok := strings.Cut(uri, "/")
	h, isECR := image.ParseECRHost(host)
	if !ok || !isECR {
		return "", "not checked: " + host + " is not an ECR registry"
	}
	repo, id := rest, ecrtypes.ImageIdentifier{ImageTag: aws.String("latest")}
	if r, d, found := strings.Cut(rest, "@"); found {
		repo, id = r, ecrtypes.ImageIdentifier{ImageDigest: aws.String(d)}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		repo, id = rest[:i], ecrtypes.ImageIdentifier{ImageTag: aws.String(rest[i+1:])}
	}
	c := cfg.Copy()
	c.Region = h.Region
	_, err := ecr.NewFromConfig(c).DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(h.Account), RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{id}})
	if err == nil {
		return "", ""
	}
	switch APIErrorCode(err) {
	case "ImageNotFoundException":
		return "image " + uri + " is not in the repository; push it first (sagetrain setup, or sagetrain image push)", ""
	case "RepositoryNotFoundException":
		return "ECR repository " + repo + " does not exist in account " + h.Account + ", " + h.Region + "; run 'sagetrain setup --repository " + repo + "'", ""
	}
	return "", notChecked("describe image "+uri, err)
}
