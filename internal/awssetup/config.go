package awssetup

import (
	"context"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Options tune LoadConfig. The zero value uses the SDK's default chain:
// environment, shared config/credentials files (AWS_PROFILE), SSO, IMDS, and
// the SDK's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables.
type Options struct {
	Profile string // a profile of ~/.aws/config; empty = AWS_PROFILE or default
	Region  string // overrides AWS_REGION and the profile's region
	// Connections is the number of HTTP connections kept per host; set it to
	// the number of parallel workers (uploads). 0 keeps the SDK default.
	Connections int
	// RetryMaxAttempts overrides the SDK's retry attempts when > 0.
	RetryMaxAttempts int
}

// LoadConfig wraps config.LoadDefaultConfig. It keeps the SDK's buildable
// HTTP client (AWS_CA_BUNDLE needs it), only widening its connection pool.
func LoadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	fns := loggerOptions()
	if opts.Profile != "" {
		fns = append(fns, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		fns = append(fns, config.WithRegion(opts.Region))
	}
	if opts.Connections > 0 {
		n := opts.Connections
		client := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			if tr.MaxIdleConns < n*2 {
				tr.MaxIdleConns = n * 2
			}
			tr.MaxIdleConnsPerHost = n
		})
		fns = append(fns, config.WithHTTPClient(client))
	}
	if opts.RetryMaxAttempts > 0 {
		fns = append(fns, config.WithRetryMaxAttempts(opts.RetryMaxAttempts))
	}
	cfg, err := config.LoadDefaultConfig(ctx, fns...)
	if err != nil {
		return aws.Config{}, errs.Configuration("cannot load the AWS configuration",
			"check AWS_PROFILE/--profile, ~/.aws/config and AWS_CA_BUNDLE", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errs.Configuration("no AWS region is configured",
			"set AWS_REGION (e.g. export AWS_REGION=us-east-1) or a region in your profile", nil)
	}
	return cfg, nil
}

// S3EndpointOverridden reports whether S3 requests go to a custom endpoint
// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or cfg.BaseEndpoint) rather than AWS.
func S3EndpointOverridden(cfg aws.Config) bool {
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return true
	}
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return false
	}
	return os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// NewS3Client builds an S3 client. With an endpoint override it uses
// path-style addressing, which S3-compatible servers (versitygw, MinIO) need.
func NewS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	path := S3EndpointOverridden(cfg)
	all := append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = path }}, optFns...)
	return s3.NewFromConfig(cfg, all...)
}
