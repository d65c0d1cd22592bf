package awssetup

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// writeCA writes a self-signed CA certificate in PEM, as a corporate
// AWS_CA_BUNDLE would be.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigWithCABundle(t *testing.T) {
	srv := testpeer.StartS3(t)
	srv.Env(t)
	t.Setenv("AWS_CA_BUNDLE", writeCA(t))
	ctx := context.Background()
	for _, conns := range []int{0, 64} {
		cfg, err := LoadConfig(ctx, Options{Connections: conns})
		if err != nil {
			t.Fatalf("connections %d: load config with AWS_CA_BUNDLE: %v", conns, err)
		}
		if !S3EndpointOverridden(cfg) {
			t.Fatal("AWS_ENDPOINT_URL_S3 not seen as an override")
		}
		c := NewS3Client(cfg)
		if !c.Options().UsePathStyle {
			t.Error("S3 client with an endpoint override is not path-style")
		}
		bucket := "ca-bundle-" + map[int]string{0: "default", 64: "wide"}[conns]
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("talk to versitygw with AWS_CA_BUNDLE set: %v", err)
		}
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CA_BUNDLE", filepath.Join(t.TempDir(), "missing.pem"))
	_, err := LoadConfig(ctx, Options{Connections: 8})
	if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Errorf("missing CA bundle: %v", err)
	}
}

func TestLoadConfigRegion(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	ctx := context.Background()
	if _, err := LoadConfig(ctx, Options{}); !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("no region: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile lab]\nregion = eu-central-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(ctx, Options{Profile: "lab"})
	if err != nil || cfg.Region != "eu-central-1" {
		t.Fatalf("profile region: %v %q", err, cfg.Region)
	}
	cfg, err = LoadConfig(ctx, Options{Profile: "lab", Region: "ap-south-1"})
	if err != nil || cfg.Region != "ap-south-1" {
		t.Fatalf("region override: %v %q", err, cfg.Region)
	}
	if S3EndpointOverridden(cfg) || NewS3Client(cfg).Options().UsePathStyle {
		t.Error("real S3 should use virtual-hosted addressing")
	}
	if _, err := LoadConfig(ctx, Options{Profile: "nope"}); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("unknown profile: %v", err)
	}
}
