package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/testpeer/sagemakeremu"
)

// buildStatic builds sagetrain as a user installs it for the image: a
// static linux binary (CGO_ENABLED=0), outside any source tree.
func buildStatic(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sagetrain")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/sagetrain/sagetrain/cmd/sagetrain")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestReadmeCloudPath runs the README's "To the cloud" block line by line
// with an installed binary, from a fresh HOME in a working folder that is not
// the repository, against versitygw (S3), moto (IAM, STS, ECR, CloudWatch
// Logs), docker-registry fronting ECR, and the SageMaker emulator running
// the real trainer: setup, upload, submit, status, report, then validate
// --spec passes for the role setup made.
func TestReadmeCloudPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sagetrain and trains a job")
	}
	bin := buildStatic(t)
	s3srv := testpeer.StartS3(t)
	moto := testpeer.StartMoto(t)
	s3srv.Env(t)
	moto.Env(t)
	reg := testpeer.StartECRRegistry(t, moto)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	emu := sagemakeremu.Start(t, cfg, sagemakeremu.Options{Trainer: []string{bin, "train"}})
	emu.Env(t)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("my-bucket")}); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "SAGETRAIN_DB", "SAGETRAIN_LOCAL_ROOT"} {
		t.Setenv(v, "")
	}
	work := t.TempDir() // not the repository: no go.mod anywhere above it
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		var out, errb testpeer.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		done := make(chan error, 1)
		go func() { done <- cmd.Run() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sagetrain %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
			}
		case <-time.After(4 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("sagetrain %s did not end\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errb.String())
		}
		if strings.Contains(errb.String(), "SDK ") || strings.Contains(errb.String(), "supported checksum") {
			t.Errorf("sagetrain %s: the SDK's own log lines reached the terminal:\n%s", strings.Join(args, " "), errb.String())
		}
		return out.String()
	}

	run("sample-data", "./drawings")
	// The README's setup line; --registry because ECR is emulated by a
	// local registry, --grace 0 because moto's IAM needs no wait.
	out := run("setup", "--bucket", "my-bucket", "--repository", "sagetrain", "--registry", reg.Host, "--grace", "0")
	values := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok && !strings.Contains(k, " ") {
			values[k] = v
		}
	}
	for _, k := range []string{"role_arn", "image_uri", "input_data_s3_uri", "output_s3_uri"} {
		if values[k] == "" {
			t.Fatalf("setup printed no %s:\n%s", k, out)
		}
	}
	if values["input_data_s3_uri"] != "s3://my-bucket/sagetrain/data/training/" {
		t.Fatalf("setup's input_data_s3_uri %q is not the README's upload prefix", values["input_data_s3_uri"])
	}
	run("upload", "./drawings/training", "--metadata", "./drawings/training/metadata.csv", "--to", "s3://my-bucket/sagetrain/data/training/")

	spec := "job_name: drawing_anomaly\nbackend: sagemaker\n" +
		"input_data_s3_uri: " + values["input_data_s3_uri"] + "\n" +
		"channels:\n  test: ./drawings/test\n" +
		"output_s3_uri: " + values["output_s3_uri"] + "\n" +
		"role_arn: " + values["role_arn"] + "\n" +
		"image_uri: " + values["image_uri"] + "\n" +
		"instance_type: ml.m5.large\n" +
		"hyperparameters:\n  epochs: \"3\"\n  min_samples: \"15\"\n  hidden_sizes: \"32,16\"\n"
	if err := os.WriteFile(filepath.Join(work, "cloud.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(run("submit", "cloud.yaml", "-o", "json")), &sub); err != nil || sub.ID == "" {
		t.Fatalf("submit: %v %+v", err, sub)
	}
	run("status", "--watch", sub.ID)
	var job struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(run("status", sub.ID, "-o", "json")), &job); err != nil || job.Status != "completed" {
		t.Fatalf("status after --watch: %v %+v", err, job)
	}
	if rep := run("report", sub.ID); !strings.Contains(rep, "Age groups:") || !strings.Contains(rep, "test_auroc") {
		t.Errorf("report:\n%s", rep)
	}
	if v := run("validate", "--spec", "cloud.yaml"); !strings.Contains(v, "VALID: 0 error(s)") {
		t.Errorf("validate --spec for the role setup made:\n%s", v)
	}
}
