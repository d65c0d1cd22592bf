package awssetup

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// RoleOptions describe the execution role to create or bring up to date.
type RoleOptions struct {
	Name             string
	Bucket           string
	InputPrefix      string
	OutputPrefix     string
	CheckpointPrefix string // optional
	Repository       string // ECR repository name
	ManagedPolicy    bool   // also attach AmazonSageMakerFullAccess
	RepairTrust      bool   // rewrite an existing role's trust policy if it does not trust SageMaker
	// Grace is the extra wait after IAM reports a new role, because
	// SageMaker may not see it for a few seconds more. Default 10s; <0 none.
	Grace time.Duration
	// WaitTimeout bounds the wait for the role to be visible. Default 2 min.
	WaitTimeout time.Duration
}

// RoleResult is the outcome of EnsureRole.
type RoleResult struct {
	ARN           string `json:"arn"`
	Name          string `json:"name"`
	Account       string `json:"account"`
	Created       bool   `json:"created"`
	TrustRepaired bool   `json:"trust_repaired"`
	PolicyChanged bool   `json:"policy_changed"`
	ManagedPolicy bool   `json:"managed_policy_attached"`
	InlinePolicy  string `json:"inline_policy"`
}

// Account returns the caller's account id and ARN through STS, which works
// for users and assumed roles alike.
func Account(ctx context.Context, cfg aws.Config) (account, arn string, err error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", Explain(err, "find who you are (sts:GetCallerIdentity)")
	}
	return aws.ToString(out.Account), aws.ToString(out.Arn), nil
}

func (o *RoleOptions) check() error {
	var missing []string
	if o.Name == "" {
		missing = append(missing, "a role name")
	}
	if o.Bucket == "" {
		missing = append(missing, "--bucket")
	}
	if o.Repository == "" {
		missing = append(missing, "--repository")
	}
	if len(missing) > 0 {
		return errs.Configuration("the role needs "+strings.Join(missing, ", "), "pass them; see 'sagetrain role create --help'", nil)
	}
	if !reRoleName.MatchString(o.Name) {
		return errs.Configuration(fmt.Sprintf("%q is not a valid IAM role name", o.Name),
			"use 1 to 64 letters, digits and +=,.@_- (e.g. "+DefaultRoleName+")", nil)
	}
	if strings.Contains(o.Bucket, "/") || strings.Contains(o.Bucket, ":") {
		return errs.Configuration(fmt.Sprintf("--bucket %q is not a bucket name", o.Bucket), "pass the bare name, e.g. --bucket my-bucket (prefixes go in the prefix flags)", nil)
	}
	for flag, p := range map[string]string{"--input-prefix": o.InputPrefix, "--output-prefix": o.OutputPrefix, "--checkpoint-prefix": o.CheckpointPrefix} {
		if strings.Contains(p, "://") {
			return errs.Configuration(fmt.Sprintf("%s %q is a URI, not a key prefix", flag, p),
				"pass the key prefix inside --bucket, e.g. "+flag+" sagetrain/data for s3://BUCKET/sagetrain/data", nil)
		}
	}
	return nil
}

// reRoleName is IAM's rule for role names.
var reRoleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// EnsureRole creates the execution role, or brings an existing one up to
// date: it is safe to run again. It returns once IAM shows the role.
func EnsureRole(ctx context.Context, cfg aws.Config, o RoleOptions) (*RoleResult, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	account, _, err := Account(ctx, cfg)
	if err != nil {
		return nil, err
	}
	client := iam.NewFromConfig(cfg)
	res := &RoleResult{Name: o.Name, Account: account}
	trust := TrustPolicy(account).JSON()
	policy := InlinePolicy(RoleScope{Bucket: o.Bucket, InputPrefix: o.InputPrefix, OutputPrefix: o.OutputPrefix,
		CheckpointPrefix: o.CheckpointPrefix, Repository: o.Repository, Account: account, Region: cfg.Region}).JSON()
	res.InlinePolicy = policy

	got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Name})
	switch {
	case err == nil:
		res.ARN = aws.ToString(got.Role.Arn)
		if !TrustsSageMaker(aws.ToString(got.Role.AssumeRolePolicyDocument)) {
			if !o.RepairTrust {
				return res, errs.Configuration(fmt.Sprintf("role %s exists but does not let SageMaker assume it", o.Name),
					"run again with --repair-trust to rewrite its trust policy, or choose another role name", nil)
			}
			if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &o.Name, PolicyDocument: &trust}); err != nil {
				return res, Explain(err, "repair the trust policy of role "+o.Name)
			}
			res.TrustRepaired = true
		}
	case APIErrorCode(err) == "NoSuchEntity":
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 &o.Name,
			AssumeRolePolicyDocument: &trust,
			Description:              aws.String("SageMaker execution role for sagetrain training jobs"),
			Tags:                     []iamtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("sagetrain")}},
		})
		if err != nil {
			if APIErrorCode(err) != "EntityAlreadyExists" { // created meanwhile: carry on
				return res, Explain(err, "create role "+o.Name)
			}
			again, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: &o.Name})
			if err != nil {
				return res, Explain(err, "read role "+o.Name)
			}
			res.ARN = aws.ToString(again.Role.Arn)
		} else {
			res.ARN = aws.ToString(out.Role.Arn)
			res.Created = true
		}
	default:
		return res, Explain(err, "read role "+o.Name)
	}

	cur, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &o.Name, PolicyName: aws.String(InlinePolicyName)})
	if err != nil || !samePolicy(aws.ToString(cur.PolicyDocument), policy) {
		if err != nil && APIErrorCode(err) != "NoSuchEntity" {
			return res, Explain(err, "read the inline policy of role "+o.Name)
		}
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &o.Name,
			PolicyName: aws.String(InlinePolicyName), PolicyDocument: &policy}); err != nil {
			return res, Explain(err, "put the inline policy on role "+o.Name)
		}
		res.PolicyChanged = true
	}
	if o.ManagedPolicy {
		arn := "arn:" + Partition(cfg.Region) + ManagedPolicyARNSuffix
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &o.Name, PolicyArn: &arn}); err != nil {
			if APIErrorCode(err) == "NoSuchEntity" {
				return res, errs.Configuration("the managed policy "+arn+" does not exist here",
					"leave out --managed-policy: the inline policy is enough", err)
			}
			return res, Explain(err, "attach "+arn+" to role "+o.Name)
		}
		res.ManagedPolicy = true
	}

	timeout := o.WaitTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	if err := iam.NewRoleExistsWaiter(client, func(w *iam.RoleExistsWaiterOptions) {
		w.MinDelay, w.MaxDelay = time.Second, 5*time.Second
	}).Wait(ctx, &iam.GetRoleInput{RoleName: &o.Name}, timeout); err != nil {
		return res, Explain(err, "wait for role "+o.Name+" to be visible in IAM")
	}
	if res.Created || res.TrustRepaired || res.PolicyChanged {
		grace := o.Grace
		if grace == 0 {
			grace = 10 * time.Second
		}
		if grace > 0 {
			select {
			case <-time.After(grace):
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
	}
	return res, nil
}

// samePolicy compares two policy documents (IAM returns them URL-encoded
// and may reformat them).
func samePolicy(a, b string) bool {
	if d, err := url.QueryUnescape(a); err == nil {
		a = d
	}
	return normJSON(a) == normJSON(b)
}
