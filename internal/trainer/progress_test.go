package trainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProgressRecordInTheLogAndTheFile(t *testing.T) {
	root := newRoot(t, fastHP())
	out := runOK(t, root)
	var last Progress
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, ProgressPrefix); ok {
			if err := json.Unmarshal([]byte(rest), &last); err != nil {
				t.Fatalf("progress line %q: %v", line, err)
			}
			n++
		}
	}
	if n < 4 || last.GroupsTotal != 4 || last.GroupsDone != 4 || last.TotalEpochs != 8 || last.ETASeconds == nil || *last.ETASeconds != 0 || last.Host != "algo-1" {
		t.Fatalf("%d progress lines, the last %+v", n, last)
	}
	var onDisk Progress
	if err := json.Unmarshal(readFile(t, filepath.Join(root, "output", ProgressFile)), &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.GroupsDone != last.GroupsDone || onDisk.At != last.At || onDisk.Group != last.Group {
		t.Fatalf("progress.json %+v, last line %+v", onDisk, last)
	}
	if _, err := os.Stat(filepath.Join(root, "output", "data", ProgressFile)); err == nil {
		t.Fatal("progress.json must not go into output.tar.gz")
	}
}
