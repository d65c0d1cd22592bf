package cost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

func smJob(t *testing.T, status store.Status, billable int64, spot bool) *store.Job {
	t.Helper()
	sp, _ := json.Marshal(map[string]any{"job_name": "c", "backend": "sagemaker", "instance_type": "ml.m5.xlarge", "instance_count": 2,
		"use_spot_instances": spot, "max_runtime_seconds": 3600})
	start := time.Now().Add(-30 * time.Minute)
	j := &store.Job{Backend: "sagemaker", Status: status, Spec: sp, StartedAt: &start, BillableSeconds: billable,
		RemoteARN: "arn:aws:sagemaker:us-east-1:123456789012:training-job/c-1"}
	if status.Terminal() {
		end := start.Add(20 * time.Minute)
		j.EndedAt = &end
	}
	return j
}

// A completed SageMaker job costs billable seconds x instances x the
// pinned price; a running one is estimated from the elapsed time.
func TestCostFromThePinnedTable(t *testing.T) {
	ctx := context.Background()
	c := For(ctx, smJob(t, store.StatusCompleted, 1200, false))
	if c == nil || c.USD == nil || !c.Final || c.Basis != "billable_seconds" || c.Seconds != 2400 {
		t.Fatalf("completed: %+v", c)
	}
	if want := 2400.0 / 3600 * 0.23; *c.USD != round(want) || c.Price.Source != SourcePinned || c.Price.Date != PinnedDate() {
		t.Fatalf("completed: $%v from %+v, want $%v from the pinned table", *c.USD, c.Price, want)
	}
	r := For(ctx, smJob(t, store.StatusRunning, 0, true))
	if r.USD == nil || r.Final || r.Basis != "elapsed" || r.Seconds < 3600 || !strings.Contains(r.Note, "spot") {
		t.Fatalf("running spot: %+v", r)
	}
	if _, err := (Pinned{}).Price(ctx, "us-east-1", "ml.nonesuch.xlarge"); err == nil {
		t.Fatal("an unknown type has a price")
	}
	p, _ := Pinned{}.Price(ctx, "eu-west-1", "ml.m5.xlarge")
	if !strings.Contains(p.Note, "us-east-1") {
		t.Fatalf("another region's price says nothing: %+v", p)
	}
}

func TestLocalJobsShowCPUSeconds(t *testing.T) {
	rep, _ := json.Marshal(map[string]any{"cpu_seconds": 12.5})
	c := For(context.Background(), &store.Job{Backend: "local", Status: store.StatusCompleted, Report: rep, Spec: []byte(`{"instance_type":"local"}`)})
	if c == nil || c.USD != nil || c.CPUSeconds == nil || *c.CPUSeconds != 12.5 {
		t.Fatalf("local: %+v", c)
	}
}

func TestWorstCaseAndBudget(t *testing.T) {
	p, _ := Pinned{}.Price(context.Background(), "us-east-1", "ml.p3.2xlarge")
	j := Job{InstanceType: "ml.p3.2xlarge", InstanceCount: 2, MaxRuntime: 86400}
	if w := WorstCase(j, p); w != round(2*24*3.825) {
		t.Fatalf("worst case %v", w)
	}
	secs := RuntimeFor(j, p, 10)
	j.MaxRuntime = secs
	if w := WorstCase(j, p); w > 10 || w < 9.99 {
		t.Fatalf("%ds cost $%v for a $10 budget", secs, w)
	}
}
