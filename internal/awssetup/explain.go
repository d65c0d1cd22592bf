package awssetup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// APIErrorCode returns the AWS error code of err ("AccessDenied",
// "NoSuchBucket", ...) or "" when err is not an AWS API error.
func APIErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Explain turns an AWS SDK error met while doing action into a sagetrain
// error that says what to do. Messages never carry credentials: the SDK's
// errors name the access key id at most, and we do not add anything.
func Explain(err error, action string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	code := APIErrorCode(err)
	msg := "cannot " + action
	switch code {
	case "InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException":
		return errs.Configuration(msg+": the access key id is not known to AWS",
			"check AWS_ACCESS_KEY_ID / your profile's credentials (aws configure list)", err)
	case "SignatureDoesNotMatch", "IncompleteSignature":
		return errs.Configuration(msg+": the secret access key does not match the access key id",
			"check AWS_SECRET_ACCESS_KEY / your profile's credentials", err)
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
		return errs.Configuration(msg+": the session credentials have expired",
			"refresh them (aws sso login, or new temporary credentials)", err)
	case "AccessDenied", "AccessDeniedException", "Forbidden", "UnauthorizedOperation":
		return errs.Configuration(msg+": access denied",
			"grant this identity the permission (see 'sagetrain validate' for the one missing)", err)
	case "NoSuchBucket":
		return errs.Configuration(msg+": the bucket does not exist",
			"create it (aws s3 mb s3://BUCKET) or fix the bucket name", err)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
		return errs.Configuration(msg+": the bucket is in another region",
			"set AWS_REGION to the bucket's region or use a bucket in this region", err)
	case "RepositoryNotFoundException":
		return errs.Configuration(msg+": the ECR repository does not exist",
			"create it (aws ecr create-repository --repository-name NAME) or fix the name", err)
	case "NoSuchEntity":
		return errs.Configuration(msg+": the IAM entity does not exist",
			"create it with 'sagetrain role create NAME' or fix the name", err)
	}
	s := err.Error()
	if strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "no EC2 IMDS role found") ||
		strings.Contains(s, "failed to refresh cached credentials") {
		return errs.Configuration(msg+": no AWS credentials found",
			"set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run 'aws configure'", err)
	}
	if code != "" {
		return errs.Configuration(fmt.Sprintf("%s (%s)", msg, code), "see the AWS message above", err)
	}
	return errs.Configuration(msg, "check the network and the endpoint (AWS_ENDPOINT_URL_*), then retry", err)
}
