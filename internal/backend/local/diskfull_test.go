package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// A job that fills its disk ends failed with "no space left on device" and
// where, not running forever and then interrupted. The disk is a small
// tmpfs the test mounts (root only; skipped elsewhere).
func TestDiskFullFailsTheJobWithTheReason(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	b, err := New(Options{Root: filepath.Join(mnt, "jobs"), StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(context.Background(), request("full", dataset(t), "", "fill", 1)); err != nil {
		t.Fatal(err)
	}
	obs := waitFor(t, b, "full", 60*time.Second)
	log, _ := os.ReadFile(filepath.Join(b.JobDir("full"), fileLog))
	if obs.Status != store.StatusFailed || !strings.Contains(obs.FailureReason, "no space left on device") || !strings.Contains(obs.FailureReason, mnt) {
		t.Fatalf("observation %s %q\nlog:\n%s", obs.Status, obs.FailureReason, log)
	}
	if strings.Contains(obs.FailureReason, "interrupted") {
		t.Fatalf("reason %q", obs.FailureReason)
	}
}
