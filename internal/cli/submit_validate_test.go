package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubmitReportsEverySpecViolationFirst: a broken SageMaker spec on a
// machine with no AWS configuration gets the spec's violations (all of them,
// with field paths, exit code 2), not a complaint about AWS.
func TestSubmitReportsEverySpecViolationFirst(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("SAGETRAIN_DB", filepath.Join(dir, "jobs.db"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	specPath := filepath.Join(dir, "bad.yaml")
	doc := "job_name: x\nbackend: sagemaker\ninstance_type: ml.banana\ninput_data_s3_uri: s3://b/p\ntags:\n  \"aws:x\": y\n"
	if err := os.WriteFile(specPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"submit", specPath}, &out, &errOut)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr: %s", code, errOut.String())
	}
	for _, field := range []string{"instance_type", "tags.aws:x", "role_arn", "image_uri", "output_s3_uri"} {
		if !strings.Contains(errOut.String(), field) {
			t.Errorf("violation of %s not reported:\n%s", field, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "region") {
		t.Errorf("an AWS complaint came before the spec's violations:\n%s", errOut.String())
	}
}

// TestUsageErrorsExitTwo: unknown commands and flags and missing arguments
// exit 2, as the README says.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"no-such-command"}, {"submit", "--no-such-flag", "x"}, {"status"}, {"status", "a", "b"}} {
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit code %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}
