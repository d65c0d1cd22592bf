package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// BulkCreator is implemented by drivers that insert many jobs at once
// (both sagetrain drivers do: CreateMany).
type BulkCreator interface {
	CreateMany(ctx context.Context, jobs []*store.Job) error
}

// SeedJobs returns n deterministic jobs shaped like a long-lived
// installation's: created one every 5 minutes back from end, 98% finished
// (completed, failed, stopped), 2% live, 80% local and 20% sagemaker, 40
// distinct job names, a spec of about 400 bytes and, when completed, a
// report. Job i has ID fmt.Sprintf("seed%07d", i).
func SeedJobs(n int, end time.Time) []*store.Job {
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("drawings-%s-v%d", []string{"houses", "people", "trees", "suns", "animals"}[i%5], i/5+1)
	}
	jobs := make([]*store.Job, n)
	for i := range jobs {
		created := store.Micro(end.Add(-time.Duration(n-i) * 5 * time.Minute))
		name := names[i%len(names)]
		backend := "local"
		if i%5 == 0 {
			backend = "sagemaker"
		}
		remote := fmt.Sprintf("%s-%06x", name, i)
		spec, _ := json.Marshal(map[string]any{
			"job_name": name, "backend": backend, "dataset_folder": "./data/" + name, "metadata_file": "metadata.csv",
			"output_s3_uri": "s3://drawings-models/" + name + "/", "instance_type": "ml.m5.xlarge", "instance_count": 1,
			"volume_size_gb": 30, "max_runtime_seconds": 86400,
			"hyperparameters": map[string]string{"epochs": "100", "batch_size": "32", "learning_rate": "0.001", "min_samples": "50"},
		})
		j := &store.Job{
			ID: fmt.Sprintf("seed%07d", i), Name: name, RemoteName: remote, Backend: backend, Spec: spec,
			CreatedAt: created, UpdatedAt: created.Add(20 * time.Minute),
		}
		switch r := i % 100; {
		case i >= n-n/50 || r == 99: // the newest and a few old ones are live
			j.Status, j.SecondaryStatus = store.StatusRunning, "Training"
		case r < 80:
			j.Status, j.SecondaryStatus = store.StatusCompleted, "Completed"
			j.Report = json.RawMessage(`{"age_groups":[{"ages":"4-5","threshold":0.0132,"n":212},{"ages":"6-7","threshold":0.0117,"n":187}],"test":{"roc_auc":0.87,"average_precision":0.61}}`)
			j.ModelArtifactURI = "s3://drawings-models/" + name + "/" + remote + "/output/model.tar.gz"
		case r < 92:
			j.Status, j.FailureReason = store.StatusFailed, "AlgorithmError: not enough samples"
		default:
			j.Status = store.StatusStopped
		}
		if j.Status.Terminal() {
			e := j.UpdatedAt
			j.EndedAt = &e
		}
		jobs[i] = j
	}
	return jobs
}

// Seed inserts SeedJobs(n, end) into s, in batches through CreateMany when
// the driver has it, else one Create at a time.
func Seed(ctx context.Context, s store.Store, n int, end time.Time) error {
	jobs := SeedJobs(n, end)
	if bc, ok := s.(BulkCreator); ok {
		for len(jobs) > 0 {
			k := min(len(jobs), 10000)
			if err := bc.CreateMany(ctx, jobs[:k]); err != nil {
				return err
			}
			jobs = jobs[k:]
		}
		return nil
	}
	for _, j := range jobs {
		if _, _, err := s.Create(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// RunSeed checks a driver's bulk insert (through Seed) of n jobs (a
// multiple of 5) stores the same jobs Create would: counts, order, events, and name
// filters matching all, a fifth and one of them.
func RunSeed(t *testing.T, s store.Store, n int) {
	ctx := ctxT(t)
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := Seed(ctx, s, n, end); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	want := SeedJobs(n, end)
	counts, err := s.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if total != int64(n) {
		t.Fatalf("CountByStatus sums to %d, want %d", total, n)
	}
	var f store.ListFilter
	f.Limit = 500
	i := n - 1
	for {
		page, next, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			w := *want[i]
			w.Version = 1 // set by the insert
			if d := diff(&w, j); len(d) > 0 {
				t.Fatalf("seeded job %d differs: %v", i, d)
			}
			i--
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if i != -1 {
		t.Fatalf("listing stopped %d jobs short", i+1)
	}
	evs, err := s.Events(ctx, want[7].ID)
	if err != nil || len(evs) != 1 || evs[0].Status != want[7].Status || !evs[0].At.Equal(want[7].CreatedAt) {
		t.Fatalf("seeded job's creation event: %+v %v", evs, err)
	}
	// A name matching every job, one matching a fifth, one matching one.
	for q, wantN := range map[string]int{"DRAWINGS-": n, "houses": n / 5, want[n/2].RemoteName: 1} {
		f := store.ListFilter{NameContains: q, Limit: 1000}
		got := 0
		for {
			page, next, err := s.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range page {
				if !strings.Contains(strings.ToLower(j.Name+"\n"+j.RemoteName), strings.ToLower(q)) {
					t.Fatalf("name~%s listed %s (%s)", q, j.Name, j.RemoteName)
				}
			}
			got += len(page)
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if got != wantN {
			t.Errorf("name~%s: %d jobs, want %d", q, got, wantN)
		}
	}
	rare := want[n/3].RemoteName
	got, _, err := s.List(ctx, store.ListFilter{NameContains: strings.ToUpper(rare[len(rare)-9:])})
	if err != nil || len(got) != 1 || got[0].ID != want[n/3].ID {
		t.Fatalf("name search for %q after a bulk insert: %d jobs, err %v", rare, len(got), err)
	}
}
