package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// The sweep and compare pages on the real services, with two completed
// jobs put straight into the store (their reports and loss histories).
func TestSweepAndComparePages(t *testing.T) {
	var js *jobs.Service
	var sw *sweep.Service
	data := t.TempDir()
	_ = os.WriteFile(filepath.Join(data, "metadata.csv"), []byte("image_path,age\n"), 0o644)
	h := newHarness(t, func(o *Options) {
		lb, _ := local.New(local.Options{Root: t.TempDir(), Executable: "/bin/true"})
		js = jobs.New(o.Store, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, ArtifactRoot: t.TempDir()})
		sw, _ = sweep.New(js)
		o.Jobs, o.Sweeps = FromJobs(js), sw
	})
	ctx := context.Background()
	done := func(lr string, auc, loss float64) string {
		out := t.TempDir()
		hist := fmt.Sprintf(`{"groups":{"4-5":[{"epoch":1,"val_loss":%g},{"epoch":2,"val_loss":%g}]}}`, loss*2, loss)
		_ = os.WriteFile(filepath.Join(out, "history.json"), []byte(hist), 0o644)
		rep, _ := json.Marshal(jobs.Report{OutputDir: out, Metrics: map[string]any{"test_auroc": auc, "val_loss": loss,
			"groups": map[string]any{"4-5": map[string]any{"val_loss": loss, "test": map[string]any{"auroc": auc}}}}})
		spec, _ := json.Marshal(map[string]any{"job_name": "lr-" + lr, "backend": "local", "hyperparameters": map[string]string{"learning_rate": lr, "epochs": "5"}})
		j, _, err := h.st.Create(ctx, &store.Job{Name: "lr-" + lr, Backend: "local", Spec: spec, Status: store.StatusCompleted, Report: rep})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	a, b := done("0.001", 0.91, 0.5), done("0.003", 0.87, 0.25)
	cl := h.login(t, testToken)
	get := func(p string, want int) string {
		t.Helper()
		resp, err := cl.Get(h.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s = %d, want %d: %s", p, resp.StatusCode, want, body)
		}
		return string(body)
	}
	page := get("/compare?job="+a+"&job="+b, 200)
	for _, want := range []string{"hyperparameters.learning_rate", "0.001", "0.003", "0.91", "0.87", "Age group 4-5", "<polyline"} {
		if !strings.Contains(page, want) {
			t.Fatalf("compare page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "hyperparameters.epochs") {
		t.Fatal("the compare page lists a setting that does not differ")
	}
	get("/compare?job="+a, 400)
	get("/compare?job="+a+"&job=nope", 404)

	obj, _ := sweep.ParseObjective("val_loss:min")
	v, err := sw.Create(ctx, sweep.Request{Spec: specFor(data), Objective: obj, MaxParallel: 1,
		Grid: []sweep.Axis{{Key: "hyperparameters.learning_rate", Values: []string{"0.001", "0.002"}}}})
	if err != nil {
		t.Fatal(err)
	}
	page = get("/sweeps/"+v.ID, 200)
	if strings.Count(page, `class="trial"`) != 2 || !strings.Contains(page, "learning_rate") || !strings.Contains(page, "val_loss") {
		t.Fatalf("sweep page:\n%s", page)
	}
	get("/sweeps/nope", 404)
}

func specFor(data string) *spec.Spec {
	return &spec.Spec{JobName: "page-sweep", DatasetFolder: data}
}
