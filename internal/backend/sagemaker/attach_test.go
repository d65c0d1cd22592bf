package sagemaker

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// A job created straight through the SageMaker API (not by sagetrain) is
// listed as unknown, attached, then followed to its report like our own.
func TestAttachJobCreatedOutsideSagetrain(t *testing.T) {
	w := newWorld(t, fakeTrainer(t))
	ctx := context.Background()
	sp := &spec.Spec{
		JobName: "outside", Backend: spec.BackendSageMaker,
		InputDataS3URI: "s3://" + w.bucket + "/drawings/training/", OutputS3URI: "s3://" + w.bucket + "/runs/",
		ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("c", 64),
		RoleARN:         "arn:aws:iam::123456789012:role/sagetrain-execution",
		Hyperparameters: map[string]string{"epochs": "3", "sleep": "0.2"},
	}
	sp.ApplyDefaults()
	w.putData(t, "drawings/training/", map[string]string{"metadata.csv": "image_path,age\n"})
	in, err := sp.CreateTrainingJobInput("made-by-hand-1", map[string]string{"training": sp.InputDataS3URI})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.NewFromConfig(w.cfg).CreateTrainingJob(ctx, in); err != nil {
		t.Fatalf("CreateTrainingJob straight through the API: %v", err)
	}

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := w.backend(Options{})
	svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"sagemaker": b}, ArtifactRoot: t.TempDir()})

	remote, err := svc.ListRemote(ctx, time.Now().Add(-time.Hour), "by-hand", 10)
	if err != nil || len(remote) != 1 || remote[0].Name != "made-by-hand-1" {
		t.Fatalf("ListRemote: %+v, %v", remote, err)
	}
	if none, _ := svc.ListRemote(ctx, time.Now().Add(time.Hour), "", 10); len(none) != 0 {
		t.Fatalf("ListRemote since the future: %+v", none)
	}
	j, created, err := svc.Attach(ctx, "made-by-hand-1")
	if err != nil || !created || j.RemoteARN != remote[0].ARN {
		t.Fatalf("Attach: %+v %v %v", j, created, err)
	}
	var got spec.Spec
	if err := json.Unmarshal(j.Spec, &got); err != nil || got.Hyperparameters["epochs"] != "3" || got.InstanceType != sp.InstanceType {
		t.Fatalf("attached spec %+v (%v)", got, err)
	}
	if again, created, _ := svc.Attach(ctx, "made-by-hand-1"); created || again.ID != j.ID {
		t.Fatalf("attaching twice made another job")
	}
	if known, _ := svc.ListRemote(ctx, time.Time{}, "by-hand", 10); len(known) != 0 {
		t.Fatalf("an attached job is still listed as unknown: %+v", known)
	}
	if _, _, err := svc.Attach(ctx, "no-such-job"); err == nil {
		t.Fatal("attached a job that does not exist")
	}
	deadline := time.Now().Add(90 * time.Second)
	for j.Status != store.StatusCompleted || len(j.Report) == 0 {
		if j.Status.Terminal() && j.Status != store.StatusCompleted || time.Now().After(deadline) {
			t.Fatalf("attached job: %s %s %s", j.Status, j.StatusMessage, j.FailureReason)
		}
		time.Sleep(200 * time.Millisecond)
		_ = svc.ReconcileOnce(ctx)
		if j, err = svc.Get(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if w.emu.Calls()["StopTrainingJob"] != 0 {
		t.Fatal("following an attached job stopped it")
	}
}
