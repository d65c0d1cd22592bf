package jobs

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/store"
)

// compare carries each job's cost: a SageMaker job's dollars from its
// instance type, count and billable seconds, a local job's CPU-seconds.
func TestCompareShowsCost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "jobs.db"))
	svc := New(st, Options{Owner: "cmp", ArtifactRoot: filepath.Join(dir, "art")})
	ctx := context.Background()
	mk := func(name, backend, specJSON, report string, billable int64) *store.Job {
		j, _, err := st.Create(ctx, &store.Job{Name: name, Backend: backend, Spec: json.RawMessage(specJSON)})
		if err != nil {
			t.Fatal(err)
		}
		j.Status, j.BillableSeconds, j.Report = store.StatusCompleted, billable, json.RawMessage(report)
		if err := st.Update(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	sm := mk("sm", "sagemaker", `{"job_name":"sm","backend":"sagemaker","instance_type":"ml.m5.xlarge","instance_count":2,"hyperparameters":{"epochs":"3"}}`,
		`{"metrics":{"test_auroc":0.8}}`, 1800)
	lo := mk("lo", "local", `{"job_name":"lo","backend":"local","hyperparameters":{"epochs":"5"}}`,
		`{"metrics":{"test_auroc":0.7},"cpu_seconds":12.5}`, 0)
	c, err := svc.Compare(ctx, []string{sm.ID, lo.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cost.Pinned{}.Price(ctx, "us-east-1", "ml.m5.xlarge")
	if err != nil {
		t.Fatal(err)
	}
	want := p.USDPerHour * 2 * 1800 / 3600
	a, b := c.Jobs[0], c.Jobs[1]
	if a.CostUSD == nil || math.Abs(*a.CostUSD-want) > 1e-6 || a.Cost == nil || !a.Cost.Final || a.Cost.Price == nil {
		t.Fatalf("SageMaker job's cost in compare: %v %+v, want $%.6f", a.CostUSD, a.Cost, want)
	}
	if b.CostUSD != nil || b.Cost == nil || b.Cost.CPUSeconds == nil || *b.Cost.CPUSeconds != 12.5 {
		t.Fatalf("local job's cost in compare: %v %+v, want 12.5 CPU-seconds", b.CostUSD, b.Cost)
	}
	raw, _ := json.Marshal(c)
	var out struct {
		Jobs []map[string]any `json:"jobs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Jobs[1]["cost_usd"]; !ok || out.Jobs[0]["cost_usd"] == nil {
		t.Fatalf("compare -o json jobs without cost_usd: %s", raw)
	}
}
