package api

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// ErrAWSUnavailable marks errors meaning "AWS is not configured or not
// reachable from this server": the API answers them with 503.
var ErrAWSUnavailable = errors.New("AWS unavailable")

type unavailable struct{ error }

func (u unavailable) Is(target error) bool { return target == ErrAWSUnavailable }
func (u unavailable) Unwrap() error        { return u.error }

// AWSUnavailable wraps err so the API answers it with 503.
func AWSUnavailable(err error) error { return unavailable{err} }

// AWSEnvironments answers /environments/status and /sagemaker/setup with
// package awssetup. Defaults fill what a setup request leaves out.
type AWSEnvironments struct {
	Config   aws.Config // nil Credentials or empty Region: not configured
	Validate awssetup.ValidateOptions
	Role     awssetup.RoleOptions
}

func (e *AWSEnvironments) configured(ctx context.Context) (string, error) {
	if e == nil || e.Config.Region == "" || e.Config.Credentials == nil {
		return "", AWSUnavailable(errNotConfigured)
	}
	account, _, err := awssetup.Account(ctx, e.Config)
	if err != nil {
		return "", AWSUnavailable(errs.Configuration("AWS is configured on this server but does not answer", "check the server's AWS credentials and network, then retry", err))
	}
	return account, nil
}

// SageMakerStatus checks the account (identity, region, and the bucket,
// repository and role given to serve) read-only.
func (e *AWSEnvironments) SageMakerStatus(ctx context.Context) (any, error) {
	account, err := e.configured(ctx)
	if err != nil {
		return nil, err
	}
	o := e.Validate
	o.ReadOnly = true
	rep := awssetup.Validate(ctx, e.Config, o)
	return map[string]any{
		"available": rep.IsValid, "configured": true, "region": e.Config.Region, "account": account,
		"validation": rep,
	}, nil
}

// SetupSageMaker creates or updates the execution role.
func (e *AWSEnvironments) SetupSageMaker(ctx context.Context, req SetupRequest) (any, error) {
	if _, err := e.configured(ctx); err != nil {
		return nil, err
	}
	o := e.Role
	if req.RoleName != "" {
		o.Name = req.RoleName
	}
	if req.Bucket != "" {
		o.Bucket = req.Bucket
	}
	if req.ECRRepo != "" {
		o.Repository = req.ECRRepo
	}
	if req.Region != "" && req.Region != e.Config.Region {
		return nil, errs.Configuration("this server works in region "+e.Config.Region+", not "+req.Region, "leave region out or run the server with AWS_REGION="+req.Region, nil)
	}
	res, err := awssetup.EnsureRole(ctx, e.Config, o)
	if err != nil {
		return nil, err
	}
	return map[string]any{"role_arn": res.ARN, "role": res, "region": e.Config.Region}, nil
}

// ReadyCheck is a /readyz check that AWS answers (only add it when AWS is
// configured).
func (e *AWSEnvironments) ReadyCheck(ctx context.Context) error {
	_, err := e.configured(ctx)
	return err
}
