package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobtype"
)

var sampleData = map[string]string{
	"metadata.csv":        "filename,age,subject,expert_label\na.png,5,house,\nb.png,6,tree,concern\n",
	"images/a.png":        "png-a",
	"images/nested/b.png": "png-b",
}

// TestSageMakerBackend runs every scenario against one set of servers
// (starting moto costs seconds); each scenario uses its own jobs.
func TestSageMakerBackend(t *testing.T) {
	w := newWorld(t, fakeTrainer(t))
	data := w.putData(t, "data/drawings/", sampleData)
	ctx := context.Background()

	t.Run("complete", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "drawing_anomaly", data, 1, map[string]string{"sleep": "0.2"})
		name := aws.ToString(in.TrainingJobName)
		arn, err := b.Create(ctx, in)
		if err != nil || !strings.HasSuffix(arn, "training-job/"+name) {
			t.Fatalf("create: %q %v", arn, err)
		}
		// Creating the same name again never makes a second job.
		arn2, err := b.Create(ctx, in)
		if !errors.Is(err, errs.ErrConflict) || arn2 != arn {
			t.Fatalf("second create: %q %v, want the same ARN and ErrConflict", arn2, err)
		}
		obs, statuses := waitFor(t, b, name, 60*time.Second, terminal)
		if obs.Status != jobtype.StatusCompleted {
			t.Fatalf("status %s (%s), want completed; statuses %v", obs.Status, obs.FailureReason, statuses)
		}
		if !slices.Contains(statuses, string(jobtype.StatusRunning)) {
			t.Errorf("never saw running: %v", statuses)
		}
		var secondaries []string
		for _, tr := range obs.Transitions {
			secondaries = append(secondaries, tr.Status)
		}
		for _, want := range []string{"Starting", "Downloading", "Training", "Uploading", "Completed"} {
			if !slices.Contains(secondaries, want) {
				t.Errorf("transitions %v lack %s", secondaries, want)
			}
		}
		wantModel := fmt.Sprintf("s3://%s/output/%s/output/model.tar.gz", w.bucket, name)
		if obs.ModelArtifacts != wantModel || obs.OutputArtifacts != strings.Replace(wantModel, "model.tar.gz", "output.tar.gz", 1) {
			t.Errorf("artifacts %q %q, want %q", obs.ModelArtifacts, obs.OutputArtifacts, wantModel)
		}
		if obs.FinalMetrics["test_auroc"] < 0.909 || obs.FinalMetrics["test_auroc"] > 0.911 || obs.FinalMetrics["epoch:train_loss"] < 0.949 || obs.FinalMetrics["epoch:train_loss"] > 0.951 {
			t.Errorf("final metrics %v, want test_auroc 0.91 and the last epoch:train_loss 0.95", obs.FinalMetrics)
		}
		if obs.BillableSeconds < 1 || obs.StartedAt == nil || obs.EndedAt == nil || obs.EndedAt.Before(*obs.StartedAt) {
			t.Errorf("timings: billable %d started %v ended %v", obs.BillableSeconds, obs.StartedAt, obs.EndedAt)
		}

		dir := t.TempDir()
		if err := b.FetchArtifacts(ctx, obs, dir); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for _, f := range []string{"model.tar.gz", "output.tar.gz"} {
			if err := artifacts.ExtractTarGz(filepath.Join(dir, f), filepath.Join(dir, "x"), artifacts.DefaultLimits); err != nil {
				t.Fatalf("extract %s: %v", f, err)
			}
		}
		if got := readFile(t, filepath.Join(dir, "x", "weights-algo-1.bin")); got != "weights of algo-1" {
			t.Errorf("model content %q", got)
		}
		if got := readFile(t, filepath.Join(dir, "x", "metrics.json")); !strings.Contains(got, "0.91") {
			t.Errorf("metrics.json %q", got)
		}
		// The channel arrived whole: the log lists every data file.
		var logs bytes.Buffer
		if err := b.Logs(ctx, name, false, &logs); err != nil {
			t.Fatal(err)
		}
		for f := range sampleData {
			if !strings.Contains(logs.String(), "data: ./"+f) {
				t.Errorf("log lacks data file %s:\n%s", f, logs.String())
			}
		}
		// Stopping an ended job is not an error.
		if err := b.Stop(ctx, name); err != nil {
			t.Errorf("stop after completion: %v", err)
		}
		js, _ := json.Marshal(obs)
		w.noSecrets(t, string(js), logs.String())
	})

	t.Run("stop in the middle", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "stop-me", data, 1, map[string]string{"sleep": "1", "epochs": "60"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := b.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		// Running, and the trainer has printed (so it has set up its SIGTERM handler).
		// (Metrics do not change a job's modification time, so ask Describe.)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			o, err := b.Describe(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if o.FinalMetrics["epoch:train_loss"] > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the trainer never printed a metric: %+v", o)
			}
		}
		if err := b.Stop(ctx, name); err != nil {
			t.Fatalf("stop: %v", err)
		}
		obs, statuses := waitFor(t, b, name, 30*time.Second, terminal)
		if obs.Status != jobtype.StatusStopped {
			t.Fatalf("status %s, want stopped (%v)", obs.Status, statuses)
		}
		if obs.ModelArtifacts == "" {
			t.Fatal("a stopped job keeps its model artifacts, as on SageMaker")
		}
		dir := t.TempDir()
		if err := b.FetchArtifacts(ctx, obs, dir); err != nil {
			t.Fatal(err)
		}
		if err := artifacts.ExtractTarGz(filepath.Join(dir, "model.tar.gz"), filepath.Join(dir, "m"), artifacts.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "m", "stopped-algo-1.txt")); got != "stopped" {
			t.Fatalf("the trainer did not get SIGTERM: %q", got)
		}
		if err := b.Stop(ctx, name); err != nil {
			t.Errorf("second stop: %v", err)
		}
	})

	t.Run("trainer fails", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "bad-data", data, 1, map[string]string{"fail": "yes"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := b.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		obs, _ := waitFor(t, b, name, 30*time.Second, terminal)
		if obs.Status != jobtype.StatusFailed || !strings.Contains(obs.FailureReason, "bad data in algo-1") {
			t.Fatalf("got %s %q, want failed with the trainer's failure file", obs.Status, obs.FailureReason)
		}
		if obs.ModelArtifacts != "" {
			t.Errorf("a failed job has no model: %q", obs.ModelArtifacts)
		}
	})

	t.Run("injected job failure", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "capacity", data, 1, map[string]string{"sleep": "1", "epochs": "60"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := b.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		w.emu.FailJob(name, "CapacityError: Unable to provision requested ML compute capacity.")
		obs, _ := waitFor(t, b, name, 30*time.Second, terminal)
		if obs.Status != jobtype.StatusFailed || !strings.HasPrefix(obs.FailureReason, "CapacityError") {
			t.Fatalf("got %s %q", obs.Status, obs.FailureReason)
		}
		// Nothing was uploaded: fetching finds nothing and says so by
		// leaving the folder empty, not by failing.
		dir := t.TempDir()
		if err := b.FetchArtifacts(ctx, obs, dir); err != nil {
			t.Fatalf("fetch of a job without artifacts: %v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("fetch wrote %v", ents)
		}
	})

	t.Run("throttling and 500s lose nothing", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "under-fire", data, 1, map[string]string{"sleep": "0.3"})
		name := aws.ToString(in.TrainingJobName)
		w.emu.ResetCalls()
		w.emu.InjectThrottling(3)
		w.emu.InjectInternalErrors(3)
		arn, err := b.Create(ctx, in)
		if err != nil || arn == "" {
			t.Fatalf("create through faults: %v", err)
		}
		// Faults keep coming while the job runs; no refresh may fail or
		// report anything but the job's real progress.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(300 * time.Millisecond):
				}
				// Bursts a little shorter than the SDK's patience, so every
				// call sees faults and none is lost to them.
				if i%2 == 0 {
					w.emu.InjectThrottling(3)
				} else {
					w.emu.InjectInternalErrors(3)
				}
			}
		}()
		defer func() {
			select {
			case <-stop:
			default:
				close(stop)
			}
			wg.Wait()
			w.emu.ClearFaults()
		}()
		obs, statuses := waitFor(t, b, name, 60*time.Second, terminal)
		close(stop)
		wg.Wait()
		calls, faults := w.emu.Calls(), w.emu.FaultsServed()
		if obs.Status != jobtype.StatusCompleted || obs.FinalMetrics["test_auroc"] == 0 {
			t.Fatalf("got %s (%v), want completed with metrics; statuses %v", obs.Status, obs.FinalMetrics, statuses)
		}
		if slices.Contains(statuses, string(jobtype.StatusFailed)) {
			t.Fatalf("a fault showed as failed: %v", statuses)
		}
		if calls["CreateTrainingJob"] != 7 || faults < 12 {
			t.Errorf("faults were not injected: %d served, calls %v", faults, calls)
		}
	})

	t.Run("persistent throttling is an error, not a failed job", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "persistent", data, 1, map[string]string{"sleep": "0.5"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := b.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		before, _ := waitFor(t, b, name, 30*time.Second, func(backend.Observation) bool { return true })
		impatient := w.backend(Options{MaxAttempts: 2, CallRetries: -1})
		impatient.cache = b.cache // same knowledge, no patience
		w.emu.InjectThrottling(100)
		got, err := impatient.Refresh(ctx, []string{name})
		w.emu.ClearFaults()
		if err == nil || !errors.Is(err, errs.ErrJob) {
			t.Fatalf("refresh under persistent throttling: %v, want a job error", err)
		}
		if o, ok := got[name]; ok && o.Status != before.Status {
			t.Fatalf("refresh changed the job to %s while AWS was failing", o.Status)
		}
		if !strings.Contains(err.Error(), "fix:") {
			t.Errorf("error without a fix: %v", err)
		}
		w.noSecrets(t, err.Error())
		obs, _ := waitFor(t, b, name, 30*time.Second, terminal)
		if obs.Status != jobtype.StatusCompleted {
			t.Fatalf("after the storm: %s", obs.Status)
		}
	})

	t.Run("logs followed across two instances", func(t *testing.T) {
		b := w.backend(Options{})
		in := w.request(t, "two-hosts", data, 2, map[string]string{"sleep": "0.15", "epochs": "8"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := b.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		var followed bytes.Buffer
		done := make(chan error, 1)
		go func() { done <- b.Logs(ctx, name, true, &followed) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("logs -f: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("logs -f did not stop when the job ended")
		}
		obs, err := b.Describe(ctx, name)
		if err != nil || !obs.Status.Terminal() {
			t.Fatalf("logs -f returned before the job ended: %v %v", obs.Status, err)
		}
		var after bytes.Buffer
		if err := b.Logs(ctx, name, false, &after); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(followed.String()), "\n")
		count := map[string]int{}
		for _, l := range lines {
			count[l]++
		}
		for _, host := range []string{"algo-1", "algo-2"} {
			for i := 1; i <= 8; i++ {
				l := fmt.Sprintf("[%s] epoch=%d group=%s train_loss=0.%d val_loss=0.%d", host, i, host, 100-i, 100-i)
				if count[l] != 1 {
					t.Errorf("line %q seen %d times, want once", l, count[l])
				}
			}
			if !strings.Contains(followed.String(), `[`+host+`] resourceconfig {"current_host":"`+host+`","current_instance_type":"ml.m5.xlarge","hosts":["algo-1","algo-2"]`) {
				t.Errorf("%s did not get the full host list:\n%s", host, followed.String())
			}
			if !regexp.MustCompile(`\[` + host + `\] host ` + host + ` starting; peers algo-1=127\.0\.0\.1:\d+,algo-2=127\.0\.0\.1:\d+`).MatchString(followed.String()) {
				t.Errorf("%s did not get SAGETRAIN_HOST_ADDRESSES", host)
			}
			if count["["+host+"] done on "+host] != 1 {
				t.Errorf("%s's last line missing", host)
			}
		}
		// Following saw exactly what the whole log holds afterwards.
		sortLines := func(s string) []string { l := strings.Split(strings.TrimSpace(s), "\n"); slices.Sort(l); return l }
		if !slices.Equal(sortLines(followed.String()), sortLines(after.String())) {
			t.Errorf("followed log differs from the full log:\n%s\n---\n%s", followed.String(), after.String())
		}
	})

	t.Run("checkpoints carry over to the next job", func(t *testing.T) {
		b := w.backend(Options{})
		ckpt := fmt.Sprintf("s3://%s/checkpoints/run-1/", w.bucket)
		var logs [2]bytes.Buffer
		for i := range 2 {
			in := w.request(t, "spot", data, 1, nil)
			in.EnableManagedSpotTraining = aws.Bool(true)
			in.CheckpointConfig = &types.CheckpointConfig{S3Uri: aws.String(ckpt), LocalPath: aws.String("/opt/ml/checkpoints")}
			name := aws.ToString(in.TrainingJobName)
			if _, err := b.Create(ctx, in); err != nil {
				t.Fatal(err)
			}
			if obs, _ := waitFor(t, b, name, 30*time.Second, terminal); obs.Status != jobtype.StatusCompleted {
				t.Fatalf("job %d: %s %s", i, obs.Status, obs.FailureReason)
			}
			if err := b.Logs(ctx, name, false, &logs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Contains(logs[0].String(), "resumed") || !strings.Contains(logs[1].String(), "resumed from checkpoint checkpoint of algo-1") {
			t.Fatalf("checkpoint not carried over:\n%s\n---\n%s", logs[0].String(), logs[1].String())
		}
	})

	t.Run("logs follow rides out throttling", func(t *testing.T) {
		in := w.request(t, "noisy-logs", data, 1, map[string]string{"sleep": "0.15", "epochs": "10"})
		name := aws.ToString(in.TrainingJobName)
		if _, err := w.backend(Options{}).Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		// No retries at all: every injected fault reaches the follow loop.
		impatient := w.backend(Options{MaxAttempts: 1, CallRetries: -1})
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(150 * time.Millisecond):
					w.emu.InjectThrottling(1)
				}
			}
		}()
		var out bytes.Buffer
		if err := impatient.Logs(ctx, name, true, &out); err != nil {
			t.Fatalf("logs -f under throttling: %v", err)
		}
		w.emu.ClearFaults()
		if obs, err := w.backend(Options{}).Describe(ctx, name); err != nil || !obs.Status.Terminal() {
			t.Fatalf("logs -f returned before the end: %v %v", obs.Status, err)
		}
		for i := 1; i <= 10; i++ {
			l := fmt.Sprintf("epoch=%d group=algo-1 train_loss=0.%d val_loss=0.%d\n", i, 100-i, 100-i)
			if n := strings.Count(out.String(), l); n != 1 {
				t.Errorf("line %q seen %d times", l, n)
			}
		}
		if !strings.Contains(out.String(), "done on algo-1") {
			t.Errorf("last line missing:\n%s", out.String())
		}
	})

	t.Run("unknown job", func(t *testing.T) {
		b := w.backend(Options{})
		if _, err := b.Describe(ctx, "no-such-job"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("describe: %v, want ErrNotFound", err)
		}
		got, err := b.Refresh(ctx, []string{"no-such-job"})
		if err != nil || len(got) != 0 {
			t.Fatalf("refresh of an unknown name: %v %v, want it left out", got, err)
		}
		if err := b.Stop(ctx, "no-such-job"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("stop: %v", err)
		}
		// A request SageMaker refuses is the user's to fix: a configuration error.
		in := w.request(t, "refused", data, 1, nil)
		in.OutputDataConfig.S3OutputPath = aws.String("/not/s3")
		_, err = b.Create(ctx, in)
		if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "S3OutputPath") || !strings.Contains(err.Error(), "fix:") {
			t.Fatalf("refused create: %v", err)
		}
		w.noSecrets(t, err.Error())
	})

	t.Run("refresh lists instead of describing", func(t *testing.T) {
		cachePath := filepath.Join(t.TempDir(), "cache", "sagemaker.json")
		b := w.backend(Options{ModifiedMargin: 200 * time.Millisecond, CachePath: cachePath})
		var names []string
		for i := range 250 {
			n := fmt.Sprintf("seeded-%03d", i)
			w.emu.Seed(n)
			names = append(names, n)
		}
		time.Sleep(300 * time.Millisecond) // seeded before the first look by more than the margin
		w.emu.ResetCalls()
		got, err := b.Refresh(ctx, names)
		if err != nil || len(got) != 250 {
			t.Fatalf("first refresh: %d %v", len(got), err)
		}
		if c := w.emu.Calls(); c["DescribeTrainingJob"] != 250 || c["ListTrainingJobs"] != 0 {
			t.Fatalf("cold cache: %v, want one describe per job", c)
		}
		time.Sleep(300 * time.Millisecond) // past the margin: unchanged jobs drop out of the list
		for _, n := range names[:3] {
			if err := w.emu.SetStatus(n, "InProgress", "Uploading"); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.emu.SetStatus(names[3], "Failed", "Failed"); err != nil {
			t.Fatal(err)
		}
		w.emu.ResetCalls()
		got, err = b.Refresh(ctx, names)
		if err != nil || len(got) != 250 {
			t.Fatalf("second refresh: %d %v", len(got), err)
		}
		if c := w.emu.Calls(); c["DescribeTrainingJob"] != 4 || c["ListTrainingJobs"] != 1 {
			t.Fatalf("warm cache: %v, want 1 list and 4 describes", c)
		}
		if got[names[3]].Status != jobtype.StatusFailed || got[names[0]].SecondaryStatus != string(types.SecondaryStatusUploading) || got[names[10]].Status != jobtype.StatusRunning {
			t.Fatalf("observations: %+v %+v %+v", got[names[3]], got[names[0]], got[names[10]])
		}

		// A new process (a one-shot CLI command) starts from the cache file:
		// it lists, and describes only what changed since.
		time.Sleep(300 * time.Millisecond)
		if err := w.emu.SetStatus(names[5], "Stopping", "Stopping"); err != nil {
			t.Fatal(err)
		}
		next := w.backend(Options{ModifiedMargin: 200 * time.Millisecond, CachePath: cachePath})
		w.emu.ResetCalls()
		got, err = next.Refresh(ctx, names[4:]) // names[3] ended: no longer asked about
		if err != nil || len(got) != 246 {
			t.Fatalf("refresh from the cache file: %d %v", len(got), err)
		}
		if c := w.emu.Calls(); c["DescribeTrainingJob"] != 1 || c["ListTrainingJobs"] != 1 {
			t.Fatalf("from the cache file: %v, want 1 list and 1 describe", c)
		}
		if got[names[5]].Status != jobtype.StatusStopping || got[names[0+4]].Status != jobtype.StatusRunning {
			t.Fatalf("observations from the cache file: %+v", got[names[5]])
		}
	})
}

func TestMapStatus(t *testing.T) {
	cases := []struct {
		st   types.TrainingJobStatus
		sec  types.SecondaryStatus
		want jobtype.Status
	}{
		{"InProgress", "Starting", jobtype.StatusPreparing},
		{"InProgress", "Pending", jobtype.StatusPreparing},
		{"InProgress", "Downloading", jobtype.StatusPreparing},
		{"InProgress", "DownloadingTrainingImage", jobtype.StatusPreparing},
		{"InProgress", "LaunchingMLInstances", jobtype.StatusPreparing},
		{"InProgress", "PreparingTrainingStack", jobtype.StatusPreparing},
		{"InProgress", "Training", jobtype.StatusRunning},
		{"InProgress", "Uploading", jobtype.StatusRunning},
		{"InProgress", "Restarting", jobtype.StatusPreparing},
		{"InProgress", "Interrupted", jobtype.StatusPreparing},
		{"InProgress", "Updating", jobtype.StatusRunning},
		{"Stopped", "Interrupted", jobtype.StatusStopped},
		{"Stopped", "MaxWaitTimeExceeded", jobtype.StatusStopped},
		{"Stopping", "Stopping", jobtype.StatusStopping},
		{"Stopped", "MaxRuntimeExceeded", jobtype.StatusStopped},
		{"Completed", "Completed", jobtype.StatusCompleted},
		{"Failed", "Failed", jobtype.StatusFailed},
	}
	for _, c := range cases {
		if got := MapStatus(c.st, c.sec); got != c.want {
			t.Errorf("%s/%s -> %s, want %s", c.st, c.sec, got, c.want)
		}
	}
}

// Every transition of a history gets its status from MapStatus, with the
// primary status it had then: a spot job's interruption in the middle of a
// completed job's history was preparing, not stopped.
func TestObserveMapsEveryTransition(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	var trs []types.SecondaryStatusTransition
	secs := []types.SecondaryStatus{"Starting", "Downloading", "Training", "Interrupted", "Restarting", "Training", "Uploading", "Completed"}
	for i, s := range secs {
		trs = append(trs, types.SecondaryStatusTransition{Status: s, StartTime: aws.Time(at.Add(time.Duration(i) * time.Minute))})
	}
	o := observe(&sm.DescribeTrainingJobOutput{TrainingJobName: aws.String("j"), TrainingJobStatus: "Completed",
		SecondaryStatus: "Completed", SecondaryStatusTransitions: trs})
	want := []jobtype.Status{"preparing", "preparing", "running", "preparing", "preparing", "running", "running", "completed"}
	for i, tr := range o.Transitions {
		if tr.JobStatus != want[i] {
			t.Errorf("transition %d (%s): %s, want %s", i, tr.Status, tr.JobStatus, want[i])
		}
	}
	// the last transition takes the job's own status: Interrupted at the end of a Stopped job is stopped
	o = observe(&sm.DescribeTrainingJobOutput{TrainingJobName: aws.String("j"), TrainingJobStatus: "Stopped",
		SecondaryStatus: "Interrupted", SecondaryStatusTransitions: trs[:4]})
	if got := o.Transitions[3].JobStatus; got != jobtype.StatusStopped || o.Status != jobtype.StatusStopped {
		t.Errorf("a stopped job's final Interrupted transition is %s (job %s), want stopped", got, o.Status)
	}
}
