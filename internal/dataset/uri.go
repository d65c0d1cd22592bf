package dataset

import (
	"fmt"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// S3Location is a bucket and a key prefix (no leading or trailing slash).
type S3Location struct {
	Bucket string
	Prefix string
}

// ParseS3URI parses s3://bucket[/prefix].
func ParseS3URI(uri string) (S3Location, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return S3Location{}, errs.Configuration(fmt.Sprintf("%q is not an S3 URI", uri), "write it as s3://bucket/prefix", nil)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return S3Location{}, errs.Configuration(fmt.Sprintf("%q names no bucket", uri), "write it as s3://bucket/prefix", nil)
	}
	return S3Location{Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
}

// Key returns the object key of rel under the prefix.
func (l S3Location) Key(rel string) string {
	if l.Prefix == "" {
		return rel
	}
	return l.Prefix + "/" + rel
}

// Rel returns the path of key relative to the prefix.
func (l S3Location) Rel(key string) string {
	if l.Prefix == "" {
		return key
	}
	return strings.TrimPrefix(key, l.Prefix+"/")
}

// ListPrefix is the prefix to list the location's objects with.
func (l S3Location) ListPrefix() string {
	if l.Prefix == "" {
		return ""
	}
	return l.Prefix + "/"
}

// URI is the location as s3://bucket/prefix/ (with a trailing slash, as
// SageMaker's S3DataSource expects for a prefix).
func (l S3Location) URI() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket + "/"
	}
	return "s3://" + l.Bucket + "/" + l.Prefix + "/"
}
