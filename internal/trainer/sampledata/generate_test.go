package sampledata

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	opts := Options{Train: 24, Test: 16, Size: 64, Seed: 7}
	if _, err := Generate(a, opts); err != nil {
		t.Fatal(err)
	}
	opts.Workers = 1 // the worker count must not change the bytes
	if _, err := Generate(b, opts); err != nil {
		t.Fatal(err)
	}
	opts.Seed = 8
	if _, err := Generate(c, opts); err != nil {
		t.Fatal(err)
	}
	ta, tb, tc := readTree(t, a), readTree(t, b), readTree(t, c)
	if len(ta) != 24+16+2 {
		t.Fatalf("%d files, want %d", len(ta), 42)
	}
	for name, content := range ta {
		if !bytes.Equal(content, tb[name]) {
			t.Fatalf("%s differs between two runs with the same seed", name)
		}
	}
	differ := 0
	for name, content := range ta {
		if !bytes.Equal(content, tc[name]) {
			differ++
		}
	}
	if differ < 30 {
		t.Fatalf("only %d files differ with another seed", differ)
	}
}

func TestGenerateChannelsAreValid(t *testing.T) {
	dir := t.TempDir()
	s, err := Generate(dir, Options{Train: 40, Test: 40, AnomalyRate: 0.5, Size: 48, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Training.Labels["normal"] != 40 {
		t.Fatalf("training labels %v: want only normal", s.Training.Labels)
	}
	if got := s.Test.Labels["concern"] + s.Test.Labels["severe"]; got != 20 {
		t.Fatalf("test anomalies %d, want 20 (rate 0.5 of 40)", got)
	}
	for _, ch := range []string{"training", "test"} {
		c, err := data.Scan(filepath.Join(dir, ch), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Items) != 40 || c.Report.Skipped != 0 {
			t.Fatalf("%s: %d usable, report %s", ch, len(c.Items), c.Report)
		}
		for _, it := range c.Items {
			if it.AgeYears < 2 || it.AgeYears >= 19 {
				t.Fatalf("age %v out of range", it.AgeYears)
			}
			if !data.KnownSubject(it.Subject) || data.SubjectIndex(it.Subject) == 0 {
				t.Fatalf("subject %q not in the table", it.Subject)
			}
		}
		if err := c.VerifyImages(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.Open(filepath.Join(dir, "test", "metadata.csv"))
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || recs[0][0] != "filename" || recs[0][3] != "expert_label" {
		t.Fatalf("header %v err %v", recs[0], err)
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Size: 8}, {AnomalyRate: 2}, {Train: -1, Test: -1}} {
		if _, err := Generate(t.TempDir(), o); err == nil {
			t.Fatalf("options %+v accepted", o)
		}
	}
}
