package image

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Kinds of registry failure, so a caller (and a test) can tell them apart
// with errors.Is as well as by reading the message.
var (
	ErrAuthentication = errors.New("authentication failed")
	ErrPermission     = errors.New("permission denied")
	ErrNoRepository   = errors.New("repository not found")
	ErrNetwork        = errors.New("registry unreachable")
	ErrTagImmutable   = errors.New("tag is immutable")
)

// kindError joins a kind sentinel to the cause so errors.Is works on both.
type kindError struct {
	kind  error
	cause error
}

func (k *kindError) Error() string   { return k.kind.Error() + ": " + k.cause.Error() }
func (k *kindError) Unwrap() []error { return []error{k.kind, k.cause} }

// classifyRegistryError turns a go-containerregistry error into a container
// error saying which of authentication, permission, missing repository or
// network it was, and what to do.
func classifyRegistryError(err error, action string) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		codes := map[transport.ErrorCode]bool{}
		for _, d := range te.Errors {
			codes[d.Code] = true
		}
		switch {
		case te.StatusCode == http.StatusUnauthorized || codes[transport.UnauthorizedErrorCode]:
			return errs.Container(action+": the registry refused the credentials", "log in (docker login, a credential helper, or --ecr-auth / an ECR URI for ECR tokens) and check the user and password", &kindError{ErrAuthentication, err})
		case te.StatusCode == http.StatusForbidden || codes[transport.DeniedErrorCode]:
			return errs.Container(action+": permission denied", "grant the identity push/pull rights on this repository (for ECR: ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage, ecr:BatchGetImage)", &kindError{ErrPermission, err})
		case codes[transport.NameUnknownErrorCode] || (te.StatusCode == http.StatusNotFound && len(codes) == 0):
			return errs.Container(action+": the repository does not exist", "create it (sagetrain image push creates ECR repositories) or check the name", &kindError{ErrNoRepository, err})
		case codes[transport.ManifestUnknownErrorCode]:
			return errs.Container(action+": no such image (tag or digest) in the repository", "check the tag or digest, or push the image first", &kindError{ErrNoRepository, err})
		case codes[transport.TagInvalidErrorCode] && strings.Contains(strings.ToLower(te.Error()), "immutable"):
			return errs.Container(action+": the tag already exists and the repository's tags are immutable", "push with a new tag, or without a tag (pinned by digest)", &kindError{ErrTagImmutable, err})
		}
		return errs.Container(action+": the registry answered "+http.StatusText(te.StatusCode), "check the reference and the registry's logs", err)
	}
	if isNetworkError(err) {
		return errs.Container(action+": cannot reach the registry", "check the host name and port, the network and any proxy; a registry on plain HTTP outside loopback/private networks needs --insecure", &kindError{ErrNetwork, err})
	}
	if errors.Is(err, context.Canceled) {
		return errs.Container(action+": cancelled", "run it again; blobs already uploaded are not sent twice", err)
	}
	return errs.Container(action+" failed", "check the reference and the registry", err)
}

func isNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, context.DeadlineExceeded)
}

// classifyECRError does the same for ECR API calls (GetAuthorizationToken,
// DescribeRepositories, CreateRepository).
func classifyECRError(err error, action string) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken":
			return errs.Container(action+": AWS rejected the credentials", "check AWS_PROFILE / AWS_ACCESS_KEY_ID and that the session has not expired (aws sts get-caller-identity)", &kindError{ErrAuthentication, err})
		case "AccessDeniedException", "AccessDenied":
			return errs.Container(action+": permission denied", "grant the identity ecr:GetAuthorizationToken, ecr:DescribeRepositories and ecr:CreateRepository (and, cross-account, a repository policy allowing this account)", &kindError{ErrPermission, err})
		case "RepositoryNotFoundException":
			return errs.Container(action+": the repository does not exist", "let sagetrain create it (omit --no-create) or check the name and account in the URI", &kindError{ErrNoRepository, err})
		}
		return errs.Container(action+": "+ae.ErrorCode(), "see the AWS message", err)
	}
	if strings.Contains(err.Error(), "failed to retrieve credentials") || strings.Contains(err.Error(), "no EC2 IMDS role found") {
		return errs.Configuration(action+": no AWS credentials", "configure credentials (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)", &kindError{ErrAuthentication, err})
	}
	if isNetworkError(err) {
		return errs.Container(action+": cannot reach the ECR API", "check the network and the region in the repository URI", &kindError{ErrNetwork, err})
	}
	return errs.Container(action+" failed", "check the repository URI and AWS configuration", err)
}
