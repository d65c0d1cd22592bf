package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/store"
)

// A local job's record, report and model.json name the same data digest
// (the training folder's files), the trainer build, the hyperparameters as
// parsed (defaults filled in) and the seed.
func TestProvenanceIsPinnedAndEqualEverywhere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "prov")
	ctx := context.Background()
	sp := quickSpec("prov")
	sp.Hyperparameters["seed"] = "7"
	j, _, err := e.svc.Submit(ctx, sp, SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, files, err := provenance.FolderDigest(filepath.Join(sampleDir, "training"))
	if err != nil || files < 100 {
		t.Fatalf("FolderDigest: %s %d %v", want, files, err)
	}
	rec := e.svc.provenanceOf(ctx, j)
	if rec == nil || rec.DataDigest != want || rec.DataFiles != files || rec.SubmittedBy == nil || rec.Trainer == nil {
		t.Fatalf("record at submit: %+v, want data digest %s", rec, want)
	}
	j = waitStatus(t, e.svc, j.ID, 90*time.Second, terminal)
	if j.Status != store.StatusCompleted {
		logTail(t, e.svc, j.ID)
		t.Fatalf("job ended %s: %s", j.Status, j.FailureReason)
	}
	r, err := e.svc.Report(ctx, j.ID)
	if err != nil || r.Provenance == nil {
		t.Fatalf("report: %v %+v", err, r)
	}
	if r.CPUSeconds == nil || *r.CPUSeconds <= 0 {
		t.Errorf("report without the trainer's CPU-seconds: %v", r.CPUSeconds)
	}
	if c := cost.For(ctx, j); c == nil || c.CPUSeconds == nil || *c.CPUSeconds != *r.CPUSeconds || c.USD != nil {
		t.Errorf("a local job's cost: %+v", c)
	}
	pv := r.Provenance
	if pv.DataDigest != want || pv.Seed == nil || *pv.Seed != 7 || pv.Trainer == nil || pv.Trainer.GoVersion == "" {
		t.Fatalf("report provenance: %+v", pv)
	}
	if pv.Hyperparameters["epochs"] != float64(3) || pv.Hyperparameters["learning_rate"] != 0.001 {
		t.Fatalf("hyperparameters as parsed: %v", pv.Hyperparameters)
	}
	b, err := os.ReadFile(filepath.Join(r.ModelDir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Provenance provenance.Provenance `json:"provenance"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	m := man.Provenance
	if m.DataDigest != pv.DataDigest || *m.Seed != *pv.Seed || !reflect.DeepEqual(m.Hyperparameters, pv.Hyperparameters) || *m.Trainer != *pv.Trainer {
		t.Fatalf("model.json provenance %+v differs from the report's %+v", m, pv)
	}
	for _, n := range r.Notes {
		if strings.Contains(n, "digest") {
			t.Errorf("note: %s", n)
		}
	}
	checkExportCarriesProvenance(t, e.st, j, b)
}

func TestRequireDigestRefusesATag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "req")
	sp := quickSpec("tagged")
	sp.ImageURI = "127.0.0.1:5000/sagetrain:latest"
	_, _, err := e.svc.Submit(context.Background(), sp, SubmitOptions{RequireDigest: true})
	if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "require-digest") {
		t.Fatalf("submit of a tag with RequireDigest: %v", err)
	}
	js, _, _ := e.st.List(context.Background(), store.ListFilter{})
	if len(js) != 0 {
		t.Fatalf("a refused submit recorded %d jobs", len(js))
	}
	sp.ImageURI = "127.0.0.1:5000/sagetrain@sha256:" + strings.Repeat("ab", 32)
	j, _, err := e.svc.Submit(context.Background(), sp, SubmitOptions{RequireDigest: true})
	if err != nil {
		t.Fatalf("submit by digest: %v", err)
	}
	// The job runs in the test's temp dir: let it end before the dir is removed.
	waitStatus(t, e.svc, j.ID, 2*time.Minute, terminal)
}
