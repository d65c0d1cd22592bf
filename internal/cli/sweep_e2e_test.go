package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// Sweeps through the built binary, as a user runs them.

type sweepOut struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Objective struct {
		Metric string `json:"metric"`
		Goal   string `json:"goal"`
	} `json:"objective"`
	Trials []sweepTrialOut `json:"trials"`
	Best   *sweepTrialOut  `json:"best"`
}

type sweepTrialOut struct {
	ID             string            `json:"id"`
	Ordinal        int               `json:"ordinal"`
	Status         string            `json:"status"`
	Params         map[string]string `json:"params"`
	ObjectiveValue *float64          `json:"objective_value"`
	Rank           int               `json:"rank"`
}

// sweepData writes a small sample data set and a spec of epochs epochs.
func sweepData(t *testing.T, home, epochs string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	if _, errOut, code := jobsRun(t, home, "sample-data", filepath.Join(dir, "data"), "--train", "300", "--test", "80", "--size", "32"); code != 0 {
		t.Fatalf("sample-data: %s", errOut)
	}
	job := filepath.Join(dir, "job.yaml")
	body := fmt.Sprintf("job_name: sweep_e2e\ndataset_folder: %s\nchannels:\n  test: %s\nhyperparameters:\n  epochs: %q\n",
		filepath.Join(dir, "data", "training"), filepath.Join(dir, "data", "test"), epochs)
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		body += fmt.Sprintf("  %s: %q\n", k, v)
	}
	if err := os.WriteFile(job, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return job
}

// sweepCheckDone checks a finished 2x2 sweep: 4 trials completed, each
// objective value the trial's own report's test_auroc, ranked best first,
// the best the highest, and never more than 2 trials alive at once.
func sweepCheckDone(t *testing.T, home string, sw sweepOut) {
	t.Helper()
	if sw.Status != "completed" || len(sw.Trials) != 4 {
		t.Fatalf("sweep %s: status %s, %d trials", sw.ID, sw.Status, len(sw.Trials))
	}
	type span struct{ from, to time.Time }
	var spans []span
	grid := map[string]bool{}
	for i, tr := range sw.Trials {
		if tr.Status != "completed" || tr.ObjectiveValue == nil {
			t.Fatalf("trial %+v did not complete with a value", tr)
		}
		grid[tr.Params["hyperparameters.learning_rate"]+"/"+tr.Params["hyperparameters.dropout"]] = true
		var rep struct {
			Metrics map[string]any `json:"metrics"`
		}
		out, errOut, code := jobsRun(t, home, "report", tr.ID, "-o", "json")
		if code != 0 {
			t.Fatalf("report %s: %s", tr.ID, errOut)
		}
		jobsDecode(t, out, &rep)
		if auc, _ := rep.Metrics["test_auroc"].(float64); auc != *tr.ObjectiveValue {
			t.Fatalf("trial %d: objective %v, its report says test_auroc %v", tr.Ordinal, *tr.ObjectiveValue, rep.Metrics["test_auroc"])
		}
		if i > 0 && *sw.Trials[i-1].ObjectiveValue < *tr.ObjectiveValue {
			t.Fatalf("trials not ranked best first: %v before %v", *sw.Trials[i-1].ObjectiveValue, *tr.ObjectiveValue)
		}
		if tr.Rank != i+1 {
			t.Fatalf("trial at %d has rank %d", i, tr.Rank)
		}
		var j jobView
		out, errOut, code = jobsRun(t, home, "status", tr.ID, "-o", "json")
		if code != 0 {
			t.Fatalf("status %s: %s", tr.ID, errOut)
		}
		jobsDecode(t, out, &j)
		if j.EndedAt == nil {
			t.Fatalf("trial job %s has no end time", tr.ID)
		}
		spans = append(spans, span{j.CreatedAt, *j.EndedAt})
	}
	for _, want := range []string{"0.001/0.0", "0.001/0.1", "0.003/0.0", "0.003/0.1"} {
		if !grid[want] {
			t.Fatalf("grid point %s missing: %v", want, grid)
		}
	}
	if sw.Best == nil || sw.Best.ID != sw.Trials[0].ID {
		t.Fatalf("best %+v is not the top trial %+v", sw.Best, sw.Trials[0])
	}
	// A trial's job is created only once a slot is free, and a slot frees
	// only once the store saw a trial end, so [created, ended] never overlap
	// more than max-parallel deep.
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, s := range spans {
		edges = append(edges, edge{s.from, 1}, edge{s.to, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].delta < edges[j].delta
	})
	live, most := 0, 0
	for _, e := range edges {
		live += e.delta
		most = max(most, live)
	}
	if most > 2 {
		t.Fatalf("%d trials were alive at once with --max-parallel 2: %v", most, spans)
	}
}

var sweepGridArgs = []string{"--grid", "hyperparameters.learning_rate=0.001,0.003", "--grid", "hyperparameters.dropout=0.0,0.1",
	"--objective", "test_auroc:max", "--max-parallel", "2"}

func TestSweepGridEndToEnd(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	job := sweepData(t, home, "4")
	out, errOut, code := jobsRun(t, home, append(append([]string{"sweep", job}, sweepGridArgs...), "--wait", "-o", "json")...)
	if code != 0 {
		t.Fatalf("sweep exited %d: %s", code, errOut)
	}
	var sw sweepOut
	jobsDecode(t, out, &sw)
	sweepCheckDone(t, home, sw)

	// list shows the sweep as one row; --sweep lists its trials.
	out, _, _ = jobsRun(t, home, "list", "-o", "json")
	var l struct {
		Jobs   []jobView  `json:"jobs"`
		Sweeps []sweepOut `json:"sweeps"`
	}
	jobsDecode(t, out, &l)
	if len(l.Jobs) != 0 || len(l.Sweeps) != 1 || l.Sweeps[0].ID != sw.ID {
		t.Fatalf("list: %d jobs, %d sweeps", len(l.Jobs), len(l.Sweeps))
	}
	out, _, _ = jobsRun(t, home, "list", "--sweep", sw.ID, "-o", "json")
	l.Jobs = nil
	jobsDecode(t, out, &l)
	if len(l.Jobs) != 4 {
		t.Fatalf("list --sweep: %d jobs", len(l.Jobs))
	}
	// compare of the best and the worst trial: the settings that differ
	// are the grid values that differ, and the metrics are their reports'.
	top, last := sw.Trials[0], sw.Trials[3]
	out, errOut, code = jobsRun(t, home, "compare", top.ID, last.ID, "-o", "json")
	if code != 0 {
		t.Fatalf("compare: %s", errOut)
	}
	var cmp struct {
		Differs map[string][]string             `json:"differs"`
		Metrics map[string][]*float64           `json:"metrics"`
		Groups  map[string]map[string][]float64 `json:"groups"`
	}
	jobsDecode(t, out, &cmp)
	for k, v := range top.Params {
		if d, differs := cmp.Differs[k]; differs != (v != last.Params[k]) || differs && (d[0] != v || d[1] != last.Params[k]) {
			t.Fatalf("compare says %s differs: %v; the trials have %s and %s", k, d, v, last.Params[k])
		}
	}
	if auc := cmp.Metrics["test_auroc"]; len(auc) != 2 || *auc[0] != *top.ObjectiveValue || *auc[1] != *last.ObjectiveValue {
		t.Fatalf("compare test_auroc %v, trials' %v and %v", auc, *top.ObjectiveValue, *last.ObjectiveValue)
	}
	if len(cmp.Groups) == 0 {
		t.Fatalf("compare shows no age groups: %s", out)
	}
	for g, ms := range cmp.Groups {
		if len(ms["val_loss"]) != 2 {
			t.Fatalf("group %s has no val_loss of both jobs: %v", g, ms)
		}
	}
	if _, errOut, code := jobsRun(t, home, "compare", top.ID); code != 2 {
		t.Fatalf("compare of one job: exit %d %s", code, errOut)
	}
	if _, errOut, code := jobsRun(t, home, "compare", top.ID, last.ID, "--metric", "no_such_metric"); code == 0 || !strings.Contains(errOut, "no_such_metric") {
		t.Fatalf("compare of an unknown metric: exit %d %s", code, errOut)
	}

	out, _, code = jobsRun(t, home, "status", sw.ID)
	if code != 0 || !strings.Contains(out, "RANK") || !strings.Contains(out, sw.Best.ID) {
		t.Fatalf("status of the sweep:\n%s", out)
	}
}

// A kill -9 of the process following the sweep loses nothing: a later
// `status --watch` carries it on to the end, still at most 2 at once.
func TestSweepSurvivesKill(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	job := sweepData(t, home, "4")
	cmd := exec.Command(jobsBuildBinary(t), append(append([]string{"sweep", job}, sweepGridArgs...), "--wait")...)
	cmd.Env = jobsEnvFor(home)
	stderr := &testpeer.SyncBuffer{} // the command writes it while the test reads it
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the first trials run.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "2 live") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the sweep never had 2 live trials:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	id := strings.Fields(stderr.String())[1]
	id = strings.TrimSuffix(id, ":")
	out, errOut, code := jobsRun(t, home, "status", id, "--watch", "-o", "json")
	if code != 0 {
		t.Fatalf("status --watch exited %d: %s", code, errOut)
	}
	var sw sweepOut
	jobsDecode(t, out, &sw)
	sweepCheckDone(t, home, sw)
}

// cancel SWEEP stops its live trials and starts no more.
func TestSweepCancel(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	job := sweepData(t, home, "500", "early_stopping_patience=500")
	out, errOut, code := jobsRun(t, home, "sweep", job, "--grid", "hyperparameters.learning_rate=0.001,0.002,0.003",
		"--objective", "val_loss:min", "--max-parallel", "2", "-o", "json")
	if code != 0 {
		t.Fatalf("sweep exited %d: %s", code, errOut)
	}
	var sw sweepOut
	jobsDecode(t, out, &sw)
	started := 0
	for _, tr := range sw.Trials {
		if tr.ID != "" {
			started++
		}
	}
	if started != 2 || sw.Status != "running" {
		t.Fatalf("after submit: status %s, %d trials started (want 2)", sw.Status, started)
	}
	out, errOut, code = jobsRun(t, home, "cancel", sw.ID, "--wait", "-o", "json")
	if code != 0 {
		t.Fatalf("cancel exited %d: %s", code, errOut)
	}
	jobsDecode(t, out, &sw)
	if sw.Status != "stopped" {
		t.Fatalf("cancelled sweep is %s", sw.Status)
	}
	for _, tr := range sw.Trials {
		if tr.Status != "stopped" {
			t.Fatalf("trial %d is %s after cancel", tr.Ordinal, tr.Status)
		}
		if tr.ID == "" {
			continue
		}
		var j jobView
		out, _, _ := jobsRun(t, home, "status", tr.ID, "-o", "json")
		jobsDecode(t, out, &j)
		if j.Status != "stopped" {
			t.Fatalf("trial job %s is %s", tr.ID, j.Status)
		}
	}
	out, _, _ = jobsRun(t, home, "list", "--trials", "-o", "json")
	var l struct {
		Jobs []jobView `json:"jobs"`
	}
	jobsDecode(t, out, &l)
	if len(l.Jobs) != 2 {
		t.Fatalf("the third trial started after cancel: %d jobs", len(l.Jobs))
	}
}
