package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A local job cancelled part way and resumed ends with the same model bytes
// as an uninterrupted run of the same spec.
func TestResumeAfterCancelEqualsUninterrupted(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	job := sweepData(t, home, "100", "early_stopping_patience=100")

	out, errOut, code := jobsRun(t, home, "submit", job, "--wait", "-o", "json")
	if code != 0 {
		t.Fatalf("uninterrupted run: %s", errOut)
	}
	var whole jobView
	jobsDecode(t, out, &whole)

	out, errOut, code = jobsRun(t, home, "submit", job, "-o", "json")
	if code != 0 {
		t.Fatalf("submit: %s", errOut)
	}
	var cut jobView
	jobsDecode(t, out, &cut)
	// Cancel once the first age group has finished and the next is training.
	logPath := filepath.Join(home, ".local", "share", "sagetrain", "local-jobs", cut.RemoteName, "job.log")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte(" epochs in")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no age group finished:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, errOut, code := jobsRun(t, home, "cancel", cut.ID, "--wait"); code != 0 {
		t.Fatalf("cancel: %s", errOut)
	}
	out, _, _ = jobsRun(t, home, "status", cut.ID, "-o", "json")
	jobsDecode(t, out, &cut)
	if cut.Status != "stopped" {
		t.Fatalf("the cancelled job is %s (it finished before the cancel reached it?)", cut.Status)
	}
	// A stopped job cannot be resumed before it ends, and a completed one not at all.
	if _, errOut, code := jobsRun(t, home, "resume", whole.ID); code == 0 || !strings.Contains(errOut, "nothing to resume") {
		t.Fatalf("resume of a completed job: exit %d, %s", code, errOut)
	}

	out, errOut, code = jobsRun(t, home, "resume", cut.ID, "--wait", "-o", "json")
	if code != 0 {
		t.Fatalf("resume: %s", errOut)
	}
	var resumed struct {
		jobView
		ResumedFromJob string `json:"resumed_from_job"`
		ResumeFrom     string `json:"resume_from"`
	}
	jobsDecode(t, out, &resumed)
	if resumed.Status != "completed" || resumed.ResumedFromJob != cut.ID || !strings.HasPrefix(resumed.ResumeFrom, "file://") {
		t.Fatalf("resumed job: %+v", resumed)
	}
	logs, _, _ := jobsRun(t, home, "logs", resumed.ID)
	if !strings.Contains(logs, "already trained (checkpoint)") || !strings.Contains(logs, "resuming from checkpoint after epoch") {
		t.Fatalf("the resumed job's log does not say what it resumed:\n%s", logs)
	}
	// Resuming again returns the same job.
	out, _, _ = jobsRun(t, home, "resume", cut.ID, "-o", "json")
	var again jobView
	jobsDecode(t, out, &again)
	if again.ID != resumed.ID {
		t.Fatalf("a second resume made job %s, not %s", again.ID, resumed.ID)
	}

	modelDir := func(id string) string {
		var rep struct {
			ModelDir string `json:"model_dir"`
		}
		out, errOut, code := jobsRun(t, home, "report", id, "-o", "json")
		if code != 0 {
			t.Fatalf("report %s: %s", id, errOut)
		}
		jobsDecode(t, out, &rep)
		return rep.ModelDir
	}
	a, b := modelDir(whole.ID), modelDir(resumed.ID)
	for _, f := range []string{"weights.bin", "model.json", "metrics.json"} {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s of the resumed job differs from the uninterrupted run's", f)
		}
	}
}
