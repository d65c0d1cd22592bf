package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

func TestProgressAppearsWhileAJobRuns(t *testing.T) {
	t.Parallel()
	buildSagetrain(t)
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lb, err := local.New(local.Options{Root: filepath.Join(dir, "local"), Executable: sagetrainBin, StopGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, PollInterval: 100 * time.Millisecond, ArtifactRoot: filepath.Join(dir, "artifacts")})
	srv := New(Options{Jobs: FromJobs(svc), Store: st, Tokens: []string{testToken}, ListCacheTTL: -1, DataRoots: []string{sampleDir}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h := &harness{t: t, srv: srv, ts: ts}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); RunReconciler(ctx, svc, 100*time.Millisecond, nil, nil) }()
	t.Cleanup(func() { stop(); <-done })

	// Enough epochs (no early stop) that the job runs for a few seconds.
	var job JobView
	h.json("POST", Prefix+"/jobs", fmt.Sprintf(`{"job_name":"progress","dataset_folder":%q,"hyperparameters":{"epochs":"60","early_stopping_patience":"0","min_samples":"15","hidden_sizes":"256,128","loss_plots":"false"}}`,
		filepath.Join(sampleDir, "training")), 201, &job)
	var seen *progress.Record
	deadline := time.Now().Add(150 * time.Second)
	for {
		var v JobView
		h.json("GET", Prefix+"/jobs/"+job.ID, "", 200, &v)
		if v.Status == "running" && len(v.Progress) > 0 {
			var p progress.Record
			if err := json.Unmarshal(v.Progress, &p); err != nil {
				t.Fatal(err)
			}
			seen = &p
		}
		if store.Status(v.Status).Terminal() {
			if v.Status != "completed" {
				t.Fatalf("job ended %s: %s", v.Status, v.FailureReason)
			}
			if len(v.Progress) != 0 {
				t.Fatalf("a completed job shows progress: %s", v.Progress)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen == nil {
		t.Fatal("no progress was seen while the job ran")
	}
	if seen.TotalEpochs != 60 || seen.GroupsTotal < 1 || seen.Epoch < 1 || seen.Group == "" || seen.ETASeconds == nil {
		t.Fatalf("progress %+v", seen)
	}
	t.Logf("last progress seen while running: %+v", *seen)
}
