package image

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// ResolveOptions tune ResolveDigest.
type ResolveOptions struct {
	// LoadAWSConfig loads the AWS configuration for an ECR host's region;
	// nil = config.LoadDefaultConfig.
	LoadAWSConfig func(ctx context.Context, region string) (aws.Config, error)
	Keychain      authn.Keychain    // nil = docker config + credential helpers (non-ECR hosts)
	Transport     http.RoundTripper // to the registry
	Insecure      bool              // plain HTTP to the registry
}

// ResolveDigest returns ref pinned by digest: repo@sha256:... A reference
// that already names a digest is returned as is; a tag is looked up in its
// registry (a HEAD of the manifest), with ECR credentials for ECR hosts.
// What the tag points at now is what the job will run, whatever the tag
// points at later.
func ResolveDigest(ctx context.Context, ref string, o ResolveOptions) (string, error) {
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return "", errs.Configuration(fmt.Sprintf("image_uri %q is not an image reference", ref), "write it as registry/repository:tag or registry/repository@sha256:...", err)
	}
	if d, ok := r.(name.Digest); ok {
		return d.Context().String() + "@" + d.DigestStr(), nil
	}
	var auth authn.Authenticator
	if host, isECR := ParseECRHost(r.Context().RegistryStr()); isECR {
		load := o.LoadAWSConfig
		if load == nil {
			load = func(ctx context.Context, region string) (aws.Config, error) {
				return config.LoadDefaultConfig(ctx, config.WithRegion(region))
			}
		}
		cfg, err := load(ctx, host.Region)
		if err != nil {
			return "", errs.Configuration("cannot load the AWS configuration to resolve "+ref, "check AWS_PROFILE, ~/.aws/config, or give image_uri by digest", err)
		}
		if auth, err = ecrLogin(ctx, ecr.NewFromConfig(cfg), host.Account); err != nil {
			return "", err
		}
	}
	desc, err := remote.Head(r, remoteOptions(ctx, o.Keychain, auth, o.Transport, v1.Platform{})...)
	if err != nil {
		return "", classifyRegistryError(err, "resolve "+ref+" to a digest")
	}
	return r.Context().String() + "@" + desc.Digest.String(), nil
}
