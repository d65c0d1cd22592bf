package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobtype"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// The test binary doubles as the runner and as a scriptable trainer that
// honours the container contract, so these tests exercise the backend's
// process handling without depending on the real training program (the
// jobs package's tests run the real one).
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "local-run" {
		if err := RunJob(context.Background(), os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 3 && os.Args[1] == "train" && os.Args[2] == "--ml-root" {
		os.Exit(scriptedTrainer(os.Args[3]))
	}
	os.Exit(m.Run())
}

// scriptedTrainer behaves as hyperparameter "mode" says: ok, fail, sleep
// (until SIGTERM, then checkpoint and exit), stubborn (ignores SIGTERM).
func scriptedTrainer(root string) int {
	var hp map[string]string
	b, _ := os.ReadFile(filepath.Join(root, "input/config/hyperparameters.json"))
	_ = json.Unmarshal(b, &hp)
	rc, _ := os.ReadFile(filepath.Join(root, "input/config/resourceconfig.json"))
	switch hp["mode"] {
	case "fill":
		// Fills the disk with a model, as a runaway job would.
		f, err := os.Create(filepath.Join(root, "model/huge.bin"))
		if err == nil {
			buf := make([]byte, 64<<10)
			for err == nil {
				_, err = f.Write(buf)
			}
			f.Close()
		}
		fmt.Println("model write:", err)
		return 1
	case "env":
		// Prints its environment, as a job that wants to see it would.
		for _, kv := range os.Environ() {
			fmt.Println("env: " + kv)
		}
		return 0
	case "fail":
		fmt.Println("loading data")
		_ = os.WriteFile(filepath.Join(root, "output/failure"), []byte("ValueError: no drawings in channel training\n"), 0o644)
		return 2
	case "sleep", "stubborn":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("epoch 1 started")
		if hp["mode"] == "stubborn" {
			for {
				<-sig // ignore it: SIGKILL must come
			}
		}
		select {
		case <-sig:
			_ = os.WriteFile(filepath.Join(root, "checkpoints/ckpt.json"), []byte(`{"epoch":1}`), 0o644)
			fmt.Println("checkpointed on SIGTERM")
			return 0
		case <-time.After(2 * time.Minute):
			return 3
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "input/data/training/metadata.csv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	for i := 1; i <= 3; i++ {
		fmt.Printf("epoch %d/3 train_loss=%.2f\n", i, 1.0/float64(i))
	}
	model := map[string]any{"rows": strings.Count(string(data), "\n"), "resourceconfig": json.RawMessage(rc),
		"addresses": os.Getenv("SAGETRAIN_HOST_ADDRESSES"), "job": os.Getenv("TRAINING_JOB_NAME"), "extra": os.Getenv("EXTRA")}
	mb, _ := json.Marshal(model)
	_ = os.WriteFile(filepath.Join(root, "model/model.json"), mb, 0o644)
	_ = os.WriteFile(filepath.Join(root, "output/data/report.txt"), []byte("fine\n"), 0o644)
	return 0
}

func newBackend(t *testing.T, grace time.Duration) *Backend {
	t.Helper()
	b, err := New(Options{Root: t.TempDir(), StopGrace: grace})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dataset(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "metadata.csv"), []byte("file,age\na.png,5\nb.png,6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func request(name, data, out, mode string, hosts int32) *sagemaker.CreateTrainingJobInput {
	return &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(name),
		AlgorithmSpecification: &types.AlgorithmSpecification{
			TrainingInputMode: types.TrainingInputModeFile,
			MetricDefinitions: []types.MetricDefinition{{Name: aws.String("train:loss"), Regex: aws.String(`train_loss=([0-9.]+)`)}},
		},
		HyperParameters: map[string]string{"mode": mode},
		Environment:     map[string]string{"EXTRA": "x1"},
		InputDataConfig: []types.Channel{{ChannelName: aws.String("training"),
			DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{S3Uri: aws.String("file://" + data), S3DataType: types.S3DataTypeS3Prefix}}}},
		OutputDataConfig:  &types.OutputDataConfig{S3OutputPath: aws.String(out)},
		ResourceConfig:    &types.ResourceConfig{InstanceCount: aws.Int32(hosts), InstanceType: types.TrainingInstanceTypeMlM5Large, VolumeSizeInGB: aws.Int32(1)},
		StoppingCondition: &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(600)},
	}
}

// waitFor polls Describe until the job's status is terminal.
func waitFor(t *testing.T, b *Backend, name string, within time.Duration) backend.Observation {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		obs, err := b.Describe(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if obs.Status.Terminal() {
			return obs
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(b.JobDir(name), fileLog))
			t.Fatalf("job %s still %s/%s after %s; log:\n%s", name, obs.Status, obs.SecondaryStatus, within, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLog polls the job log until it holds s (the scripted trainer prints
// "epoch 1 started" once its SIGTERM handler is in place).
func waitLog(t *testing.T, b *Backend, name, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if log, _ := os.ReadFile(filepath.Join(b.JobDir(name), fileLog)); strings.Contains(string(log), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s never logged %q", name, s)
}

// waitSecondary polls until the job reaches a secondary status.
func waitSecondary(t *testing.T, b *Backend, name, secondary string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		obs, err := b.Describe(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if obs.SecondaryStatus == secondary {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %s", name, secondary)
}

func TestCompletedJobIsLaidOutLikeSageMaker(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	out := t.TempDir()
	ctx := context.Background()
	arn, err := b.Create(ctx, request("ok-job", dataset(t), "file://"+out, "ok", 1))
	if err != nil {
		t.Fatal(err)
	}
	if arn != ARN("ok-job") {
		t.Fatalf("arn %q", arn)
	}
	obs := waitFor(t, b, "ok-job", 30*time.Second)
	if obs.Status != jobtype.StatusCompleted || obs.SecondaryStatus != "Completed" || obs.FailureReason != "" {
		t.Fatalf("observation %+v", obs)
	}
	var seq []string
	for _, tr := range obs.Transitions {
		seq = append(seq, tr.Status)
		if tr.EndTime == nil {
			t.Errorf("transition %s has no end time", tr.Status)
		}
	}
	if got := strings.Join(seq, ","); got != "Starting,Downloading,Training,Uploading,Completed" {
		t.Fatalf("transitions %s", got)
	}
	if obs.StartedAt == nil || obs.EndedAt == nil || obs.BillableSeconds < 1 {
		t.Fatalf("timings %+v", obs)
	}
	if obs.FinalMetrics["train:loss"] != 0.33 {
		t.Fatalf("final metrics %v (want the last train_loss, 0.33)", obs.FinalMetrics)
	}
	wantModel := "file://" + filepath.Join(out, "ok-job", "output", "model.tar.gz")
	if obs.ModelArtifacts != wantModel || obs.OutputArtifacts != "file://"+filepath.Join(out, "ok-job", "output", "output.tar.gz") {
		t.Fatalf("artifacts %s %s", obs.ModelArtifacts, obs.OutputArtifacts)
	}
	fetched := t.TempDir()
	if err := b.FetchArtifacts(ctx, obs, fetched); err != nil {
		t.Fatal(err)
	}
	unpacked := t.TempDir()
	if err := artifacts.ExtractTarGz(filepath.Join(fetched, "model.tar.gz"), unpacked, artifacts.Limits{}); err != nil {
		t.Fatal(err)
	}
	var model struct {
		Rows           int
		Job, Addresses string
		Extra          string
		ResourceConfig struct {
			CurrentHost string   `json:"current_host"`
			Hosts       []string `json:"hosts"`
		}
	}
	mb, err := os.ReadFile(filepath.Join(unpacked, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &model); err != nil {
		t.Fatal(err)
	}
	if model.Rows != 3 || model.Job != "ok-job" || model.Extra != "x1" || model.Addresses != "" || model.ResourceConfig.CurrentHost != "algo-1" {
		t.Fatalf("the trainer saw %+v", model)
	}
	outUnpacked := t.TempDir()
	if err := artifacts.ExtractTarGz(filepath.Join(fetched, "output.tar.gz"), outUnpacked, artifacts.Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(outUnpacked, "report.txt")); err != nil || string(b) != "fine\n" {
		t.Fatalf("output.tar.gz report.txt: %q %v", b, err)
	}
	var logs bytes.Buffer
	if err := b.Logs(ctx, "ok-job", false, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "epoch 3/3 train_loss=0.33") {
		t.Fatalf("log:\n%s", logs.String())
	}
	// Input config as SageMaker writes it.
	var idc map[string]map[string]string
	if err := readJSON(filepath.Join(b.JobDir("ok-job"), "hosts/algo-1/input/config/inputdataconfig.json"), &idc); err != nil {
		t.Fatal(err)
	}
	if idc["training"]["TrainingInputMode"] != "File" {
		t.Fatalf("inputdataconfig %v", idc)
	}
}

func TestCreateSameNameReturnsExistingARNWithConflict(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	ctx := context.Background()
	req := request("twice", dataset(t), "file://"+t.TempDir(), "sleep", 1)
	arn1, err := b.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	arn2, err := b.Create(ctx, req)
	if !errors.Is(err, errs.ErrConflict) || arn2 != arn1 {
		t.Fatalf("second create: %q, %v; want %q and a conflict", arn2, err, arn1)
	}
	if err := b.Stop(ctx, "twice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "twice", 30*time.Second)
}

func TestFailureReasonIsTheTrainersFailureFile(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	out := t.TempDir()
	if _, err := b.Create(context.Background(), request("bad", dataset(t), out, "fail", 1)); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "bad", 30*time.Second)
	if obs.Status != jobtype.StatusFailed || obs.FailureReason != "ValueError: no drawings in channel training" {
		t.Fatalf("observation %+v", obs)
	}
	if obs.ModelArtifacts != "" || obs.OutputArtifacts == "" {
		t.Fatalf("a failed job keeps its output but has no model: %q %q", obs.ModelArtifacts, obs.OutputArtifacts)
	}
}

func TestStopSendsSIGTERMAndTheTrainerCheckpoints(t *testing.T) {
	t.Parallel()
	b := newBackend(t, 5*time.Second)
	ctx := context.Background()
	if _, err := b.Create(ctx, request("stopme", dataset(t), t.TempDir(), "sleep", 1)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, b, "stopme", "epoch 1 started")
	if err := b.Stop(ctx, "stopme"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	obs := waitFor(t, b, "stopme", 20*time.Second)
	if obs.Status != jobtype.StatusStopped || obs.SecondaryStatus != "Stopped" {
		t.Fatalf("observation %+v", obs)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatalf("a trainer that exits on SIGTERM took %s to stop", time.Since(start))
	}
	if _, err := os.Stat(filepath.Join(b.JobDir("stopme"), "hosts/algo-1/checkpoints/ckpt.json")); err != nil {
		t.Fatalf("no checkpoint written on SIGTERM: %v", err)
	}
	if err := b.Stop(ctx, "stopme"); err != nil {
		t.Fatalf("stopping an ended job: %v", err)
	}
}

func TestStopKillsATrainerThatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	ctx := context.Background()
	if _, err := b.Create(ctx, request("stubborn", dataset(t), t.TempDir(), "stubborn", 1)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, b, "stubborn", "epoch 1 started")
	if err := b.Stop(ctx, "stubborn"); err != nil {
		t.Fatal(err)
	}
	if obs, _ := b.Describe(ctx, "stubborn"); obs.Status != jobtype.StatusStopping && obs.Status != jobtype.StatusStopped {
		t.Fatalf("right after Stop: %s", obs.Status)
	}
	obs := waitFor(t, b, "stubborn", 20*time.Second)
	if obs.Status != jobtype.StatusStopped {
		t.Fatalf("observation %+v", obs)
	}
	var st stateFile
	_ = readJSON(filepath.Join(b.JobDir("stubborn"), fileState), &st)
	if st.ExitCodes["algo-1"] != -1 {
		t.Fatalf("exit codes %v: the trainer should have been killed", st.ExitCodes)
	}
}

func TestMaxRuntimeStopsTheJob(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	req := request("slow", dataset(t), t.TempDir(), "sleep", 1)
	req.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(1)
	if _, err := b.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "slow", 20*time.Second)
	if obs.Status != jobtype.StatusStopped || obs.SecondaryStatus != "MaxRuntimeExceeded" {
		t.Fatalf("observation %+v", obs)
	}
}

func TestRunnerKilledIsInterruptedAndANewBackendReattaches(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	b1, err := New(Options{Root: root, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []string{"victim", "survivor"} {
		if _, err := b1.Create(ctx, request(n, dataset(t), t.TempDir(), "sleep", 1)); err != nil {
			t.Fatal(err)
		}
		waitSecondary(t, b1, n, "Training")
	}
	// Another process (a new backend on the same root) sees both running.
	b2, err := New(Options{Root: root, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b2.Refresh(ctx, []string{"victim", "survivor", "never-made"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["victim"].Status != jobtype.StatusRunning || got["survivor"].Status != jobtype.StatusRunning {
		t.Fatalf("refresh %+v", got)
	}
	// The victim's whole process group dies without a word.
	var pf pidFile
	if err := readJSON(filepath.Join(root, "victim", filePid), &pf); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pf.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b2, "victim", 10*time.Second)
	if obs.Status != jobtype.StatusFailed || obs.FailureReason != "interrupted" {
		t.Fatalf("victim %+v", obs)
	}
	// The record is final: asking again gives the same answer.
	again, _ := b1.Describe(ctx, "victim")
	if again.Status != jobtype.StatusFailed || !again.EndedAt.Equal(*obs.EndedAt) {
		t.Fatalf("victim changed: %+v", again)
	}
	if err := b2.Stop(ctx, "survivor"); err != nil {
		t.Fatal(err)
	}
	if obs := waitFor(t, b2, "survivor", 10*time.Second); obs.Status != jobtype.StatusStopped {
		t.Fatalf("survivor %+v", obs)
	}
	if _, err := b2.Describe(ctx, "never-made"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestSeveralHostsGetTheirOwnConfigAndAddresses(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	if _, err := b.Create(context.Background(), request("pair", dataset(t), t.TempDir(), "ok", 2)); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "pair", 30*time.Second)
	if obs.Status != jobtype.StatusCompleted {
		t.Fatalf("observation %+v", obs)
	}
	for i, h := range []string{"algo-1", "algo-2"} {
		var m struct {
			Addresses      string
			ResourceConfig struct {
				CurrentHost string   `json:"current_host"`
				Hosts       []string `json:"hosts"`
			}
		}
		if err := readJSON(filepath.Join(b.JobDir("pair"), "hosts", h, "model/model.json"), &m); err != nil {
			t.Fatal(err)
		}
		if m.ResourceConfig.CurrentHost != h || strings.Join(m.ResourceConfig.Hosts, ",") != "algo-1,algo-2" {
			t.Fatalf("host %d resourceconfig %+v", i, m.ResourceConfig)
		}
		parts := strings.Split(m.Addresses, ",")
		if len(parts) != 2 || !strings.HasPrefix(parts[0], "algo-1=127.0.0.1:") || !strings.HasPrefix(parts[1], "algo-2=127.0.0.1:") {
			t.Fatalf("SAGETRAIN_HOST_ADDRESSES %q", m.Addresses)
		}
	}
	var logs bytes.Buffer
	_ = b.Logs(context.Background(), "pair", false, &logs)
	if !strings.Contains(logs.String(), "[algo-2] epoch 1/3") {
		t.Fatalf("log lines are not tagged by host:\n%s", logs.String())
	}
}

func TestLogsFollowEndsWithTheJob(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.Create(ctx, request("follow", dataset(t), t.TempDir(), "ok", 1)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := b.Logs(ctx, "follow", true, &logs); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Logs -f did not return when the job ended")
	}
	if !strings.Contains(logs.String(), "epoch 3/3") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

func TestBadRequestsAreConfigurationErrors(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	bad := request("has_underscore", dataset(t), t.TempDir(), "ok", 1)
	if _, err := b.Create(context.Background(), bad); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("bad name: %v", err)
	}
	rel := request("relative", "data/x", t.TempDir(), "ok", 1)
	rel.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("data/x")
	if _, err := b.Create(context.Background(), rel); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("relative channel: %v", err)
	}
	missing := request("missing-data", filepath.Join(t.TempDir(), "nope"), t.TempDir(), "ok", 1)
	if _, err := b.Create(context.Background(), missing); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "missing-data", 20*time.Second)
	if obs.Status != jobtype.StatusFailed || !strings.HasPrefix(obs.FailureReason, "ClientError: channel training") {
		t.Fatalf("missing channel: %+v", obs)
	}
}

// An s3:// channel is downloaded (through the SDK, from the S3 test server)
// and shown to each host like a local one.
func TestS3ChannelIsDownloaded(t *testing.T) {
	srv := testpeer.StartS3(t)
	srv.Env(t) // the runner inherits this environment
	ctx := context.Background()
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := awssetup.NewS3Client(cfg)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drawings")}); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string]string{"set1/metadata.csv": "file,age\na.png,5\n", "set1/images/a.png": "png"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drawings"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBackend(t, time.Second)
	req := request("from-s3", "unused", t.TempDir(), "ok", 1)
	req.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("s3://drawings/set1")
	if _, err := b.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "from-s3", 30*time.Second)
	if obs.Status != jobtype.StatusCompleted {
		log, _ := os.ReadFile(filepath.Join(b.JobDir("from-s3"), fileLog))
		t.Fatalf("observation %+v\n%s", obs, log)
	}
	var m struct{ Rows int }
	if err := readJSON(filepath.Join(b.JobDir("from-s3"), "hosts/algo-1/model/model.json"), &m); err != nil || m.Rows != 2 {
		t.Fatalf("the trainer read %d metadata lines (%v), want 2", m.Rows, err)
	}
	if got, err := os.ReadFile(filepath.Join(b.JobDir("from-s3"), "hosts/algo-1/input/data/training/images/a.png")); err != nil || string(got) != "png" {
		t.Fatalf("images/a.png: %q %v", got, err)
	}
}
