package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

// A plot that is a link (to a server file, or to another plot) or lies
// outside the job's artifact folder is not served.
func TestPlotsAreServedOnlyAsRegularFilesOfTheArtifactFolder(t *testing.T) {
	h := newHarness(t, nil)
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"links"}`, 201, &j)
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePNG(t, filepath.Join(dir, "model", "ok.png"))
	writePNG(t, filepath.Join(outside, "foreign.png"))
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "model", "passwd.png")))
	must(os.Symlink("ok.png", filepath.Join(dir, "model", "alias.png")))
	must(os.Symlink(outside, filepath.Join(dir, "linked")))
	plots := []string{filepath.Join(dir, "model", "ok.png"), filepath.Join(dir, "model", "passwd.png"), filepath.Join(dir, "model", "alias.png"),
		filepath.Join(dir, "linked", "foreign.png"), filepath.Join(outside, "away.png")}
	writePNG(t, filepath.Join(outside, "away.png"))
	rep, _ := json.Marshal(testReport{Plots: plots, Dir: dir})
	h.finish(j.ID, store.StatusCompleted, func(job *store.Job) { job.Report = rep })
	for name, want := range map[string]int{"ok.png": 200, "passwd.png": 404, "alias.png": 404, "foreign.png": 404, "away.png": 404} {
		code, b, _ := h.do("GET", Prefix+"/jobs/"+j.ID+"/plots/"+name, testToken, nil)
		if code != want {
			t.Errorf("%s = %d, want %d: %.100s", name, code, want, b)
		}
	}
}
