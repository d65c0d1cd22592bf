package testpeer

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildSagetrain builds this module's sagetrain command into dir and returns
// the binary's path. Tests that run the real trainer (as a child process,
// the way the local backend and the SageMaker emulator do) call it once.
func BuildSagetrain(dir string) (string, error) {
	bin := filepath.Join(dir, "sagetrain")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/sagetrain/sagetrain/cmd/sagetrain").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build sagetrain: %w\n%s", err, out)
	}
	return bin, nil
}
