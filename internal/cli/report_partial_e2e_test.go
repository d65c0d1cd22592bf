package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A local job with several age groups, cancelled once its first group has
// finished, has a partial report that lists that group as finished and
// the rest as not trained; the text report says it is partial.
func TestStoppedJobHasPartialReport(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	job := sweepData(t, home, "100", "early_stopping_patience=100")
	out, errOut, code := jobsRun(t, home, "submit", job, "-o", "json")
	if code != 0 {
		t.Fatalf("submit: %s", errOut)
	}
	var j jobView
	jobsDecode(t, out, &j)
	if _, _, code := jobsRun(t, home, "report", j.ID); code == 0 {
		t.Fatal("a running job has a report")
	}
	logPath := filepath.Join(home, ".local", "share", "sagetrain", "local-jobs", j.RemoteName, "job.log")
	finished := regexp.MustCompile(`group (\S+): \d+ epochs in`)
	var first string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		if m := finished.FindSubmatch(b); m != nil {
			first = string(m[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no age group finished:\n%s", b)
		}
	}
	if _, errOut, code := jobsRun(t, home, "cancel", j.ID, "--wait"); code != 0 {
		t.Fatalf("cancel: %s", errOut)
	}
	out, errOut, code = jobsRun(t, home, "report", j.ID, "-o", "json")
	if code != 0 {
		t.Fatalf("report of the stopped job: %s", errOut)
	}
	var rep struct {
		Status         string `json:"status"`
		Partial        bool   `json:"partial"`
		GroupsFinished []struct {
			Name    string  `json:"name"`
			ValLoss float64 `json:"val_loss"`
		} `json:"groups_finished"`
		GroupsNotTrained []string `json:"groups_not_trained"`
		OutputDir        string   `json:"output_dir"`
	}
	jobsDecode(t, out, &rep)
	if rep.Status != "stopped" || !rep.Partial {
		t.Fatalf("report: status %s partial %v, want a partial report of a stopped job:\n%s", rep.Status, rep.Partial, out)
	}
	names := map[string]bool{}
	for _, g := range rep.GroupsFinished {
		names[g.Name] = true
		if !(g.ValLoss > 0) {
			t.Errorf("finished group %s has val_loss %v", g.Name, g.ValLoss)
		}
	}
	if !names[first] {
		t.Fatalf("the partial report does not list group %s, which finished before the cancel:\n%s", first, out)
	}
	if len(rep.GroupsNotTrained) == 0 {
		t.Fatalf("the partial report lists no group as not trained:\n%s", out)
	}
	for _, g := range rep.GroupsNotTrained {
		if names[g] {
			t.Fatalf("group %s is both finished and not trained:\n%s", g, out)
		}
	}
	if _, err := os.Stat(filepath.Join(rep.OutputDir, "partial.json")); err != nil {
		t.Fatalf("the trainer's partial.json is not among the collected output: %v", err)
	}
	text, errOut, code := jobsRun(t, home, "report", j.ID)
	if code != 0 || !strings.Contains(text, "PARTIAL") || !strings.Contains(text, "not trained: "+strings.Join(rep.GroupsNotTrained, ", ")) {
		t.Fatalf("text report (exit %d) does not say it is partial:\n%s%s", code, text, errOut)
	}
}
