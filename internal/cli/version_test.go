package cli

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
)

func TestVersionCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("version -o json: exit %d: %s", code, errOut)
	}
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("version -o json printed %q: %v", out, err)
	}
	if got != buildinfo.Get() || got.GoVersion != runtime.Version() {
		t.Fatalf("version -o json = %+v, want %+v", got, buildinfo.Get())
	}
	code, out, _ = runCLI(t, "version", "-o", "table")
	if code != 0 || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, got.Version) {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}
