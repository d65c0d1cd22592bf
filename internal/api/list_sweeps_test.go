package api

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// GET /jobs and the list page show a sweep as one row in place of its
// trials (as `sagetrain list`); trials=true and sweep_id list the trials.
func TestJobListShowsSweepAsOneRow(t *testing.T) {
	var js *jobs.Service
	var sw *sweep.Service
	data := t.TempDir()
	_ = os.WriteFile(filepath.Join(data, "metadata.csv"), []byte("image_path,age\n"), 0o644)
	h := newHarness(t, func(o *Options) {
		lb, err := local.New(local.Options{Root: t.TempDir(), Executable: "/bin/true"})
		if err != nil {
			t.Fatal(err)
		}
		js = jobs.New(o.Store, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, ArtifactRoot: t.TempDir()})
		if sw, err = sweep.New(js); err != nil {
			t.Fatal(err)
		}
		o.Jobs, o.Sweeps = FromJobs(js), sw
	})
	ctx := context.Background()
	plain, _, err := h.st.Create(ctx, &store.Job{Name: "plain-job", Backend: "local", Spec: []byte(`{"job_name":"plain-job"}`), Status: store.StatusCompleted})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := sweep.ParseObjective("val_loss:min")
	v, err := sw.Create(ctx, sweep.Request{Spec: specFor(data), Objective: obj, MaxParallel: 3,
		Grid: []sweep.Axis{{Key: "hyperparameters.learning_rate", Values: []string{"0.001", "0.002", "0.003"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Step(ctx); err != nil {
		t.Fatal(err)
	}
	trialIDs := map[string]bool{}
	v, _ = sw.Get(ctx, v.ID)
	for _, tr := range v.Trials {
		if tr.ID != "" {
			trialIDs[tr.ID] = true
		}
	}
	if len(trialIDs) != 3 {
		t.Fatalf("the sweep started %d trials, want 3: %+v", len(trialIDs), v.Trials)
	}

	var list struct {
		Jobs   []struct{ ID string } `json:"jobs"`
		Sweeps []struct{ ID string } `json:"sweeps"`
	}
	ids := func() map[string]bool {
		m := map[string]bool{}
		for _, j := range list.Jobs {
			m[j.ID] = true
		}
		return m
	}
	h.json("GET", Prefix+"/jobs", "", 200, &list)
	got := ids()
	if len(got) != 1 || !got[plain.ID] || len(list.Sweeps) != 1 || list.Sweeps[0].ID != v.ID {
		t.Fatalf("default list: jobs %v sweeps %+v, want the plain job and the sweep as one row", got, list.Sweeps)
	}
	list.Sweeps = nil
	h.json("GET", Prefix+"/jobs?trials=true", "", 200, &list)
	got = ids()
	if len(got) != 4 || !got[plain.ID] || len(list.Sweeps) != 0 {
		t.Fatalf("trials=true: jobs %v sweeps %+v, want all 4 jobs and no sweep rows", got, list.Sweeps)
	}
	h.json("GET", Prefix+"/jobs?sweep_id="+v.ID, "", 200, &list)
	got = ids()
	if len(got) != 3 || got[plain.ID] {
		t.Fatalf("sweep_id: jobs %v, want the sweep's 3 trials", got)
	}
	for id := range got {
		if !trialIDs[id] {
			t.Fatalf("sweep_id listed %s, not a trial of the sweep", id)
		}
	}
	h.json("GET", Prefix+"/jobs?status=running,pending,preparing,completed,failed", "", 200, &list)
	if got = ids(); got[plain.ID] && len(got) != 1 {
		t.Fatalf("a status filter brought trials back: %v", got)
	}
	for _, bad := range []string{"trials=maybe", "sweep_id=%27%3B--", "sweep_id=" + strings.Repeat("A", 65)} {
		h.json("GET", Prefix+"/jobs?"+bad, "", 400, nil)
	}

	cl := h.login(t, testToken)
	resp, err := cl.Get(h.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || strings.Count(page, `class="sweep"`) != 1 || !strings.Contains(page, `href="/sweeps/`+v.ID+`"`) {
		t.Fatalf("list page (%d) has no sweep row linking to /sweeps/%s:\n%s", resp.StatusCode, v.ID, page)
	}
	if !strings.Contains(page, plain.ID) {
		t.Fatal("list page lost the plain job")
	}
	for id := range trialIDs {
		if strings.Contains(page, id) {
			t.Fatalf("list page shows trial %s among the jobs", id)
		}
	}
	resp, err = cl.Get(h.ts.URL + "/?trials=true")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), `class="job"`); n != 4 {
		t.Fatalf("list page with trials=true shows %d jobs, want 4", n)
	}
}
