package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	i := Get()
	if i.GoVersion != runtime.Version() {
		t.Fatalf("GoVersion = %q, want %q", i.GoVersion, runtime.Version())
	}
	if i.Version == "" {
		t.Fatal("empty Version")
	}
	if !strings.Contains(i.String(), i.GoVersion) {
		t.Fatalf("String() = %q lacks the Go version", i.String())
	}
}

func TestStringShortensRevision(t *testing.T) {
	s := Info{Version: "v1.0.0", Revision: "0123456789abcdef0123", Dirty: true, GoVersion: "go1.26.8"}.String()
	if s != "v1.0.0 (0123456789ab, dirty) go1.26.8" {
		t.Fatalf("String() = %q", s)
	}
}
