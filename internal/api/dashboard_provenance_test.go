package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func (h *harness) page(t *testing.T, path string) string {
	t.Helper()
	resp, err := h.login(t, testToken).Get(h.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// The list page has a cost column (list rows are summaries without the
// spec the cost needs), and the job page shows what the job was made from.
func TestDashboardListCostAndJobProvenance(t *testing.T) {
	h := newHarness(t, nil)
	var sm, lo JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"costly"}`, 201, &sm)
	h.finish(sm.ID, store.StatusCompleted, func(j *store.Job) {
		j.Backend = "sagemaker"
		j.Spec, _ = json.Marshal(map[string]any{"job_name": "costly", "backend": "sagemaker", "instance_type": "ml.m5.xlarge", "instance_count": 2})
		j.BillableSeconds = 1800
	})
	h.json("POST", Prefix+"/jobs", `{"job_name":"cheap"}`, 201, &lo)
	h.finish(lo.ID, store.StatusCompleted, func(j *store.Job) {
		j.Report = json.RawMessage(`{"metrics":{},"cpu_seconds":12.5}`)
	})
	list := h.page(t, "/")
	if !strings.Contains(list, "<th>Cost</th>") || !strings.Contains(list, `<td class="cost">$0.2300 (final, pinned-table price of`) ||
		!strings.Contains(list, `<td class="cost">12.5 CPU-seconds`) {
		t.Fatalf("list page without the jobs' costs:\n%s", list)
	}

	seed := int64(7)
	pv := map[string]any{"image": "reg.example/sagetrain:1", "image_digest": "reg.example/sagetrain@sha256:" + strings.Repeat("ab", 32),
		"data_uri": "s3://b/data", "data_digest": "sha256:" + strings.Repeat("cd", 32), "data_files": 120,
		"trainer": map[string]any{"version": "v1.2.3", "revision": "abcdef1234567", "go_version": "go1.26", "dirty": false},
		"seed":    seed, "hyperparameters": map[string]any{"seed": seed}}
	raw, _ := json.Marshal(pv)
	if err := h.st.SetProvenance(context.Background(), sm.ID, raw); err != nil {
		t.Fatal(err)
	}
	page := h.page(t, "/jobs/"+sm.ID)
	for _, want := range []string{`id="provenance"`, `id="prov-image-digest">reg.example/sagetrain@sha256:abab`,
		`id="prov-data-digest">sha256:cdcd`, "(120 files)", `id="prov-trainer">v1.2.3`, `id="prov-seed">7</dd>`} {
		if !strings.Contains(page, want) {
			t.Fatalf("job page without %q:\n%s", want, page)
		}
	}
	if strings.Contains(h.page(t, "/jobs/"+lo.ID), `id="provenance"`) {
		t.Error("a job with no provenance record shows a provenance section")
	}
}

// The compare page has a cost row: dollars, or CPU-seconds for local jobs.
func TestComparePageShowsCost(t *testing.T) {
	usd, cpu := 0.115, 12.5
	d := &pageData{Title: "Compare", Compare: &comparePageView{Comparison: &jobs.Comparison{Jobs: []jobs.ComparedJob{
		{ID: "a", Name: "sm", CostUSD: &usd, Cost: &cost.Cost{USD: &usd, Final: true}},
		{ID: "b", Name: "lo", Cost: &cost.Cost{Basis: "cpu_seconds", CPUSeconds: &cpu}},
	}}}}
	var b bytes.Buffer
	if err := dashTemplates.ExecuteTemplate(&b, "compare.html", d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<tr class="cost" id="compare-cost"><th>cost</th><td>$0.1150</td><td>12.5 CPU-seconds</td></tr>`) {
		t.Fatalf("compare page without the cost row:\n%s", b.String())
	}
}
