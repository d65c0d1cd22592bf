package container

import (
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	if got, want := Path("/tmp/r", DataDir, "training"), filepath.Join("/tmp/r", "input", "data", "training"); got != want {
		t.Fatalf("Path = %q, want %q", got, want)
	}
	if got := Path(DefaultRoot, FailureFile); got != "/opt/ml/output/failure" {
		t.Fatalf("failure file at %q, want SageMaker's /opt/ml/output/failure", got)
	}
}
