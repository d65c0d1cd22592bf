package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// These tests run the built sagetrain binary as a user would, with a fresh
// HOME, so the defaults (store, data dir, local jobs) are exercised too.

var (
	jobsBinOnce sync.Once
	jobsBinPath string
	jobsBinErr  error
)

func jobsBuildBinary(t *testing.T) string {
	t.Helper()
	jobsBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sagetrain-e2e-")
		if err != nil {
			jobsBinErr = err
			return
		}
		jobsBinPath, jobsBinErr = testpeer.BuildSagetrain(dir)
	})
	if jobsBinErr != nil {
		t.Fatal(jobsBinErr)
	}
	return jobsBinPath
}

// jobsRun runs the binary with HOME=home and returns stdout, stderr and the exit code.
func jobsRun(t *testing.T, home string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(jobsBuildBinary(t), args...)
	cmd.Env = jobsEnvFor(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// jobsEnvFor is this environment with HOME=home and none of the variables
// that would move the store or the data dir elsewhere.
func jobsEnvFor(home string) []string {
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_DATA_HOME", "SAGETRAIN_DB", "SAGETRAIN_LOCAL_ROOT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func jobsDecode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

func TestQuickstartEndToEnd(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	start := time.Now()
	// A smaller data set than the default keeps the suite fast; the path is the same.
	out, errOut, code := jobsRun(t, home, "quickstart", "--epochs", "3", "--train", "300", "--test", "80", "--size", "32", "-o", "json")
	if code != 0 {
		t.Fatalf("quickstart exited %d\nstderr:\n%s", code, errOut)
	}
	t.Logf("quickstart took %s", time.Since(start))
	var rep struct {
		JobID    string         `json:"job_id"`
		Status   string         `json:"status"`
		ModelDir string         `json:"model_dir"`
		Metrics  map[string]any `json:"metrics"`
	}
	jobsDecode(t, out, &rep)
	if rep.Status != "completed" || rep.JobID == "" {
		t.Fatalf("report %+v", rep)
	}
	groups, _ := rep.Metrics["groups"].(map[string]any)
	if len(groups) == 0 {
		t.Fatalf("no age groups in the report: %v", rep.Metrics)
	}
	for name, g := range groups {
		th, _ := g.(map[string]any)["threshold"].(float64)
		if !(th > 0) {
			t.Fatalf("group %s has threshold %v", name, g.(map[string]any)["threshold"])
		}
	}
	auc, ok := rep.Metrics["test_auroc"].(float64)
	if !ok || auc < 0 || auc > 1 {
		t.Fatalf("test_auroc %v", rep.Metrics["test_auroc"])
	}
	// The report's numbers are the trainer's metrics.json in the unpacked model.
	b, err := os.ReadFile(filepath.Join(rep.ModelDir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk map[string]any
	jobsDecode(t, string(b), &onDisk)
	if onDisk["test_auroc"] != rep.Metrics["test_auroc"] {
		t.Fatalf("report test_auroc %v, metrics.json %v", rep.Metrics["test_auroc"], onDisk["test_auroc"])
	}
	if !strings.HasPrefix(rep.ModelDir, filepath.Join(home, ".local", "share", "sagetrain")) {
		t.Fatalf("model outside the default data dir: %s", rep.ModelDir)
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "share", "sagetrain", "jobs.db")); err != nil {
		t.Fatalf("default store not created: %v", err)
	}

	// The other commands see the job.
	out, errOut, code = jobsRun(t, home, "list", "-o", "json")
	var list struct {
		Jobs []struct{ ID, Status string }
	}
	jobsDecode(t, out, &list)
	if code != 0 || len(list.Jobs) != 1 || list.Jobs[0].ID != rep.JobID || list.Jobs[0].Status != "completed" {
		t.Fatalf("list (%d): %s %s", code, out, errOut)
	}
	out, _, code = jobsRun(t, home, "status", rep.JobID, "-o", "json")
	var st struct {
		Status string
		Events []struct{ Status string }
	}
	jobsDecode(t, out, &st)
	if code != 0 || st.Status != "completed" || len(st.Events) < 4 || st.Events[len(st.Events)-1].Status != "completed" {
		t.Fatalf("status (%d): %s", code, out)
	}
	out, _, code = jobsRun(t, home, "logs", rep.JobID)
	if code != 0 || !strings.Contains(out, "metric: test_auroc=") {
		t.Fatalf("logs (%d): %s", code, out)
	}
	out, _, code = jobsRun(t, home, "report", rep.JobID)
	if code != 0 || !strings.Contains(out, "Age groups:") || !strings.Contains(out, "test_auroc") || !strings.Contains(out, rep.ModelDir) {
		t.Fatalf("report (%d):\n%s", code, out)
	}
	if _, errOut, code = jobsRun(t, home, "cancel", rep.JobID); code == 0 || !strings.Contains(errOut, "already ended") {
		t.Fatalf("cancel of a completed job exited %d: %s", code, errOut)
	}
}

// A job submitted from the CLI keeps running after the command returns; a
// later command cancels it, and it ends stopped.
func TestSubmitThenCancelFromLaterCommands(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	data := filepath.Join(home, "data")
	if _, errOut, code := jobsRun(t, home, "sample-data", data, "--train", "120", "--test", "20", "--size", "32"); code != 0 {
		t.Fatalf("sample-data: %s", errOut)
	}
	specPath := filepath.Join(home, "job.yaml")
	yaml := `job_name: long_running
dataset_folder: data/training
channels:
  test: data/test
hyperparameters:
  epochs: "100000"
  early_stopping_patience: "100000"
  lr_patience: "100000"
  min_samples: "10"
  hidden_sizes: "16"
`
	if err := os.WriteFile(specPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := jobsRun(t, home, "submit", specPath, "--idempotency-key", "k1", "-o", "json")
	if code != 0 {
		t.Fatalf("submit (%d): %s", code, errOut)
	}
	var sub map[string]any
	jobsDecode(t, out, &sub)
	id, _ := sub["id"].(string)
	if id == "" || sub["created"] != true {
		t.Fatalf("submit: %s", out)
	}
	// Same key: the same job.
	out, _, _ = jobsRun(t, home, "submit", specPath, "--idempotency-key", "k1", "-o", "json")
	var again map[string]any
	jobsDecode(t, out, &again)
	if again["id"] != id || again["created"] != false {
		t.Fatalf("resubmit: %s", out)
	}
	// The command has returned; the job trains on.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ = jobsRun(t, home, "status", id, "-o", "json")
		var st map[string]any
		jobsDecode(t, out, &st)
		if st["status"] == "running" {
			break
		}
		if time.Now().After(deadline) || st["status"] == "failed" || st["status"] == "completed" {
			logs, _, _ := jobsRun(t, home, "logs", id)
			t.Fatalf("status: %s\n%s", out, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	out, errOut, code = jobsRun(t, home, "cancel", id, "--wait", "-o", "json")
	var st map[string]any
	jobsDecode(t, out, &st)
	if code != 0 || st["status"] != "stopped" {
		t.Fatalf("cancel --wait (%d): %s %s", code, out, errOut)
	}
	out, _, code = jobsRun(t, home, "list", "--status", "stopped", "--name", "long", "-o", "json")
	if code != 0 || !strings.Contains(out, id) {
		t.Fatalf("list --status stopped: %s", out)
	}
	if _, errOut, code = jobsRun(t, home, "report", id); code == 0 || !strings.Contains(errOut, "has no report") {
		t.Fatalf("report of a stopped job exited %d: %s", code, errOut)
	}
}

// The process following a job is killed (SIGKILL) while the job trains; a
// new process picks it up and the job is recorded completed exactly once,
// with its report.
func TestKilledWatcherThenANewProcessRecordsTheJobOnce(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	data := filepath.Join(home, "data")
	if _, errOut, code := jobsRun(t, home, "sample-data", data, "--train", "160", "--test", "40", "--size", "32"); code != 0 {
		t.Fatalf("sample-data: %s", errOut)
	}
	specPath := filepath.Join(home, "job.json")
	spec := `{"job_name": "killed-watcher", "dataset_folder": "data/training", "channels": {"test": "data/test"},
  "hyperparameters": {"epochs": "25", "min_samples": "15", "hidden_sizes": "32,16"}}`
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := jobsRun(t, home, "submit", specPath, "-o", "json")
	if code != 0 {
		t.Fatalf("submit: %s", errOut)
	}
	var sub struct{ ID string }
	jobsDecode(t, out, &sub)

	watcher := exec.Command(jobsBuildBinary(t), "status", "--watch", sub.ID)
	watcher.Env = jobsEnvFor(home)
	wout := &testpeer.SyncBuffer{}
	watcher.Stdout, watcher.Stderr = wout, wout
	if err := watcher.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(wout.String(), "epoch") {
		if time.Now().After(deadline) {
			_ = watcher.Process.Kill()
			_ = watcher.Wait()
			t.Fatalf("the watcher never saw an epoch:\n%s", wout.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = watcher.Process.Kill()
	_ = watcher.Wait()

	out, errOut, code = jobsRun(t, home, "status", "--watch", sub.ID, "-o", "json")
	if code != 0 {
		t.Fatalf("second watcher (%d): %s", code, errOut)
	}
	var st struct {
		Status string
		Events []struct{ Status string }
	}
	jobsDecode(t, out, &st)
	completed := 0
	for _, e := range st.Events {
		if e.Status == "completed" {
			completed++
		}
	}
	if st.Status != "completed" || completed != 1 {
		t.Fatalf("after the restart: %s with %d completed events", st.Status, completed)
	}
	if _, errOut, code := jobsRun(t, home, "report", sub.ID, "-o", "json"); code != 0 {
		t.Fatalf("report: %s", errOut)
	}
}
