package data

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A server file given as metadata (the shape of /proc/self/environ: one
// line, NUL-separated secrets) must not come back in the error.
func TestMetadataErrorCarriesNoFileContents(t *testing.T) {
	dir := t.TempDir()
	secret := "AWS_SECRET_ACCESS_KEY=CanarySecret7f3a9Q"
	env := "PATH=/usr/bin\x00HOME=/root\x00" + secret + "\x00SAGETRAIN_API_TOKENS=tok-0123456789abcdef\x00"
	p := filepath.Join(dir, "environ")
	if err := os.WriteFile(p, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Scan(dir, p)
	if err == nil {
		t.Fatal("an environ file was accepted as metadata")
	}
	if strings.Contains(err.Error(), "CanarySecret") || strings.ContainsRune(err.Error(), 0) {
		t.Fatalf("the error echoes the file: %q", err)
	}
	// A first line of many columns: none of the later ones are named.
	cols := []string{}
	for i := range 40 {
		cols = append(cols, "col"+strings.Repeat("x", 100)+string(rune('a'+i%26)))
	}
	if err := os.WriteFile(p, []byte(strings.Join(cols, ",")+"\n"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Scan(dir, p)
	if err == nil || len(err.Error()) > 1000 || strings.Contains(err.Error(), "Canary") {
		t.Fatalf("error of a wide header is %d bytes: %v", len(err.Error()), err)
	}
}

func TestMetadataMustBeRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "metadata.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := Scan(dir, fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a FIFO as metadata: %v", err)
	}
	if _, err := Scan(dir, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a FIFO found as metadata.csv: %v", err)
	}
}

// Values quoted in the report are short and escaped.
func TestReportExamplesAreExcerpts(t *testing.T) {
	dir := t.TempDir()
	bad := strings.Repeat("Z", 5000) + "\x1b]0;owned\x07"
	csv := "filename,age_years,subject,expert_label\na.png,7,house," + bad + "\n"
	if err := os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	ch, _ := Scan(dir, "")
	if ch == nil {
		t.Fatal("no channel")
	}
	for _, p := range ch.Report.Problems {
		for _, ex := range p.Examples {
			if len(ex) > 300 || strings.ContainsAny(ex, "\x1b\x07") {
				t.Fatalf("example %q (%d bytes)", ex[:min(len(ex), 80)], len(ex))
			}
		}
	}
}
