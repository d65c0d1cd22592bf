package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// The trainer's environment is built, not inherited: a job that prints its
// environment sees none of the server's variables. (Not parallel: it sets
// the test process's environment, which the runner inherits.)
func TestTrainerEnvironmentIsClean(t *testing.T) {
	const canary = "CanarySecret7f3a9Q"
	t.Setenv("AWS_SECRET_ACCESS_KEY", canary)
	t.Setenv("SAGETRAIN_API_TOKENS", "tok-"+canary)
	t.Setenv("SAGETRAIN_DB", "postgres://u:"+canary+"@db/x")
	t.Setenv("SERVER_ONLY_VARIABLE", canary)
	b := newBackend(t, time.Second)
	if _, err := b.Create(context.Background(), request("env-job", dataset(t), "", "env", 1)); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "env-job", 30*time.Second)
	log, _ := os.ReadFile(filepath.Join(b.JobDir("env-job"), fileLog))
	if obs.Status != store.StatusCompleted {
		t.Fatalf("job %s: %s\n%s", obs.Status, obs.FailureReason, log)
	}
	if strings.Contains(string(log), canary) {
		t.Fatalf("the server's environment reached the job:\n%s", log)
	}
	for _, want := range []string{"env: TRAINING_JOB_NAME=env-job", "env: EXTRA=x1", "env: PATH=" + trainerPath, "env: SAGETRAIN_CURRENT_HOST=algo-1", "env: HOME="} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the job lacks %q:\n%s", want, log)
		}
	}
}

func TestLoaderAndCredentialVariablesAreRefused(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	for _, name := range []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "GCONV_PATH", "PATH", "HOME", "SAGETRAIN_ML_ROOT", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "ld_preload"} {
		req := request("refused", dataset(t), "", "ok", 1)
		req.Environment = map[string]string{name: "/tmp/evil.so"}
		_, err := b.Create(context.Background(), req)
		if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(b.JobDir("refused")); err == nil {
		t.Fatal("a refused job got a folder")
	}
}
