package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// ECRHost is what an ECR registry host name says: whose registry and where.
type ECRHost struct {
	Account string // the registry id, 12 digits
	Region  string
	FIPS    bool
}

var ecrHostRE = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// ParseECRHost reads <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn].
func ParseECRHost(host string) (ECRHost, bool) {
	m := ecrHostRE.FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return ECRHost{}, false
	}
	return ECRHost{Account: m[1], FIPS: m[2] != "", Region: m[3]}, true
}

// ECROptions tunes PushECR.
type ECROptions struct {
	ImmutableTags bool // create the repository with IMMUTABLE tags
	NoCreate      bool // fail instead of creating a missing repository
	// ECRAuth uses ECR (GetAuthorizationToken, the repository check) even
	// when the URI's host is not an ECR host: the registry is then the
	// URI's host and the account and region those of the AWS configuration
	// (or RegistryID/Region). For registries that front ECR, and for tests.
	ECRAuth    bool
	RegistryID string // the account owning the repository, when the host does not say
	Region     string // overrides the region, when the host does not say

	// LoadAWSConfig loads the AWS configuration for a region ("" = the
	// default). nil = config.LoadDefaultConfig, which honours
	// AWS_ENDPOINT_URL_ECR, AWS_CA_BUNDLE and profiles.
	LoadAWSConfig func(ctx context.Context, region string) (aws.Config, error)
	Transport     http.RoundTripper // to the registry
	Progress      chan<- v1.Update
}

// ECRPushed is the result of PushECR.
type ECRPushed struct {
	Published
	Repository        string `json:"repository"` // registry/repo, without tag or digest
	RepositoryCreated bool   `json:"repository_created"`
	ECR               bool   `json:"ecr"` // credentials came from ECR
}

// PushECR pushes img to uri (<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag]):
// it logs in with GetAuthorizationToken for the URI's account, creates the
// repository when it is missing (scan on push, optional immutable tags),
// uploads only the blobs the registry lacks and returns repo@sha256:...,
// the reference a training job should use. A URI whose host is not an ECR
// host is pushed to as a plain registry (docker credentials), or with ECR
// credentials when ECRAuth is set.
func PushECR(ctx context.Context, img v1.Image, uri string, o ECROptions) (ECRPushed, error) {
	ref, err := name.ParseReference(uri)
	if err != nil {
		return ECRPushed{}, errs.Configuration(fmt.Sprintf("%q is not a repository URI", uri), "write it as <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]", err)
	}
	repo := ref.Context()
	host, isECR := ParseECRHost(repo.RegistryStr())
	out := ECRPushed{Repository: repo.String(), ECR: isECR || o.ECRAuth}
	pub := RegistryPublisher{Ref: uri, Transport: o.Transport, Progress: o.Progress}
	if isECR || o.ECRAuth {
		region, account := o.Region, o.RegistryID
		if isECR {
			region, account = host.Region, host.Account
		}
		load := o.LoadAWSConfig
		if load == nil {
			load = func(ctx context.Context, region string) (aws.Config, error) {
				var opts []func(*config.LoadOptions) error
				if region != "" {
					opts = append(opts, config.WithRegion(region))
				}
				return config.LoadDefaultConfig(ctx, opts...)
			}
		}
		cfg, err := load(ctx, region)
		if err != nil {
			return out, errs.Configuration("cannot load the AWS configuration", "check AWS_PROFILE, ~/.aws/config and AWS_CA_BUNDLE", err)
		}
		if cfg.Region == "" {
			return out, errs.Configuration("no AWS region for "+uri, "use an ECR URI (<account>.dkr.ecr.<region>.amazonaws.com/...) or set AWS_REGION", nil)
		}
		client := ecr.NewFromConfig(cfg, func(opt *ecr.Options) {
			if host.FIPS {
				opt.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
			}
		})
		auth, err := ecrLogin(ctx, client, account)
		if err != nil {
			return out, err
		}
		pub.Auth = auth
		created, err := ensureRepository(ctx, client, account, repo.RepositoryStr(), o)
		if err != nil {
			return out, err
		}
		out.RepositoryCreated = created
	}
	p, err := pub.Publish(ctx, img)
	out.Published = p
	return out, err
}

// ecrLogin trades AWS credentials for a registry password: the token is
// base64("AWS:<password>") and lasts 12 hours.
func ecrLogin(ctx context.Context, c *ecr.Client, account string) (authn.Authenticator, error) {
	in := &ecr.GetAuthorizationTokenInput{}
	if account != "" {
		in.RegistryIds = []string{account} //nolint:staticcheck // still how cross-account tokens are asked for
	}
	res, err := c.GetAuthorizationToken(ctx, in)
	if err != nil {
		return nil, classifyECRError(err, "ECR GetAuthorizationToken")
	}
	if len(res.AuthorizationData) == 0 || res.AuthorizationData[0].AuthorizationToken == nil {
		return nil, errs.Container("ECR returned no authorization token", "retry; if it persists check the ECR endpoint (AWS_ENDPOINT_URL_ECR)", nil)
	}
	user, pass, err := DecodeECRToken(aws.ToString(res.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return nil, err
	}
	return authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}), nil
}

// DecodeECRToken splits an ECR authorization token into user and password.
func DecodeECRToken(token string) (user, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", "", errs.Container("the ECR authorization token is not base64", "retry; check the ECR endpoint", err)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errs.Container("the ECR authorization token is not user:password", "retry; check the ECR endpoint", nil)
	}
	return user, password, nil
}

// ensureRepository creates the repository when DescribeRepositories says
// it is missing, and reports whether it did.
func ensureRepository(ctx context.Context, c *ecr.Client, account, repo string, o ECROptions) (bool, error) {
	var regID *string
	if account != "" {
		regID = aws.String(account)
	}
	_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RegistryId: regID, RepositoryNames: []string{repo}})
	if err == nil {
		return false, nil
	}
	var nf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		return false, classifyECRError(err, "ECR DescribeRepositories "+repo)
	}
	if o.NoCreate {
		return false, classifyECRError(err, "ECR repository "+repo)
	}
	mut := ecrtypes.ImageTagMutabilityMutable
	if o.ImmutableTags {
		mut = ecrtypes.ImageTagMutabilityImmutable
	}
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo),
		RegistryId:                 regID,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
		ImageTagMutability:         mut,
		Tags:                       []ecrtypes.Tag{{Key: aws.String("created-by"), Value: aws.String("sagetrain")}},
	})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if errors.As(err, &exists) { // created meanwhile by someone else
		return false, nil
	}
	if err != nil {
		return false, classifyECRError(err, "ECR CreateRepository "+repo)
	}
	return true, nil
}

// ECRPublisher is PushECR as a Publisher, for `image build --push` to an
// ECR URI.
type ECRPublisher struct {
	URI     string
	Options ECROptions
}

// Publish logs in to ECR, creates the repository when missing and pushes img.
func (p ECRPublisher) Publish(ctx context.Context, img v1.Image) (Published, error) {
	res, err := PushECR(ctx, img, p.URI, p.Options)
	return res.Published, err
}

// IsECRReference reports whether ref's registry is an ECR host.
func IsECRReference(ref string) bool {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false
	}
	_, ok := ParseECRHost(r.Context().RegistryStr())
	return ok
}
