package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The job commands take --profile: a SageMaker submit with a profile that
// does not exist fails on that profile, before anything is recorded.
func TestJobCommandsTakeProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("SAGETRAIN_DB", filepath.Join(dir, "jobs.db"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile present]\nregion = eu-west-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(sp, []byte("job_name: p\nbackend: sagemaker\ninput_data_s3_uri: s3://b/data/\noutput_s3_uri: s3://b/out/\n"+
		"role_arn: arn:aws:iam::123456789012:role/r\nimage_uri: 123456789012.dkr.ecr.eu-west-3.amazonaws.com/s@sha256:"+strings.Repeat("0", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "submit", sp, "--profile", "absent-profile-x")
	if code == 0 || !strings.Contains(errOut, "absent-profile-x") {
		t.Fatalf("submit --profile absent-profile-x: exit %d, %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "list", "-o", "json", "--profile", "absent-profile-x")
	if code != 0 || strings.Contains(out, `"p"`) {
		t.Fatalf("list after the refused submit: exit %d %s %s", code, out, errOut)
	}
	for _, c := range []string{"status", "cancel", "logs", "report", "resume", "sweep", "attach", "compare"} {
		root := NewRoot()
		sub, _, err := root.Find([]string{c})
		if err != nil || sub.PersistentFlags().Lookup("profile") == nil || sub.PersistentFlags().Lookup("region") == nil {
			t.Fatalf("%s has no --profile/--region (err %v)", c, err)
		}
	}
}
