package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/storeopen"
)

const maxCostSpec = `job_name: budget
backend: sagemaker
instance_type: ml.p3.2xlarge
instance_count: 2
input_data_s3_uri: s3://bucket/data
output_s3_uri: s3://bucket/out
image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:0000000000000000000000000000000000000000000000000000000000000000
role_arn: arn:aws:iam::123456789012:role/SageTrainExecutionRole
`

// --max-cost refuses a spec whose own max runtime is worth more than the
// budget, before anything is recorded (and before AWS is needed).
func TestSubmitMaxCostRefusesAnExpensiveSpec(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("SAGETRAIN_DB", filepath.Join(dir, "jobs.db"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	p := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(p, []byte(maxCostSpec+"max_runtime_seconds: 7200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"submit", p, "--max-cost", "5"}, &out, &errOut)
	// 2 instances x 2 h x $3.825 = $15.30 > $5; $5 pays for 2352 s.
	if code == 0 || !strings.Contains(errOut.String(), "$15.30") || !strings.Contains(errOut.String(), "at most 2352") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
	st := openTestStore(t, filepath.Join(dir, "jobs.db"))
	if js, _, _ := st.List(context.Background(), store.ListFilter{}); len(js) != 0 {
		t.Fatalf("a refused submit recorded %d jobs", len(js))
	}
}

// Without max_runtime_seconds, the budget sets it.
func TestMaxCostSetsTheRuntime(t *testing.T) {
	sp, err := spec.Parse([]byte(maxCostSpec))
	if err != nil {
		t.Fatal(err)
	}
	sp.ApplyDefaults()
	msg, err := applyMaxCost(context.Background(), sp, 5, false, "us-east-1")
	if err != nil || sp.MaxRuntimeSeconds != 2352 || !strings.Contains(msg, "2352") {
		t.Fatalf("max runtime %d (%s, %v)", sp.MaxRuntimeSeconds, msg, err)
	}
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	sp.MaxRuntimeSeconds = spec.DefaultMaxRuntimeSeconds
	if _, err := applyMaxCost(context.Background(), sp, 0.01, false, "us-east-1"); err == nil || !strings.Contains(err.Error(), "pays for only") {
		t.Fatalf("a budget of a cent: %v", err)
	}
}

func openTestStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := storeopen.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
