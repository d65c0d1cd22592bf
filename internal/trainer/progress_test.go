package trainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

func TestProgressRecordInTheLogAndTheFile(t *testing.T) {
	root := newRoot(t, fastHP())
	out := runOK(t, root)
	var last progress.Record
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, progress.Prefix) {
			rec, ok := progress.Parse(line).(progress.Record)
			if !ok {
				t.Fatalf("progress line %q does not parse", line)
			}
			last = rec
			n++
		}
	}
	if n < 4 || last.GroupsTotal != 4 || last.GroupsDone != 4 || last.TotalEpochs != 8 || last.ETASeconds == nil || *last.ETASeconds != 0 || last.Host != "algo-1" {
		t.Fatalf("%d progress lines, the last %+v", n, last)
	}
	var onDisk progress.Record
	if err := json.Unmarshal(readFile(t, filepath.Join(root, "output", progress.File)), &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.GroupsDone != last.GroupsDone || onDisk.At != last.At || onDisk.Group != last.Group {
		t.Fatalf("progress.json %+v, last line %+v", onDisk, last)
	}
	if _, err := os.Stat(filepath.Join(root, "output", "data", progress.File)); err == nil {
		t.Fatal("progress.json must not go into output.tar.gz")
	}
}
