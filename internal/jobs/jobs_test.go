package jobs

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/backendtest"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// The tests run real local jobs: the sagetrain binary, built once here, is
// the runner and the trainer, on a small generated data set.
var (
	sagetrainBin string
	sampleDir    string
)

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "jobs-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		if sagetrainBin, err = testpeer.BuildSagetrain(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sampleDir = filepath.Join(tmp, "data")
		if _, err := sampledata.Generate(sampleDir, sampledata.Options{Train: 160, Test: 40, Size: 32}); err != nil {
			fmt.Fprintln(os.Stderr, "sample data:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// counting wraps a backend and counts Create calls and FetchArtifacts per job.
type counting struct{ *backendtest.Counting }

func newCounting(b backend.Backend) *counting {
	return &counting{backendtest.NewCounter().Wrap(b)}
}

func (c *counting) counts(name string) (creates, fetches int) {
	return c.Counter.Creates(name), c.Counter.Fetches(name)
}

// env is one "process": a store connection, a backend and a service.
type env struct {
	st  store.Store
	be  *counting
	svc *Service
}

func newEnv(t *testing.T, st store.Store, root, artRoot, owner string) *env {
	t.Helper()
	lb, err := local.New(local.Options{Root: root, Executable: sagetrainBin, StopGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cb := newCounting(lb)
	svc := New(st, Options{Backends: map[string]backend.Backend{"local": cb}, Owner: owner,
		LeaseTTL: 10 * time.Second, PollInterval: 150 * time.Millisecond, ArtifactRoot: artRoot})
	return &env{st: st, be: cb, svc: svc}
}

func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// quickSpec trains in a second or two; slowSpec runs until stopped.
func quickSpec(name string) *spec.Spec {
	return &spec.Spec{
		JobName:       name,
		DatasetFolder: filepath.Join(sampleDir, "training"),
		Channels:      map[string]string{"test": filepath.Join(sampleDir, "test")},
		Hyperparameters: map[string]string{
			"epochs": "3", "min_samples": "15", "hidden_sizes": "32,16",
		},
	}
}

func slowSpec(name string) *spec.Spec {
	sp := quickSpec(name)
	sp.Hyperparameters["epochs"] = "100000"
	sp.Hyperparameters["early_stopping_patience"] = "100000"
	sp.Hyperparameters["lr_patience"] = "100000"
	return sp
}

// waitStatus reconciles with svc until the job's status satisfies ok.
func waitStatus(t *testing.T, svc *Service, id string, within time.Duration, ok func(*store.Job) bool) *store.Job {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		if err := svc.ReconcileOnce(ctx); err != nil {
			t.Logf("reconcile: %v", err)
		}
		j, err := svc.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			logTail(t, svc, id)
			t.Fatalf("job %s is %s (%s) %q after %s", id, j.Status, j.SecondaryStatus, j.StatusMessage, within)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func terminal(j *store.Job) bool { return j.Status.Terminal() }

func logTail(t *testing.T, svc *Service, id string) {
	var b limitedBuf
	_ = svc.Logs(context.Background(), id, false, &b)
	t.Logf("job log (last part):\n%s", b.tail())
}

type limitedBuf struct{ b []byte }

func (l *limitedBuf) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }
func (l *limitedBuf) tail() string {
	if len(l.b) > 3000 {
		return string(l.b[len(l.b)-3000:])
	}
	return string(l.b)
}

// countStatus counts a job's events with status s.
func countStatus(t *testing.T, svc *Service, id string, s store.Status) int {
	t.Helper()
	evs, err := svc.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Status == s {
			n++
		}
	}
	return n
}

// checkReport checks the report is the trainer's metrics.json, unchanged.
func checkReport(t *testing.T, svc *Service, j *store.Job) *Report {
	t.Helper()
	r, err := svc.Report(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(r.ModelDir, "metrics.json"))
	if err != nil {
		t.Fatalf("the unpacked model has no metrics.json: %v", err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Metrics, want) {
		t.Fatalf("report metrics differ from the trainer's metrics.json")
	}
	if _, ok := r.Metrics["test_auroc"]; !ok {
		t.Fatalf("metrics.json has no test_auroc: %v", r.Metrics)
	}
	if _, err := os.Stat(filepath.Join(r.ModelDir, "model.json")); err != nil {
		t.Fatalf("no model.json in %s: %v", r.ModelDir, err)
	}
	if j.ArtifactDir != r.ArtifactDir || r.JobID != j.ID {
		t.Fatalf("report %s/%s vs job %s/%s", r.JobID, r.ArtifactDir, j.ID, j.ArtifactDir)
	}
	return r
}

func TestSubmitRunsALocalJobToItsReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	ctx := context.Background()
	j, created, err := e.svc.Submit(ctx, quickSpec("my_first job"), SubmitOptions{})
	if err != nil || !created {
		t.Fatalf("submit: %v created=%v", err, created)
	}
	if j.RemoteARN == "" || j.Status != store.StatusPreparing || j.RemoteName[:12] != "my-first-job" {
		t.Fatalf("after submit: %+v", j)
	}
	if _, err := e.svc.Report(ctx, j.ID); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("report of a running job: %v", err)
	}
	j = waitStatus(t, e.svc, j.ID, 90*time.Second, terminal)
	if j.Status != store.StatusCompleted {
		logTail(t, e.svc, j.ID)
		t.Fatalf("job ended %s: %s", j.Status, j.FailureReason)
	}
	if j.StartedAt == nil || j.EndedAt == nil || j.BillableSeconds < 1 || j.ModelArtifactURI == "" {
		t.Fatalf("timings/artifacts missing: %+v", j)
	}
	checkReport(t, e.svc, j)
	evs, _ := e.svc.Events(ctx, j.ID)
	var seen []string
	for _, ev := range evs {
		seen = append(seen, string(ev.Status)+"/"+ev.SecondaryStatus)
	}
	want := []string{"pending/", "preparing/Starting", "preparing/Downloading", "running/Training", "running/Uploading", "completed/Completed"}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("history %v, want %v", seen, want)
	}
	if _, err := e.svc.Cancel(ctx, j.ID); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("cancel of a completed job: %v", err)
	}
	if cr, fe := e.be.counts(j.RemoteName); cr != 1 || fe != 1 {
		t.Fatalf("creates %d, fetches %d; want 1 and 1", cr, fe)
	}
}

func TestSubmitWithTheSameIdempotencyKeyReturnsTheFirstJob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	ctx := context.Background()
	first, created, err := e.svc.Submit(ctx, slowSpec("idem"), SubmitOptions{IdempotencyKey: "nightly-1"})
	if err != nil || !created {
		t.Fatalf("first submit: %v %v", err, created)
	}
	second, created, err := e.svc.Submit(ctx, slowSpec("idem"), SubmitOptions{IdempotencyKey: "nightly-1"})
	if err != nil || created || second.ID != first.ID || second.RemoteName != first.RemoteName {
		t.Fatalf("second submit: %v created=%v id %s vs %s", err, created, second.ID, first.ID)
	}
	js, _, err := e.svc.List(ctx, store.ListFilter{})
	if err != nil || len(js) != 1 {
		t.Fatalf("list: %d jobs, %v", len(js), err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "local"))
	if cr, _ := e.be.counts(first.RemoteName); len(entries) != 1 || cr != 1 {
		t.Fatalf("%d local job folders, %d creates; want one remote job", len(entries), cr)
	}
	third, created, err := e.svc.Submit(ctx, quickSpec("idem"), SubmitOptions{IdempotencyKey: "nightly-2"})
	if err != nil || !created || third.ID == first.ID {
		t.Fatalf("another key: %v %v", err, created)
	}
	// Clean up whatever state the jobs are in: the quick one may well have
	// ended already (a conflict then), which is not what this test checks.
	for _, id := range []string{first.ID, third.ID} {
		if _, err := e.svc.Cancel(ctx, id); err != nil && !errors.Is(err, errs.ErrConflict) {
			t.Fatal(err)
		}
		waitStatus(t, e.svc, id, 30*time.Second, terminal)
	}
}

func TestSubmitRefusesAnInvalidSpecBeforeRecordingIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	sp := quickSpec("")
	sp.InstanceCount = -1
	_, _, err := e.svc.Submit(context.Background(), sp, SubmitOptions{})
	var ve *spec.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("invalid spec: %v", err)
	}
	missing := quickSpec("missing")
	missing.DatasetFolder = filepath.Join(dir, "nope")
	if _, _, err := e.svc.Submit(context.Background(), missing, SubmitOptions{}); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("missing data: %v", err)
	}
	js, _, _ := e.svc.List(context.Background(), store.ListFilter{})
	if len(js) != 0 {
		t.Fatalf("%d jobs recorded for refused specs", len(js))
	}
}

// A crash between writing the row and creating the job: the reconciler
// creates it under the recorded name, once; and if the first Create did get
// through, the backend's "already exists" gives the ARN instead of a second job.
func TestAPendingRowLeftByACrashIsCreatedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "jobs.db"))
	e := newEnv(t, st, filepath.Join(dir, "local"), filepath.Join(dir, "art"), "after-crash")
	ctx := context.Background()
	rows := make([]*store.Job, 2)
	for i := range rows {
		sp := quickSpec(fmt.Sprintf("crashed-%d", i))
		sp.ApplyDefaults()
		raw, _ := json.Marshal(sp)
		j, _, err := st.Create(ctx, &store.Job{Name: sp.JobName, RemoteName: spec.RemoteName(sp.JobName, spec.NewSuffix()),
			Backend: "local", Spec: raw, Status: store.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = j
	}
	// The second crashed just after the backend accepted it.
	sp1, _ := jobSpec(rows[1])
	in, err := sp1.CreateTrainingJobInput(rows[1].RemoteName, map[string]string{
		"training": "file://" + filepath.Join(sampleDir, "training"), "test": "file://" + filepath.Join(sampleDir, "test")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.be.Backend.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		j := waitStatus(t, e.svc, r.ID, 90*time.Second, terminal)
		if j.Status != store.StatusCompleted || j.RemoteARN != local.ARN(r.RemoteName) {
			t.Fatalf("job %s: %s %s", r.ID, j.Status, j.FailureReason)
		}
		checkReport(t, e.svc, j)
		if cr, fe := e.be.counts(r.RemoteName); cr != 1 || fe != 1 {
			t.Fatalf("job %s: creates %d fetches %d", r.ID, cr, fe)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "local"))
	if len(entries) != 2 {
		t.Fatalf("%d local jobs for 2 rows", len(entries))
	}
}

// The service dies while a local job runs (its process keeps running, as a
// SageMaker job would); a new service on the same store finds it, and the job
// ends recorded exactly once, with its report.
func TestRestartWhileAJobRunsRecordsItOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "jobs.db")
	st1, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	e1 := newEnv(t, st1, filepath.Join(dir, "local"), filepath.Join(dir, "art"), "first")
	runCtx, kill := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e1.svc.Run(runCtx); close(done) }()
	sp := quickSpec("restart")
	sp.Hyperparameters["epochs"] = "40"
	j, _, err := e1.svc.Submit(context.Background(), sp, SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first service has seen it training, then "kill" it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		cur, err := e1.svc.Get(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status == store.StatusRunning {
			break
		}
		if cur.Status.Terminal() || time.Now().After(deadline) {
			t.Fatalf("job %s before the restart", cur.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kill()
	<-done
	st1.Close()

	e2 := newEnv(t, openSQLite(t, db), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "second")
	j = waitStatus(t, e2.svc, j.ID, 120*time.Second, terminal)
	if j.Status != store.StatusCompleted {
		logTail(t, e2.svc, j.ID)
		t.Fatalf("after restart: %s %s", j.Status, j.FailureReason)
	}
	for i := 0; i < 3; i++ { // more rounds change nothing
		if err := e2.svc.ReconcileOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	checkReport(t, e2.svc, j)
	if n := countStatus(t, e2.svc, j.ID, store.StatusCompleted); n != 1 {
		t.Fatalf("%d completed events, want 1", n)
	}
	c1, f1 := e1.be.counts(j.RemoteName)
	c2, f2 := e2.be.counts(j.RemoteName)
	if c1+c2 != 1 || f1+f2 != 1 {
		t.Fatalf("creates %d+%d, fetches %d+%d; want one of each", c1, c2, f1, f2)
	}
}

// Cancel works after a restart: the new service stops the job the old one
// started, and it ends stopped once the backend confirms.
func TestCancelAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "jobs.db")
	st1, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	e1 := newEnv(t, st1, filepath.Join(dir, "local"), filepath.Join(dir, "art"), "first")
	j, _, err := e1.svc.Submit(context.Background(), slowSpec("cancel-me"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the trainer is in its epochs, so the stop interrupts training.
	waitStatus(t, e1.svc, j.ID, 60*time.Second, func(j *store.Job) bool {
		var log limitedBuf
		_ = e1.svc.Logs(context.Background(), j.ID, false, &log)
		return j.Status.Terminal() || regexpMatch(`(?m)^epoch=2 `, log.b)
	})
	st1.Close()

	e2 := newEnv(t, openSQLite(t, db), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "second")
	got, err := e2.svc.Cancel(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusStopping || !got.CancelRequested {
		t.Fatalf("after cancel: %s cancel=%v", got.Status, got.CancelRequested)
	}
	j = waitStatus(t, e2.svc, j.ID, 30*time.Second, terminal)
	if j.Status != store.StatusStopped || j.FailureReason != "" || j.EndedAt == nil {
		t.Fatalf("after cancel: %s %q", j.Status, j.FailureReason)
	}
	if _, err := e2.svc.Report(context.Background(), j.ID); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("report of a stopped job: %v", err)
	}
	if countStatus(t, e2.svc, j.ID, store.StatusStopping) < 1 || countStatus(t, e2.svc, j.ID, store.StatusStopped) != 1 {
		t.Fatal("history lacks stopping, or has other than one stopped")
	}
	var log limitedBuf
	if err := e2.svc.Logs(context.Background(), j.ID, true, &log); err != nil {
		t.Fatal(err)
	}
	// The trainer got SIGTERM and checkpointed, rather than being killed.
	if !regexpMatch(`checkpoint saved after epoch`, log.b) {
		t.Fatalf("no checkpoint on stop; log:\n%s", log.tail())
	}
}

func TestLogsFollowReturnsWhenTheJobEnds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	j, _, err := e.svc.Submit(ctx, quickSpec("follow"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b limitedBuf
	if err := e.svc.Logs(ctx, j.ID, true, io.Writer(&b)); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("logs -f did not return at the end of the job")
	}
	if !regexpMatch(`metric: test_auroc=`, b.b) {
		t.Fatalf("log lacks the final metrics:\n%s", b.tail())
	}
	// The runner may still write its last files after the log ends.
	waitStatus(t, e.svc, j.ID, time.Minute, terminal)
}

func regexpMatch(re string, b []byte) bool { return regexp.MustCompile(re).Match(b) }

// tampering hands out a model archive that tries to escape its folder.
type tampering struct{ backend.Backend }

func (t tampering) FetchArtifacts(ctx context.Context, obs backend.Observation, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "model.tar.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: "../../escaped.txt", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("evil"))
	_ = tw.Close()
	return zw.Close()
}

func TestUnsafeArtifactsFailTheJobInsteadOfRetryingForever(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lb, err := local.New(local.Options{Root: filepath.Join(dir, "local"), Executable: sagetrainBin})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(openSQLite(t, filepath.Join(dir, "jobs.db")), Options{Backends: map[string]backend.Backend{"local": tampering{lb}},
		ArtifactRoot: filepath.Join(dir, "art"), LeaseTTL: 3 * time.Second})
	j, _, err := svc.Submit(context.Background(), quickSpec("tampered"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j = waitStatus(t, svc, j.ID, 90*time.Second, terminal)
	if j.Status != store.StatusFailed || !strings.Contains(j.FailureReason, "artifacts were refused") || len(j.Report) != 0 {
		t.Fatalf("%s %q", j.Status, j.FailureReason)
	}
	if _, err := os.Stat(filepath.Join(dir, "escaped.txt")); err == nil {
		t.Fatal("the archive wrote outside its folder")
	}
}

func TestSageMakerJobWithLocalDataNeedsAnUploader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	svc := New(e.st, Options{Backends: map[string]backend.Backend{"sagemaker": e.be}, ArtifactRoot: filepath.Join(dir, "art")})
	sp := quickSpec("to-the-cloud")
	sp.Backend = spec.BackendSageMaker
	sp.RoleARN = "arn:aws:iam::123456789012:role/sagetrain"
	sp.ImageURI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain:1"
	sp.OutputS3URI = "s3://bucket/out"
	_, _, err := svc.Submit(context.Background(), sp, SubmitOptions{})
	if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "upload") {
		t.Fatalf("submit: %v", err)
	}
	if js, _, _ := svc.List(context.Background(), store.ListFilter{}); len(js) != 0 {
		t.Fatalf("%d jobs recorded", len(js))
	}
}

// Two local instances split the age groups between them and both end with
// the whole model; the report comes from algo-1's.
func TestTwoInstancesShareTheAgeGroups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	sp := quickSpec("pair")
	sp.InstanceCount = 2
	j, _, err := e.svc.Submit(context.Background(), sp, SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j = waitStatus(t, e.svc, j.ID, 120*time.Second, terminal)
	if j.Status != store.StatusCompleted {
		logTail(t, e.svc, j.ID)
		t.Fatalf("%s %s", j.Status, j.FailureReason)
	}
	r := checkReport(t, e.svc, j)
	hosts := map[string]bool{}
	groups, _ := r.Metrics["groups"].(map[string]any)
	for _, g := range groups {
		h, _ := g.(map[string]any)["host"].(string)
		hosts[h] = true
	}
	if !hosts["algo-1"] || !hosts["algo-2"] {
		t.Fatalf("groups trained on %v; want both hosts", hosts)
	}
}

// The job's own process dies with no exit record (say, the machine went
// down): the next round records it failed, reason "interrupted".
func TestAJobWhoseProcessDiedIsRecordedInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, openSQLite(t, filepath.Join(dir, "jobs.db")), filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	j, _, err := e.svc.Submit(context.Background(), slowSpec("doomed"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e.svc, j.ID, 60*time.Second, func(j *store.Job) bool { return j.Status == store.StatusRunning || j.Status.Terminal() })
	var pid struct{ Pid int }
	b, err := os.ReadFile(filepath.Join(dir, "local", j.RemoteName, "pid.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pid); err != nil || pid.Pid <= 0 {
		t.Fatalf("pid.json %s: %v", b, err)
	}
	if err := syscall.Kill(-pid.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	j = waitStatus(t, e.svc, j.ID, 30*time.Second, terminal)
	if j.Status != store.StatusFailed || j.FailureReason != "interrupted" {
		t.Fatalf("%s %q", j.Status, j.FailureReason)
	}
}

// A single-job command (status ID) reconciles its job however many others
// are live, and leases that job alone: it does not take on (and release)
// the claim limit's worth of other jobs each time.
func TestReconcileJobReachesItsJobBehindManyLiveOnes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "jobs.db"))
	ctx := context.Background()
	// Older live jobs of a backend this service does not have: Claim takes
	// them first (oldest first) and fills its limit with them.
	old := make([]*store.Job, claimLimit+1)
	for i := range old {
		old[i] = &store.Job{Name: fmt.Sprintf("old-%d", i), Backend: "elsewhere", Status: store.StatusRunning,
			RemoteName: fmt.Sprintf("old-%d", i), RemoteARN: fmt.Sprintf("arn:old-%d", i)}
	}
	bulk, ok := st.(interface {
		CreateMany(context.Context, []*store.Job) error
	})
	if !ok {
		t.Fatalf("%T has no CreateMany", st)
	}
	if err := bulk.CreateMany(ctx, old); err != nil {
		t.Fatal(err)
	}
	leased := &leaseCounting{Store: st}
	e := newEnv(t, leased, filepath.Join(dir, "local"), filepath.Join(dir, "art"), "one")
	j, _, err := e.svc.Submit(ctx, quickSpec("behind"), SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !j.Status.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 90 s of ReconcileJob", j.ID, j.Status)
		}
		leased.n.Store(0)
		if err := e.svc.ReconcileJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if n := leased.n.Load(); n > 1 {
			t.Fatalf("ReconcileJob leased %d jobs; want its own alone", n)
		}
		if j, err = e.svc.Get(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if j.Status != store.StatusCompleted {
		t.Fatalf("job ended %s: %s", j.Status, j.FailureReason)
	}
	if g, err := st.Get(ctx, old[0].ID); err != nil || g.LeaseOwner != "" {
		t.Fatalf("ReconcileJob touched another job's lease: %q, %v", g.LeaseOwner, err)
	}
}

// leaseCounting counts the jobs a store hands out as leases.
type leaseCounting struct {
	store.Store
	n atomic.Int64
}

func (l *leaseCounting) Claim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*store.Job, error) {
	js, err := l.Store.Claim(ctx, owner, ttl, limit)
	l.n.Add(int64(len(js)))
	return js, err
}

func (l *leaseCounting) ClaimOne(ctx context.Context, id, owner string, ttl time.Duration) (*store.Job, error) {
	j, err := l.Store.ClaimOne(ctx, id, owner, ttl)
	if j != nil {
		l.n.Add(1)
	}
	return j, err
}
