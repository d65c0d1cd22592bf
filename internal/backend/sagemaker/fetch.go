package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// FetchArtifacts downloads the job's model.tar.gz and output.tar.gz (those
// the observation names and that exist) into dir with those names, through
// the S3 transfer manager (parallel ranged GETs for big models). A download
// goes to a temporary file first, so dir never holds half an archive.
func (b *Backend) FetchArtifacts(ctx context.Context, obs backend.Observation, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errs.Job("create folder "+dir, "check the folder's permissions", err)
	}
	// Ranged GETs, as the old manager made: the parts of a multipart
	// upload are SageMaker's to choose and may be small.
	dl := transfermanager.New(b.s3, func(o *transfermanager.Options) { o.GetObjectType = tmtypes.GetObjectRanges })
	for file, uri := range map[string]string{container.ModelArchive: obs.ModelArtifacts, container.OutputArchive: obs.OutputArtifacts} {
		if uri == "" {
			continue
		}
		found, err := b.download(ctx, dl, uri, filepath.Join(dir, file))
		if err != nil {
			return err
		}
		if !found && file == "model.tar.gz" {
			return errs.Job("the model archive "+uri+" does not exist (yet)",
				"SageMaker writes it when the job's upload ends; if it never appears, check the job's output_s3_uri and the role's s3:PutObject there", nil)
		}
	}
	return nil
}

// download fetches uri into dest; found is false when the object does not exist.
func (b *Backend) download(ctx context.Context, dl *transfermanager.Client, uri, dest string) (found bool, err error) {
	bucket, key, err := parseS3URI(uri)
	if err != nil {
		return false, err
	}
	var apiFailure error // the download's own failure (S3's answer), not the file's
	err = atomicfile.Write(dest, 0o600, func(tmp *os.File) error {
		apiFailure = b.call(ctx, func(ctx context.Context) error {
			_, err := dl.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), WriterAt: tmp})
			return err
		})
		return apiFailure
	})
	if apiFailure != nil {
		var nsk *s3types.NoSuchKey
		var nf *s3types.NotFound
		if errors.As(apiFailure, &nsk) || errors.As(apiFailure, &nf) {
			return false, nil // the job wrote none (output.tar.gz of a job without output data)
		}
		if code, _ := errCode(apiFailure); code == "NoSuchKey" || code == "NotFound" {
			return false, nil
		}
		return false, apiErr("download "+uri, apiFailure)
	}
	if err != nil {
		return false, errs.Job("write the download to "+dest, "check the folder's permissions and free space", err)
	}
	return true, nil
}

func parseS3URI(uri string) (bucket, key string, err error) {
	u, perr := url.Parse(uri)
	if perr != nil || u.Scheme != "s3" || u.Host == "" || strings.TrimPrefix(u.Path, "/") == "" {
		return "", "", errs.Job(fmt.Sprintf("artifact location %q is not an s3://bucket/key URI", uri), "check the job's output path", perr)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}
