package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// DownloadPrefix copies every object under an s3://bucket/prefix URI into
// dst, each at its key's path below the prefix, as SageMaker's File input
// mode lays out a channel. The prefix matches keys as S3 does (a plain
// string prefix). A key that would land outside dst is refused. It returns
// how many objects it wrote.
func DownloadPrefix(ctx context.Context, client *s3.Client, uri, dst string) (int, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return 0, errs.Configuration(fmt.Sprintf("%q is not an S3 URI", uri), "write it as s3://bucket/prefix", nil)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	n := 0
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, err
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			rel := strings.TrimPrefix(strings.TrimPrefix(key, prefix), "/")
			if rel == "" || strings.HasSuffix(key, "/") {
				continue // the prefix itself, or a folder marker
			}
			if !filepath.IsLocal(rel) {
				return n, fmt.Errorf("object key %q leaves the channel folder", key)
			}
			if err := downloadObject(ctx, client, bucket, key, filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func downloadObject(ctx context.Context, c *s3.Client, bucket, key, path string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
