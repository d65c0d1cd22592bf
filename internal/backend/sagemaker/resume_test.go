package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// Resume on SageMaker: a job with a checkpoint URI is cancelled part way;
// the resumed job starts from the checkpoints SageMaker synced there (the
// stand-in trainer says so in its log) and records where it came from.
func TestResumeAfterCancelOnSageMaker(t *testing.T) {
	w := newWorld(t, fakeTrainer(t))
	ctx := context.Background()
	data := w.putData(t, "drawings/training/", map[string]string{"metadata.csv": "image_path,age\n"})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"sagemaker": w.backend(Options{})}, ArtifactRoot: t.TempDir()})
	sp := &spec.Spec{
		JobName: "resumable", Backend: spec.BackendSageMaker, InputDataS3URI: data, OutputS3URI: "s3://" + w.bucket + "/runs/",
		ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("c", 64),
		RoleARN:         "arn:aws:iam::123456789012:role/sagetrain-execution",
		CheckpointS3URI: "s3://" + w.bucket + "/checkpoints/resumable/",
		Hyperparameters: map[string]string{"epochs": "40"},
		// The stand-in's pause: not a hyperparameter, which the spec check refuses.
		EnvironmentVariables: map[string]string{"FAKE_TRAINER_SLEEP": "0.25"},
	}
	follow := func(id string, done func(*store.Job) bool) *store.Job {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			_ = svc.ReconcileOnce(ctx)
			j, err := svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if done(j) {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s stuck at %s: %s %s", id, j.Status, j.StatusMessage, j.FailureReason)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	j, _, err := svc.Submit(ctx, sp, jobs.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Cancel once the trainer runs (and has written its first checkpoint).
	follow(j.ID, func(j *store.Job) bool {
		var b bytes.Buffer
		_ = svc.Logs(ctx, j.ID, false, &b)
		return strings.Contains(b.String(), "epoch=3 ")
	})
	if _, err := svc.Cancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	j = follow(j.ID, func(j *store.Job) bool { return j.Status.Terminal() })
	if j.Status != store.StatusStopped {
		t.Fatalf("cancelled job ended %s", j.Status)
	}
	// Without a checkpoint URI there is nothing to resume from.
	plain := *sp
	plain.JobName, plain.CheckpointS3URI = "plain", ""
	p, _, _ := svc.Submit(ctx, &plain, jobs.SubmitOptions{})
	_, _ = svc.Cancel(ctx, p.ID)
	follow(p.ID, func(j *store.Job) bool { return j.Status.Terminal() })
	if _, _, err := svc.Resume(ctx, p.ID); err == nil || !strings.Contains(err.Error(), "checkpoint_s3_uri") {
		t.Fatalf("resume without checkpoints: %v", err)
	}

	r, created, err := svc.Resume(ctx, j.ID)
	if err != nil || !created {
		t.Fatalf("Resume: %v", err)
	}
	r = follow(r.ID, func(j *store.Job) bool { return j.Status.Terminal() })
	if r.Status != store.StatusCompleted {
		t.Fatalf("resumed job ended %s: %s", r.Status, r.FailureReason)
	}
	var rs spec.Spec
	if err := jsonUnmarshalSpec(r.Spec, &rs); err != nil || rs.ResumedFromJob != j.ID || rs.ResumeFrom != sp.CheckpointS3URI {
		t.Fatalf("resumed job's spec: resumed_from_job %q resume_from %q (%v)", rs.ResumedFromJob, rs.ResumeFrom, err)
	}
	var log bytes.Buffer
	if err := svc.Logs(ctx, r.ID, false, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resumed from checkpoint") {
		t.Fatalf("the resumed job did not start from the checkpoints:\n%s", log.String())
	}
}

func jsonUnmarshalSpec(b []byte, sp *spec.Spec) error { return json.Unmarshal(b, sp) }
