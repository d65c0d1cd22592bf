package sagemaker

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// checkCostAndProvenance: a SageMaker job completed on the emulator costs
// its billable seconds at the pinned price of its instance type, finally;
// its report names the image by digest and the trainer's data digest,
// build, hyperparameters and seed.
func checkCostAndProvenance(t *testing.T, j *store.Job, r *jobs.Report) {
	t.Helper()
	c := cost.For(context.Background(), j)
	p, err := cost.Pinned{}.Price(context.Background(), "us-east-1", "ml.m5.xlarge")
	if err != nil {
		t.Fatal(err)
	}
	want := float64(j.BillableSeconds) / 3600 * p.USDPerHour
	if c == nil || c.USD == nil || !c.Final || c.Basis != "billable_seconds" || c.Price.Source != cost.SourcePinned || math.Abs(*c.USD-want) > 1e-6 {
		t.Errorf("cost of %ds on ml.m5.xlarge: %+v, want $%.4f from the pinned table", j.BillableSeconds, c, want)
	}
	pv := r.Provenance
	if pv == nil || !strings.Contains(pv.ImageDigest, "@sha256:") || !strings.HasPrefix(pv.DataDigest, "sha256:") || pv.Trainer == nil || pv.Seed == nil ||
		pv.Hyperparameters["epochs"] != float64(2) {
		t.Errorf("report provenance: %+v", pv)
	}
}
