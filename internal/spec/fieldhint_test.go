package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An unknown field is named with the nearest real one, in YAML and JSON,
// and without Go's type names.
func TestUnknownFieldDidYouMean(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"job.yaml": "job_name: x\ndataset_foldr: ./d\n",
		"job.json": `{"job_name": "x", "dataset_foldr": "./d"}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), "unknown field dataset_foldr (did you mean dataset_folder?)") ||
			strings.Contains(err.Error(), "spec.Spec") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Paths in a spec are the spec folder's, and absolute once loaded, so the
// stored spec means the same folders from any working directory.
func TestSpecPathsAreTheSpecFolders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte("job_name: x\ndataset_folder: ./drawings/training\nchannels:\n  test: drawings/test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	rel, err := filepath.Rel(".", filepath.Join(dir, "job.yaml"))
	if err != nil {
		rel = filepath.Join(dir, "job.yaml")
	}
	s, err := Load(rel)
	if err != nil {
		t.Fatal(err)
	}
	if s.DatasetFolder != filepath.Join(dir, "drawings/training") || s.Channels["test"] != filepath.Join(dir, "drawings/test") {
		t.Errorf("paths: %q %q", s.DatasetFolder, s.Channels["test"])
	}
}
