package spec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeSpec(t *testing.T, keys int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("job_name: big\ndataset_folder: /d\nhyperparameters:\n")
	for i := range keys {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// 200,000 hyperparameter keys took minutes to decode: now the size limit
// refuses the file at once, and a mapping too wide for any field is
// refused before the decoder's pairwise key check.
func TestBigSpecsAreRefusedFast(t *testing.T) {
	for _, keys := range []int{200_000, 20_000} {
		p := writeSpec(t, keys)
		start := time.Now()
		_, err := Load(p)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("%d keys: %v after %s", keys, err, time.Since(start))
		}
		if keys == 200_000 && !strings.Contains(err.Error(), "larger than") {
			t.Errorf("200,000 keys: %v", err)
		}
		if keys == 20_000 && !strings.Contains(err.Error(), "entries") {
			t.Errorf("20,000 keys: %v", err)
		}
	}
	if _, err := Load(writeSpec(t, 50)); err != nil {
		t.Fatalf("a normal spec: %v", err)
	}
}

// A signal (the CLI's context) ends a load at once.
func TestLoadContextStopsOnCancel(t *testing.T) {
	// A FIFO nobody writes to: reading it blocks until cancelled.
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := mkfifo(p); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := LoadContext(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || time.Since(start) > 5*time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
	// Unblock the reader so the test leaves no goroutine stuck.
	if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
		f.Close()
	}
}
