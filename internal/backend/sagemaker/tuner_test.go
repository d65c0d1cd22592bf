package sagemaker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// --engine sagemaker-tuner: the sweep is one CreateHyperParameterTuningJob
// on the emulator, whose training jobs become the sweep's trials, followed
// to their reports; a cancel stops the tuning job.
func TestSweepWithTheSageMakerTuner(t *testing.T) {
	w := newWorld(t, fakeTrainer(t))
	ctx := context.Background()
	data := w.putData(t, "drawings/training/", map[string]string{"metadata.csv": "image_path,age\n"})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	js := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"sagemaker": w.backend(Options{})}, ArtifactRoot: t.TempDir()})
	sws, err := sweep.New(js)
	if err != nil {
		t.Fatal(err)
	}
	base := func(hp map[string]string) *spec.Spec {
		return &spec.Spec{
			JobName: "tuned", Backend: spec.BackendSageMaker, InputDataS3URI: data, OutputS3URI: "s3://" + w.bucket + "/runs/",
			ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("c", 64),
			RoleARN:         "arn:aws:iam::123456789012:role/sagetrain-execution",
			Hyperparameters: hp,
		}
	}
	follow := func(id string, done func(*sweep.View) bool) *sweep.View {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_ = js.ReconcileOnce(ctx)
			if err := sws.StepOne(ctx, id); err != nil {
				t.Fatalf("step: %v", err)
			}
			v, err := sws.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if done(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("sweep %s stuck: %+v", id, v)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	obj, _ := sweep.ParseObjective("test_auroc:max")
	v, err := sws.Create(ctx, sweep.Request{Spec: base(nil), Engine: sweep.EngineTuner, Objective: obj, MaxParallel: 1,
		Grid: []sweep.Axis{{Key: "hyperparameters.epochs", Values: []string{"2", "3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	v = follow(v.ID, func(v *sweep.View) bool { return store.SweepTerminal(v.Status) })
	if v.Status != "completed" || len(v.Trials) != 2 || v.Counts.Completed != 2 || v.Best == nil || v.Tuner == "" {
		t.Fatalf("tuned sweep: %+v", v)
	}
	epochs := map[string]bool{}
	for _, tr := range v.Trials {
		epochs[tr.Params["hyperparameters.epochs"]] = true
		if tr.ObjectiveValue == nil || *tr.ObjectiveValue != 0.91 { // what the stand-in trainer prints
			t.Fatalf("trial %+v has no objective value", tr)
		}
		j, err := js.Get(ctx, tr.ID)
		if err != nil || j.Status != store.StatusCompleted || len(j.Report) == 0 || !strings.HasPrefix(j.RemoteName, v.Tuner+"-") {
			t.Fatalf("trial job %+v (%v)", j, err)
		}
	}
	if !epochs["2"] || !epochs["3"] {
		t.Fatalf("the grid's values were not tried: %v", epochs)
	}
	if n := w.emu.Calls()["CreateHyperParameterTuningJob"]; n != 1 {
		t.Fatalf("%d tuning jobs created", n)
	}
	// sagetrain's scheduler is not involved: no job was submitted by it.
	if w.emu.Calls()["CreateTrainingJob"] != 0 {
		t.Fatal("the tuner path submitted training jobs itself")
	}

	// Cancel: the tuning job and its live training job stop.
	v, err = sws.Create(ctx, sweep.Request{Spec: base(map[string]string{"sleep": "0.25"}), Engine: sweep.EngineTuner, Objective: obj, MaxParallel: 1,
		Grid: []sweep.Axis{{Key: "hyperparameters.epochs", Values: []string{"200", "201", "202"}}}})
	if err != nil {
		t.Fatal(err)
	}
	follow(v.ID, func(v *sweep.View) bool { return v.Counts.Live == 1 })
	if _, err := sws.Cancel(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	v = follow(v.ID, func(v *sweep.View) bool { return store.SweepTerminal(v.Status) })
	if v.Status != "stopped" || len(v.Trials) != 1 || v.Trials[0].Status != "stopped" {
		t.Fatalf("cancelled tuned sweep: %+v", v)
	}
	if w.emu.Calls()["StopHyperParameterTuningJob"] != 1 {
		t.Fatal("the tuning job was not stopped")
	}

	// What a tuning job cannot do is refused before anything is created.
	for _, bad := range []sweep.Request{
		{Spec: base(nil), Engine: sweep.EngineTuner, Objective: obj, Grid: []sweep.Axis{{Key: "instance_type", Values: []string{"ml.m5.large"}}}},
		{Spec: &spec.Spec{JobName: "local", DatasetFolder: t.TempDir()}, Engine: sweep.EngineTuner, Objective: obj, Grid: []sweep.Axis{{Key: "hyperparameters.epochs", Values: []string{"1"}}}},
	} {
		if _, err := sws.Create(ctx, bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
}
