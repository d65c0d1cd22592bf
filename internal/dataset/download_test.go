package dataset

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestDownloadPrefix lays objects out under dst by their path below the
// prefix, skips folder markers, leaves other prefixes alone and refuses a
// key that would leave dst.
func TestDownloadPrefix(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	put := func(key, body string) {
		t.Helper()
		if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put("train/metadata.csv", "filename,age_years\n")
	put("train/images/a.png", "A")
	put("train/images/", "")
	put("other/b.png", "B")

	dst := t.TempDir()
	n, err := DownloadPrefix(ctx, e.client, "s3://"+e.bucket+"/train/", dst)
	if err != nil || n != 2 {
		t.Fatalf("DownloadPrefix: n=%d err=%v, want 2 objects", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "images", "a.png")); !bytes.Equal(b, []byte("A")) {
		t.Fatalf("images/a.png = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dst, "b.png")); err == nil {
		t.Fatal("an object of another prefix was downloaded")
	}
	if _, err := DownloadPrefix(ctx, e.client, "not-s3", dst); err == nil {
		t.Fatal("a non-S3 URI was accepted")
	}
}
