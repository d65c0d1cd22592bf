package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// One job whose state file cannot be read never blocks the others: that
// job alone is affected, and fails with the reason once it stays so.
func TestPoisonedStateFileDoesNotBlockOtherJobs(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	b.faults.grace = 500 * time.Millisecond
	ctx := context.Background()
	if _, err := b.Create(ctx, request("poisoned", dataset(t), "", "sleep", 1)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, b, "poisoned", "epoch 1 started")
	if obs, err := b.Refresh(ctx, []string{"poisoned"}); err != nil || obs["poisoned"].Status != store.StatusRunning {
		t.Fatalf("before the fault: %v %v", obs, err)
	}
	if _, err := b.Create(ctx, request("healthy", dataset(t), "", "ok", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "healthy", 30*time.Second)
	if err := os.WriteFile(filepath.Join(b.JobDir("poisoned"), fileState), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	obs, err := b.Refresh(ctx, []string{"poisoned", "healthy"})
	if err != nil {
		t.Fatalf("one unreadable job failed the whole refresh: %v", err)
	}
	if obs["healthy"].Status != store.StatusCompleted {
		t.Fatalf("the healthy job: %+v", obs["healthy"])
	}
	if p := obs["poisoned"]; p.Status != store.StatusRunning || !strings.Contains(p.Message, "cannot read") {
		t.Fatalf("the poisoned job at first: %+v", p)
	}
	time.Sleep(600 * time.Millisecond)
	obs, err = b.Refresh(ctx, []string{"poisoned", "healthy"})
	if err != nil || obs["healthy"].Status != store.StatusCompleted {
		t.Fatalf("%v %v", obs, err)
	}
	if p := obs["poisoned"]; p.Status != store.StatusFailed || !strings.Contains(p.FailureReason, "could not be read") {
		t.Fatalf("the poisoned job after the grace: %+v", p)
	}
	_ = b.Stop(ctx, "poisoned")
	// Let the runner end before the folder is removed.
	var pf pidFile
	if readJSON(filepath.Join(b.JobDir("poisoned"), filePid), &pf) == nil {
		for deadline := time.Now().Add(20 * time.Second); pf.alive() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
}
