package jobs

import (
	"os"
	"path/filepath"
	"testing"
)

// Leftover .partial-* folders of a killed collection go at start-up; one a
// live collection holds stays.
func TestRemovePartialLeavesLiveCollections(t *testing.T) {
	root := t.TempDir()
	s := New(nil, Options{ArtifactRoot: root})
	stale := filepath.Join(root, "01JOB.partial-dead")
	live := filepath.Join(root, "01JOC.partial-live")
	done := filepath.Join(root, "01JOD")
	for _, d := range []string{filepath.Join(stale, "download"), live, done} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unlock := lockPartial(live)
	defer unlock()
	if n := s.RemovePartial(); n != 1 {
		t.Fatalf("removed %d, want 1", n)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("the stale partial folder is still there")
	}
	for _, d := range []string{live, done} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s was removed", d)
		}
	}
}
