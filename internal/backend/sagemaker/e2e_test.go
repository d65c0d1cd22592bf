package sagemaker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// TestJobsServiceOnSageMaker is the whole path with the real trainer: a
// generated data set uploaded to S3, a spec submitted through the jobs
// service, the job created through the SDK on the emulator, which runs
// `sagetrain train` per instance; the reconciler follows it with Refresh,
// fetches and unpacks model.tar.gz and output.tar.gz, and the report lands
// in the store. Then the same with a cancel in the middle.
func TestJobsServiceOnSageMaker(t *testing.T) {
	t0 := time.Now()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "sagetrain")
	built := make(chan error, 1)
	go func() { // linking takes a while: overlap it with the servers and the data
		_, err := testpeer.BuildSagetrain(tmp)
		built <- err
	}()
	w := newWorld(t, []string{bin, "train"})
	ctx := context.Background()

	data := filepath.Join(tmp, "data")
	if _, err := sampledata.Generate(data, sampledata.Options{Train: 120, Test: 30, Size: 32}); err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, ch := range []string{"training", "test"} {
		root := filepath.Join(data, ch)
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			g.Go(func() error {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = w.s3.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String("drawings/" + ch + "/" + filepath.ToSlash(rel)), Body: f})
				return err
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	t.Logf("sagetrain built, servers up and data uploaded after %v", time.Since(t0).Round(time.Millisecond))
	st, err := sqlite.Open(ctx, filepath.Join(tmp, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := w.backend(Options{})
	svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"sagemaker": b}, ArtifactRoot: filepath.Join(tmp, "artifacts"), PollInterval: 100 * time.Millisecond})

	newSpec := func(name string, hp map[string]string) *spec.Spec {
		return &spec.Spec{
			JobName:         name,
			Backend:         spec.BackendSageMaker,
			InputDataS3URI:  "s3://" + w.bucket + "/drawings/training/",
			Channels:        map[string]string{"test": "s3://" + w.bucket + "/drawings/test/"},
			OutputS3URI:     "s3://" + w.bucket + "/runs/",
			ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("c", 64),
			RoleARN:         "arn:aws:iam::123456789012:role/sagetrain-execution",
			Hyperparameters: hp,
		}
	}
	wait := func(id string, within time.Duration, ok func(*store.Job) bool) *store.Job {
		t.Helper()
		deadline := time.Now().Add(within)
		last := ""
		for {
			if err := svc.ReconcileOnce(ctx); err != nil {
				t.Logf("reconcile: %v", err) // passing AWS trouble is retried next round
			}
			j, err := svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if now := string(j.Status) + "/" + j.SecondaryStatus; now != last {
				t.Logf("%s: %s after %v", j.ID, now, time.Since(deadline.Add(-within)).Round(time.Millisecond))
				last = now
			}
			if ok(j) {
				return j
			}
			if time.Now().After(deadline) {
				var logs strings.Builder
				_ = svc.Logs(ctx, id, false, &logs)
				t.Fatalf("job %s is %s/%s (%s) after %v; logs:\n%s", id, j.Status, j.SecondaryStatus, j.FailureReason, within, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("completes with its report", func(t *testing.T) {
		j, created, err := svc.Submit(ctx, newSpec("e2e_sagemaker", map[string]string{"epochs": "2", "min_samples": "15", "hidden_sizes": "16,8"}), jobs.SubmitOptions{})
		if err != nil || !created || j.RemoteARN == "" {
			t.Fatalf("submit: %+v %v", j, err)
		}
		j = wait(j.ID, 120*time.Second, func(j *store.Job) bool {
			return j.Status.Terminal() && (j.Status != store.StatusCompleted || len(j.Report) > 0)
		})
		if j.Status != store.StatusCompleted {
			t.Fatalf("job ended %s: %s", j.Status, j.FailureReason)
		}
		wantModel := "s3://" + w.bucket + "/runs/" + j.RemoteName + "/output/model.tar.gz"
		if j.ModelArtifactURI != wantModel || j.BillableSeconds < 1 || j.StartedAt == nil || j.EndedAt == nil {
			t.Errorf("job record: model %q billable %d started %v ended %v", j.ModelArtifactURI, j.BillableSeconds, j.StartedAt, j.EndedAt)
		}
		r, err := svc.Report(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Metrics["test_auroc"]; !ok {
			t.Fatalf("report without test_auroc: %v", r.Metrics)
		}
		raw, err := os.ReadFile(filepath.Join(r.ModelDir, "metrics.json"))
		if err != nil {
			t.Fatalf("unpacked model has no metrics.json: %v", err)
		}
		var fromFile map[string]any
		if err := json.Unmarshal(raw, &fromFile); err != nil || len(fromFile) != len(r.Metrics) {
			t.Fatalf("report is not the trainer's metrics.json: %v", err)
		}
		events, err := svc.Events(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		var statuses []store.Status
		for _, e := range events {
			statuses = append(statuses, e.Status)
		}
		if !slices.Contains(statuses, store.StatusRunning) || statuses[len(statuses)-1] != store.StatusCompleted {
			t.Errorf("events %v", statuses)
		}
		row, _ := json.Marshal(j)
		evs, _ := json.Marshal(events)
		w.noSecrets(t, string(row), string(evs))
		checkCostAndProvenance(t, j, r)
	})

	t.Run("two instances", func(t *testing.T) {
		sp := newSpec("e2e_two_hosts", map[string]string{"epochs": "2", "min_samples": "15", "hidden_sizes": "16,8"})
		sp.InstanceCount = 2
		j, _, err := svc.Submit(ctx, sp, jobs.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j = wait(j.ID, 120*time.Second, func(j *store.Job) bool {
			return j.Status.Terminal() && (j.Status != store.StatusCompleted || len(j.Report) > 0)
		})
		if j.Status != store.StatusCompleted {
			t.Fatalf("job ended %s: %s", j.Status, j.FailureReason)
		}
		var logs strings.Builder
		if err := svc.Logs(ctx, j.ID, false, &logs); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "[algo-1] ") || !strings.Contains(logs.String(), "[algo-2] ") {
			t.Fatalf("logs lack one of the hosts:\n%s", logs.String())
		}
		if _, err := svc.Report(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancel in the middle", func(t *testing.T) {
		j, _, err := svc.Submit(ctx, newSpec("e2e_cancel", map[string]string{"epochs": "100000", "early_stopping_patience": "100000", "lr_patience": "100000", "min_samples": "15", "hidden_sizes": "16,8"}), jobs.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wait(j.ID, 60*time.Second, func(j *store.Job) bool { return j.Status == store.StatusRunning })
		if _, err := svc.Cancel(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		j = wait(j.ID, 60*time.Second, func(j *store.Job) bool { return j.Status.Terminal() })
		if j.Status != store.StatusStopped {
			t.Fatalf("cancelled job ended %s (%s)", j.Status, j.FailureReason)
		}
	})
}
