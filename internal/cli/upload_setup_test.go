package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// runCLI runs the CLI and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUploadCommand(t *testing.T) {
	srv := testpeer.StartS3(t)
	srv.Env(t)
	ctx := context.Background()
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awssetup.NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("sub%d/f%02d.bin", i%3, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, 1000+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	code, out, errOut := runCLI(t, "upload", dir, "--plain", "--to", "s3://bucket/set", "--cache-dir", cache, "-o", "json")
	if code != 0 {
		t.Fatalf("upload: exit %d: %s", code, errOut)
	}
	var res struct {
		URI       string `json:"uri"`
		Uploaded  int    `json:"uploaded"`
		Unchanged bool   `json:"unchanged"`
		Problems  []any  `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.URI != "s3://bucket/set/" || res.Uploaded != 20 {
		t.Fatalf("upload JSON %v: %s", err, out)
	}
	if errOut != "" {
		t.Errorf("progress bars or noise on stderr with --output json: %q", errOut)
	}
	code, out, _ = runCLI(t, "upload", dir, "--plain", "--to", "s3://bucket/set", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "unchanged: 20 files") || !strings.HasSuffix(strings.TrimSpace(out), "s3://bucket/set/") {
		t.Fatalf("unchanged upload: exit %d: %s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub0/empty.bin"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "upload", dir, "--plain", "--to", "s3://bucket/set", "--cache-dir", cache, "-o", "json")
	if code != 2 || !strings.Contains(out, "sub0/empty.bin") || !strings.Contains(errOut, "--allow-partial") {
		t.Fatalf("upload with a problem: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "upload", dir, "--to", "b/set")
	if code != 2 || !strings.Contains(errOut, "s3://bucket/prefix") {
		t.Fatalf("bad destination: exit %d: %s", code, errOut)
	}
}

func TestValidateRoleSetupCommands(t *testing.T) {
	srv := testpeer.StartS3(t)
	m := testpeer.StartMoto(t)
	srv.Env(t)
	m.Env(t)
	ctx := context.Background()
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awssetup.NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drawings")}); err != nil {
		t.Fatal(err)
	}

	// Broken: no repository, no role.
	code, out, _ := runCLI(t, "validate", "--bucket", "drawings", "--repository", "sagetrain", "-o", "json") // the default root and role
	var rep awssetup.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("validate JSON: %v: %s", err, out)
	}
	if code != 2 || rep.IsValid || len(rep.Errors) != 2 || rep.Found["account"] != "123456789012" {
		t.Fatalf("validate before setup: exit %d, %+v", code, rep)
	}

	// Setup with an image already pushed: validate, role, spec values.
	code, out, errOut := runCLI(t, "setup", "--bucket", "drawings", "--repository", "sagetrain", "--grace", "0",
		"--image-uri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:"+strings.Repeat("a", 64), "-o", "json")
	if code != 0 {
		t.Fatalf("setup: exit %d: %s", code, errOut)
	}
	var setup awssetup.SetupResult
	if err := json.Unmarshal([]byte(out), &setup); err != nil {
		t.Fatal(err)
	}
	want := awssetup.SetupSpecValues{RoleARN: "arn:aws:iam::123456789012:role/sagetrain-training",
		ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("a", 64),
		InputDataS3URI:  "s3://drawings/sagetrain/data/training/",
		OutputS3URI:     "s3://drawings/sagetrain/output/",
		CheckpointS3URI: "s3://drawings/sagetrain/checkpoints/"}
	if setup.Spec != want || !setup.Role.Created {
		t.Fatalf("setup spec: %+v, role %+v", setup.Spec, setup.Role)
	}

	// role create again: idempotent, prints the ARN.
	code, out, errOut = runCLI(t, "role", "create", "sagetrain-training", "--bucket", "drawings", "--input-prefix", "sagetrain",
		"--output-prefix", "sagetrain/output", "--checkpoint-prefix", "sagetrain/checkpoints", "--repository", "sagetrain", "--grace", "0")
	if code != 0 || !strings.Contains(out, "exists") || strings.Contains(out, "updated") || !strings.HasSuffix(strings.TrimSpace(out), want.RoleARN) {
		t.Fatalf("role create again: exit %d: %s %s", code, out, errOut)
	}

	// Healthy once the repository exists.
	if _, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("sagetrain")}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "validate", "--bucket", "drawings", "--prefix", "sagetrain",
		"--repository", "sagetrain", "--role", want.RoleARN)
	if code != 0 || !strings.Contains(out, "VALID: 0 error(s)") || !strings.Contains(out, "role_arn:") {
		t.Fatalf("validate after setup: exit %d\n%s\n%s", code, out, errOut)
	}

	// Setup stops at validation when the bucket is missing.
	code, out, errOut = runCLI(t, "setup", "--bucket", "missing-bucket", "--repository", "sagetrain", "--grace", "0", "--image-uri", "x")
	if code != 2 || !strings.Contains(out, "NOT VALID") || !strings.Contains(errOut, "setup stopped") {
		t.Fatalf("setup with a missing bucket: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestUploadBars(t *testing.T) {
	var buf bytes.Buffer
	b := &uploadBars{out: &buf}
	b.Start(2, 3000)
	b.Add(1, 1000)
	b.Add(1, 2000)
	b.Done()
	out := buf.String()
	if !strings.Contains(out, "files") || !strings.Contains(out, "2 / 2") || !strings.Contains(out, "bytes") || !strings.Contains(out, "ETA") {
		t.Fatalf("progress output: %q", out)
	}
	// Nothing to send: no bars at all.
	var empty bytes.Buffer
	nb := &uploadBars{out: &empty}
	nb.Start(0, 0)
	nb.Add(0, 0)
	nb.Done()
	if empty.Len() != 0 {
		t.Errorf("bars drawn for an empty upload: %q", empty.String())
	}
	if uploadIsTerminal(&buf) {
		t.Error("a buffer counted as a terminal")
	}
}
