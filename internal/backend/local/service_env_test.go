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

// The job service's own variables (the provenance digests) reach the
// trainer, though a caller may not set SAGETRAIN_* names in the job's
// environment; the service may give only SAGETRAIN_* names that way.
func TestServiceVariablesReachTheTrainer(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	ctx := context.Background()
	forged := request("forged", dataset(t), "", "env", 1)
	forged.Environment = map[string]string{"SAGETRAIN_DATA_DIGEST": "sha256:forged"}
	if _, err := b.Create(ctx, forged); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("a caller's SAGETRAIN_DATA_DIGEST: %v", err)
	}
	if _, err := b.CreateWithServiceEnv(ctx, request("loader", dataset(t), "", "env", 1), map[string]string{"LD_PRELOAD": "/tmp/evil.so"}); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("a service variable outside SAGETRAIN_*: %v", err)
	}
	if _, err := b.CreateWithServiceEnv(ctx, request("pinned", dataset(t), "", "env", 1), map[string]string{"SAGETRAIN_DATA_DIGEST": "sha256:pinned"}); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "pinned", 30*time.Second)
	log, _ := os.ReadFile(filepath.Join(b.JobDir("pinned"), fileLog))
	if obs.Status != store.StatusCompleted {
		t.Fatalf("job %s: %s\n%s", obs.Status, obs.FailureReason, log)
	}
	if !strings.Contains(string(log), "env: SAGETRAIN_DATA_DIGEST=sha256:pinned") {
		t.Fatalf("the service's variable did not reach the trainer:\n%s", log)
	}
}
