package awssetup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/oklog/ulid/v2"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// ValidateOptions say what to check. Empty fields are not checked.
type ValidateOptions struct {
	Bucket       string
	Prefix       string // the data prefix (probed unless ReadOnly)
	OutputPrefix string // where jobs write; default Prefix
	Repository   string // ECR repository name
	Role         string // execution role name or ARN
	ReadOnly     bool   // no probe object: only read checks
	// Reads are the exact s3:// prefixes a job will read (from a spec);
	// empty: Bucket/Prefix. Checkpoint is read and written when set.
	Reads      []string
	Checkpoint string
}

// Check statuses.
const (
	StatusOK      = "ok"
	StatusError   = "error"
	StatusWarning = "warning"
	StatusSkipped = "skipped"
)

// Check is one line of the report.
type Check struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Finding is an error or a warning with its one-line fix.
type Finding struct {
	Check   string `json:"check"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Report is the result of Validate.
type Report struct {
	IsValid  bool              `json:"is_valid"`
	Errors   []Finding         `json:"errors"`
	Warnings []Finding         `json:"warnings"`
	Found    map[string]string `json:"found"`
	Checks   []Check           `json:"checks"`
}

func (r *Report) add(name, status, msg, fix string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: status, Message: msg, Fix: fix})
	switch status {
	case StatusError:
		r.Errors = append(r.Errors, Finding{Check: name, Message: msg, Fix: fix})
	case StatusWarning:
		r.Warnings = append(r.Warnings, Finding{Check: name, Message: msg, Fix: fix})
	}
}

// failed records err as an error of check name, with Explain's fix.
func (r *Report) failed(name, action string, err error) {
	e := Explain(err, action)
	var se *errs.Error
	if errors.As(e, &se) {
		msg := se.Msg
		if se.Err != nil {
			msg += ": " + se.Err.Error()
		}
		r.add(name, StatusError, msg, se.Fix)
		return
	}
	r.add(name, StatusError, e.Error(), "check the network and the credentials, then run validate again")
}

// Validate checks that this account, region, bucket, repository and role
// are ready for SageMaker training jobs. It never fails: every problem is a
// finding of the report.
func Validate(ctx context.Context, cfg aws.Config, o ValidateOptions) *Report {
	r := &Report{Found: map[string]string{}, Errors: []Finding{}, Warnings: []Finding{}}
	if o.OutputPrefix == "" {
		o.OutputPrefix = o.Prefix
	}
	r.Found["region"] = cfg.Region
	account, arn, err := Account(ctx, cfg)
	if err != nil {
		r.failed("identity", "find who you are (sts:GetCallerIdentity)", err)
		for _, n := range []string{"sagemaker", "bucket", "repository", "role"} {
			r.add(n, StatusSkipped, "not checked: no working AWS identity", "")
		}
		r.IsValid = false
		return r
	}
	r.Found["account"], r.Found["arn"] = account, arn
	r.add("identity", StatusOK, "signed in as "+arn, "")
	r.add("region", StatusOK, "jobs run in "+cfg.Region, "")

	if _, err := sagemaker.NewFromConfig(cfg).ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{MaxResults: aws.Int32(1)}); err != nil {
		r.failed("sagemaker", "list SageMaker training jobs", err)
	} else {
		r.add("sagemaker", StatusOK, "SageMaker answers in "+cfg.Region, "")
	}

	validateBucket(ctx, cfg, o, r)
	validateRepository(ctx, cfg, o, r)
	validateRole(ctx, cfg, o, account, r)
	r.IsValid = len(r.Errors) == 0
	return r
}

var regionInMessage = regexp.MustCompile(`expecting ['"]?([a-z0-9-]+)['"]?`)

// bucketRegion asks S3 where the bucket lives. GetBucketLocation answers ""
// for us-east-1 and "EU" for the old eu-west-1.
func bucketRegion(ctx context.Context, client *s3.Client, bucket string) (string, error) {
	out, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &bucket})
	if err != nil {
		if APIErrorCode(err) == "AuthorizationHeaderMalformed" {
			if m := regionInMessage.FindStringSubmatch(err.Error()); m != nil {
				return m[1], nil
			}
		}
		return "", err
	}
	switch loc := string(out.LocationConstraint); loc {
	case "":
		return "us-east-1", nil
	case "EU":
		return "eu-west-1", nil
	default:
		return loc, nil
	}
}

func validateBucket(ctx context.Context, cfg aws.Config, o ValidateOptions, r *Report) {
	if o.Bucket == "" {
		r.add("bucket", StatusSkipped, "no bucket given", "pass --bucket to check where the data and models go")
		return
	}
	where := "s3://" + o.Bucket
	r.Found["bucket"] = o.Bucket
	client := NewS3Client(cfg)
	region, err := bucketRegion(ctx, client, o.Bucket)
	if err != nil {
		r.failed("bucket", "find bucket "+o.Bucket, err)
		return
	}
	r.Found["bucket_region"] = region
	if region != cfg.Region {
		r.add("bucket", StatusError, fmt.Sprintf("bucket %s is in %s but jobs run in %s; SageMaker needs them in the same region", o.Bucket, region, cfg.Region),
			fmt.Sprintf("set AWS_REGION=%s, or use a bucket in %s", region, cfg.Region))
		return
	}
	r.add("bucket", StatusOK, fmt.Sprintf("bucket %s exists in %s", o.Bucket, region), "")

	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		where += "/" + prefix
	}
	if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &o.Bucket, Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)}); err != nil {
		r.failed("prefix_read", "list "+where, err)
	} else {
		r.add("prefix_read", StatusOK, where+" can be listed", "")
	}
	if o.ReadOnly {
		r.add("prefix_write", StatusSkipped, "--read-only: no probe object written", "")
		return
	}
	key := ".sagetrain-probe-" + strings.ToLower(ulid.Make().String())
	if prefix != "" {
		key = prefix + "/" + key
	}
	body := []byte("sagetrain validate probe " + time.Now().UTC().Format(time.RFC3339))
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &o.Bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		r.failed("prefix_write", "write a probe object to "+where, err)
		return
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &o.Bucket, Key: &key})
	if err == nil {
		b, rerr := io.ReadAll(got.Body)
		got.Body.Close()
		if rerr == nil && !bytes.Equal(b, body) {
			err = fmt.Errorf("the probe object read back differs from what was written")
		} else {
			err = rerr
		}
	}
	if err != nil {
		r.failed("prefix_write", "read back the probe object s3://"+o.Bucket+"/"+key, err)
	}
	if _, derr := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &o.Bucket, Key: &key}); derr != nil {
		r.add("prefix_cleanup", StatusWarning, "cannot delete the probe object s3://"+o.Bucket+"/"+key+": "+derr.Error(),
			"delete it by hand (aws s3 rm s3://"+o.Bucket+"/"+key+")")
	}
	if err == nil {
		r.add("prefix_write", StatusOK, where+" is writable and readable (probe object written, read, deleted)", "")
	}
}

func validateRepository(ctx context.Context, cfg aws.Config, o ValidateOptions, r *Report) {
	if o.Repository == "" {
		r.add("repository", StatusSkipped, "no repository given", "pass --repository to check where the training image goes")
		return
	}
	out, err := ecr.NewFromConfig(cfg).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{o.Repository}})
	if err != nil {
		if APIErrorCode(err) == "RepositoryNotFoundException" {
			r.add("repository", StatusError, "ECR repository "+o.Repository+" does not exist in "+cfg.Region,
				"run 'sagetrain setup' (it creates it) or: aws ecr create-repository --repository-name "+o.Repository)
			return
		}
		r.failed("repository", "describe ECR repository "+o.Repository, err)
		return
	}
	if len(out.Repositories) == 0 {
		r.add("repository", StatusError, "ECR repository "+o.Repository+" not found", "aws ecr create-repository --repository-name "+o.Repository)
		return
	}
	r.Found["repository_uri"] = aws.ToString(out.Repositories[0].RepositoryUri)
	r.add("repository", StatusOK, "ECR repository "+aws.ToString(out.Repositories[0].RepositoryUri)+" exists", "")
}

// roleName accepts a role name or ARN (arn:aws:iam::1:role/path/name).
func roleName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[i+1:]
		}
	}
	return s
}

func validateRole(ctx context.Context, cfg aws.Config, o ValidateOptions, account string, r *Report) {
	if o.Role == "" {
		r.add("role", StatusSkipped, "no execution role given", "pass --role NAME (create one with 'sagetrain role create')")
		return
	}
	name := roleName(o.Role)
	client := iam.NewFromConfig(cfg)
	got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if err != nil {
		if APIErrorCode(err) == "NoSuchEntity" {
			r.add("role", StatusError, "execution role "+name+" does not exist",
				fmt.Sprintf("sagetrain role create %s --bucket %s --input-prefix %s --output-prefix %s --repository %s",
					name, orPlaceholder(o.Bucket, "BUCKET"), orPlaceholder(o.Prefix, "PREFIX"), orPlaceholder(o.OutputPrefix, "PREFIX"), orPlaceholder(o.Repository, "REPO")))
			return
		}
		r.failed("role", "read role "+name, err)
		return
	}
	roleARN := aws.ToString(got.Role.Arn)
	r.Found["role_arn"] = roleARN
	r.add("role", StatusOK, "execution role "+roleARN+" exists", "")
	if !TrustsSageMaker(aws.ToString(got.Role.AssumeRolePolicyDocument)) {
		r.add("role_trust", StatusError, "role "+name+" does not let sagemaker.amazonaws.com assume it",
			"sagetrain role create "+name+" --repair-trust (with the same --bucket/--repository flags)")
	} else {
		r.add("role_trust", StatusOK, "role "+name+" trusts SageMaker", "")
	}
	validateRolePermissions(ctx, cfg, client, o, account, roleARN, name, r)
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

// need is one thing a training job does with its role.
type need struct {
	action, resource string
	listPrefix       string // the s3:prefix of a ListBucket
}

// splitS3 reads s3://bucket/prefix.
func splitS3(uri string) (bucket, prefix string) {
	bucket, prefix, _ = strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	return bucket, strings.Trim(prefix, "/")
}

// needed lists what a training job does with this role: action and resource.
func needed(cfg aws.Config, o ValidateOptions, account string) []need {
	part := Partition(cfg.Region)
	var out []need
	reads := o.Reads
	if len(reads) == 0 && o.Bucket != "" {
		reads = []string{"s3://" + o.Bucket + "/" + o.Prefix}
	}
	for _, r := range reads {
		b, p := splitS3(r)
		lp := ""
		if p != "" {
			lp = p + "/"
		}
		out = append(out,
			need{action: "s3:GetObject", resource: objectARN(part, b, p, "metadata.csv")},
			need{action: "s3:ListBucket", resource: "arn:" + part + ":s3:::" + b, listPrefix: lp})
	}
	if o.Bucket != "" {
		out = append(out, need{action: "s3:PutObject", resource: objectARN(part, o.Bucket, o.OutputPrefix, "job/output/model.tar.gz")})
	}
	if o.Checkpoint != "" {
		b, p := splitS3(o.Checkpoint)
		out = append(out,
			need{action: "s3:GetObject", resource: objectARN(part, b, p, "checkpoint.json")},
			need{action: "s3:PutObject", resource: objectARN(part, b, p, "checkpoint.json")})
	}
	if o.Repository != "" {
		repo := "arn:" + part + ":ecr:" + cfg.Region + ":" + account + ":repository/" + o.Repository
		out = append(out, need{action: "ecr:BatchGetImage", resource: repo}, need{action: "ecr:GetDownloadUrlForLayer", resource: repo})
	}
	logs := "arn:" + part + ":logs:" + cfg.Region + ":" + account + ":log-group:" + TrainingLogGroup + ":log-stream:job/algo-1"
	out = append(out,
		need{action: "ecr:GetAuthorizationToken", resource: "*"},
		need{action: "logs:CreateLogStream", resource: logs},
		need{action: "logs:PutLogEvents", resource: logs})
	return out
}

func validateRolePermissions(ctx context.Context, cfg aws.Config, client *iam.Client, o ValidateOptions, account, roleARN, name string, r *Report) {
	need := needed(cfg, o, account)
	var denied []string
	simulated := true
	for _, n := range need {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: &roleARN, ActionNames: []string{n.action}, ResourceArns: []string{n.resource}}
		if n.action == "s3:ListBucket" {
			in.ContextEntries = []iamtypes.ContextEntry{{ContextKeyName: aws.String("s3:prefix"), ContextKeyType: iamtypes.ContextKeyTypeEnumString,
				ContextKeyValues: []string{n.listPrefix}}}
		}
		// A simulator that is missing (500/501 from some endpoints) is not worth retrying.
		out, err := client.SimulatePrincipalPolicy(ctx, in, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			simulated = false
			break
		}
		for _, e := range out.EvaluationResults {
			if e.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
				denied = append(denied, n.action+" on "+n.resource)
			}
		}
	}
	how := "simulated by IAM"
	if !simulated {
		// IAM simulation needs iam:SimulatePrincipalPolicy, which many users
		// lack: read the role's own policies and evaluate them here instead.
		docs, err := rolePolicies(ctx, client, name)
		if err != nil {
			r.add("role_permissions", StatusWarning, "cannot check the role's permissions: neither iam:SimulatePrincipalPolicy nor reading its policies works ("+err.Error()+")",
				"grant yourself iam:SimulatePrincipalPolicy or iam:GetRolePolicy, or check the role by hand")
			return
		}
		denied = nil
		for _, n := range need {
			if !allowedBy(docs, n.action, n.resource) {
				denied = append(denied, n.action+" on "+n.resource)
			}
		}
		how = "evaluated from the role's policies (IAM simulation unavailable; conditions, boundaries and SCPs not evaluated)"
		if len(denied) == 0 {
			r.add("role_permissions", StatusWarning, "role "+name+" has the permissions jobs need, "+how,
				"grant yourself iam:SimulatePrincipalPolicy for a full check")
			return
		}
	}
	if len(denied) > 0 {
		r.add("role_permissions", StatusError, "role "+name+" lacks: "+strings.Join(denied, "; ")+" ("+how+")",
			fmt.Sprintf("sagetrain role create %s --bucket %s --input-prefix %s --output-prefix %s --repository %s (rewrites its inline policy)",
				name, orPlaceholder(o.Bucket, "BUCKET"), orPlaceholder(o.Prefix, "PREFIX"), orPlaceholder(o.OutputPrefix, "PREFIX"), orPlaceholder(o.Repository, "REPO")))
		return
	}
	r.add("role_permissions", StatusOK, "role "+name+" has the permissions jobs need ("+how+")", "")
}
