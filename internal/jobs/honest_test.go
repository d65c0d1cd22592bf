package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/backend"
	smbackend "github.com/sagetrain/sagetrain/internal/backend/sagemaker"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/testpeer/sagemakeremu"
)

// Hyperparameters go through the trainer's own parser at submit: every bad
// one at once, and no row is written.
func TestSubmitRefusesBadHyperparameters(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	e := newEnv(t, st, t.TempDir(), t.TempDir(), "a")
	sp := quickSpec("typos")
	sp.Hyperparameters = map[string]string{"epocs": "5", "batch_size": "abc", "learning_rate": "-1", "epochs": "3"}
	_, _, err := e.svc.Submit(context.Background(), sp, SubmitOptions{})
	var ve *spec.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("submit with typos: %v", err)
	}
	got := map[string]string{}
	for _, v := range ve.Violations {
		got[v.Field] = v.Message
	}
	for field, want := range map[string]string{"hyperparameters.epocs": "did you mean epochs?", "hyperparameters.batch_size": "abc",
		"hyperparameters.learning_rate": "between"} {
		if !strings.Contains(got[field], want) {
			t.Errorf("%s: %q, want %q", field, got[field], want)
		}
	}
	if _, ok := got["hyperparameters.epochs"]; ok || len(got) != 3 {
		t.Errorf("violations: %v", ve.Violations)
	}
	if js, _, _ := e.svc.List(context.Background(), store.ListFilter{}); len(js) != 0 {
		t.Errorf("a refused submit left %d rows", len(js))
	}
}

// smSpec is a SageMaker job reading an S3 input (no upload needed).
func smSpec(name, input string) *spec.Spec {
	return &spec.Spec{JobName: name, Backend: spec.BackendSageMaker, InputDataS3URI: input, OutputS3URI: "s3://honest/output/",
		ImageURI: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("a", 64),
		RoleARN:  "arn:aws:iam::123456789012:role/sagetrain-training", InstanceType: "ml.m5.large"}
}

// A create that cannot succeed (no credentials) fails the job for good; one
// that will be retried (SageMaker out of reach) leaves it pending with a
// message saying so, and the reconciler creates it once SageMaker answers.
func TestLaunchOutcomes(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	fast := smbackend.Options{MaxAttempts: 1, CallRetries: -1}

	noCreds := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found")
		})}
	svc := New(st, Options{Backends: map[string]backend.Backend{"sagemaker": smbackend.New(noCreds, fast)}, ArtifactRoot: t.TempDir()})
	j, _, err := svc.Submit(ctx, smSpec("nocreds", "s3://honest/data/"), SubmitOptions{})
	if err == nil || j == nil || j.Status != store.StatusFailed || !strings.Contains(j.FailureReason, "credentials") {
		t.Fatalf("no credentials: %v, job %s: %s %s", err, j.ID, j.Status, j.StatusMessage)
	}
	noCredsID := j.ID

	s3srv := testpeer.StartS3(t)
	moto := testpeer.StartMoto(t)
	s3srv.Env(t)
	moto.Env(t)
	t.Setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:1")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	down := New(st, Options{Backends: map[string]backend.Backend{"sagemaker": smbackend.New(cfg, fast)}, ArtifactRoot: t.TempDir()})
	j, _, err = down.Submit(ctx, smSpec("unreachable", "s3://honest/data/"), SubmitOptions{})
	if err == nil || errors.Is(err, errs.ErrConfiguration) || j == nil || j.Status != store.StatusPending || !strings.Contains(j.StatusMessage, "will retry") {
		t.Fatalf("unreachable SageMaker: %v, job %s %s", err, j.Status, j.StatusMessage)
	}

	emu := sagemakeremu.Start(t, cfg, sagemakeremu.Options{Trainer: []string{"/bin/true"}})
	emu.Env(t)
	up, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb := newCounting(smbackend.New(up, fast))
	later := New(st, Options{Backends: map[string]backend.Backend{"sagemaker": cb}, ArtifactRoot: t.TempDir()})
	if err := later.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	pend, _ := later.Get(ctx, j.ID)
	failed, _ := later.Get(ctx, noCredsID)
	if pend.RemoteARN == "" || failed.Status != store.StatusFailed {
		t.Errorf("after SageMaker answers: pending job %+v, failed job %+v", pend, failed)
	}
	if n, _ := cb.counts(failed.RemoteName); n != 0 {
		t.Errorf("the failed job was created later (%d creates)", n)
	}
}

// A completed job whose model.tar.gz is missing says so, with the S3 key,
// is retried for a bounded time, then fails; a stop SageMaker refuses is
// recorded where status and cancel show it.
func TestArtifactsMissingAndStopRefused(t *testing.T) {
	ctx := context.Background()
	s3srv := testpeer.StartS3(t)
	moto := testpeer.StartMoto(t)
	s3srv.Env(t)
	moto.Env(t)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	emu := sagemakeremu.Start(t, cfg, sagemakeremu.Options{Trainer: []string{"/bin/true"}})
	emu.Env(t)
	if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("honest")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("honest"), Key: aws.String("data/metadata.csv"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	be := smbackend.New(cfg, smbackend.Options{MaxAttempts: 1, CallRetries: -1})
	svc := New(st, Options{Backends: map[string]backend.Backend{"sagemaker": be}, ArtifactRoot: t.TempDir()})

	j, _, err := svc.Submit(ctx, smSpec("noartifacts", "s3://honest/data/"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := emu.Wait(wctx, j.RemoteName); err != nil {
		t.Fatal(err)
	}
	key := "output/" + j.RemoteName + "/output/model.tar.gz"
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("honest"), Key: &key}); err != nil {
		t.Fatal(err)
	}
	_ = svc.ReconcileOnce(ctx)
	got, _ := svc.Get(ctx, j.ID)
	if got.Status != store.StatusRunning || got.SecondaryStatus != SecondaryFetchingArtifacts || !strings.Contains(got.StatusMessage, "s3://honest/"+key) ||
		strings.Contains(got.StatusMessage, ".download-") {
		t.Fatalf("artifacts missing: %s (%s): %s", got.Status, got.SecondaryStatus, got.StatusMessage)
	}
	impatient := New(st, Options{Backends: map[string]backend.Backend{"sagemaker": be}, ArtifactRoot: t.TempDir(), ArtifactWait: time.Nanosecond})
	_ = impatient.ReconcileOnce(ctx)
	got, _ = svc.Get(ctx, j.ID)
	if got.Status != store.StatusFailed || !strings.Contains(got.FailureReason, "s3://honest/"+key) {
		t.Fatalf("after the artifact wait: %s: %s", got.Status, got.FailureReason)
	}

	// A stop SageMaker refuses.
	emu.Seed("refuses-stop")
	seeded := &store.Job{ID: store.NewID(), Name: "refuses-stop", RemoteName: "refuses-stop", RemoteARN: "arn:aws:sagemaker:us-east-1:123456789012:training-job/refuses-stop",
		Backend: "sagemaker", Spec: []byte(`{}`), Status: store.StatusRunning}
	if _, _, err := st.Create(ctx, seeded); err != nil {
		t.Fatal(err)
	}
	emu.RefuseStop("refuses-stop", "The training job cannot be stopped right now.")
	cj, err := svc.Cancel(ctx, seeded.ID)
	if err != nil || !strings.HasPrefix(cj.StatusMessage, StopRefused) || !strings.Contains(cj.StatusMessage, "cannot be stopped") {
		t.Fatalf("cancel refused: %v, %q", err, cj.StatusMessage)
	}
	_ = svc.ReconcileOnce(ctx)
	got, _ = svc.Get(ctx, seeded.ID)
	if !strings.HasPrefix(got.StatusMessage, StopRefused) || got.Status.Terminal() {
		t.Fatalf("after a refused stop in the reconciler: %s: %q", got.Status, got.StatusMessage)
	}
	emu.AllowStop("refuses-stop")
	deadline := time.Now().Add(20 * time.Second)
	for !got.Status.Terminal() && time.Now().Before(deadline) {
		_ = svc.ReconcileOnce(ctx)
		got, _ = svc.Get(ctx, seeded.ID)
		time.Sleep(100 * time.Millisecond)
	}
	if got.Status != store.StatusStopped {
		t.Errorf("once SageMaker accepts the stop: %s: %q", got.Status, got.StatusMessage)
	}
}

// status NAME finds a job by its job_name when one job has it.
func TestGetByUniqueJobName(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	svc := New(st, Options{ArtifactRoot: t.TempDir()})
	for _, n := range []string{"solo", "dup", "dup", "solo-other"} {
		if _, _, err := st.Create(ctx, &store.Job{ID: store.NewID(), Name: n, RemoteName: n + "-" + strings.ToLower(store.NewID()[:8]),
			Backend: "local", Spec: []byte(`{}`), Status: store.StatusFailed}); err != nil {
			t.Fatal(err)
		}
	}
	if j, err := svc.Get(ctx, "solo"); err != nil || j.Name != "solo" {
		t.Errorf("unique name: %v %+v", err, j)
	}
	if _, err := svc.Get(ctx, "dup"); err == nil || !strings.Contains(err.Error(), "several jobs are named dup") {
		t.Errorf("two jobs with one name: %v", err)
	}
	if _, err := svc.Get(ctx, "nobody"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("no such name: %v", err)
	}
	if _, err := svc.Events(ctx, "solo"); err != nil {
		t.Errorf("events by name: %v", err)
	}
}
