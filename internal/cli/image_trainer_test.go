package cli

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sagetrain/sagetrain/internal/image"
)

// Only a static linux binary of the target architecture can be the image's
// trainer; anything else is said, with the fix, before anything is created.
func TestImageTrainerSource(t *testing.T) {
	amd, arm := v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"}
	if why := staticLinuxBinary("/bin/ls", amd); !strings.Contains(why, "dynamically linked") {
		t.Errorf("/bin/ls: %q", why)
	}
	if why := staticLinuxBinary("/etc/passwd", amd); !strings.Contains(why, "not a linux (ELF) binary") {
		t.Errorf("/etc/passwd: %q", why)
	}
	if why := staticLinuxBinary("/bin/ls", arm); !strings.Contains(why, "not linux/arm64") {
		t.Errorf("/bin/ls for arm64: %q", why)
	}
	// Outside any module, the test binary (dynamic or not this program)
	// is refused with the exact fix.
	t.Chdir(t.TempDir())
	o := image.BuildOptions{Platform: arm}
	err := imageTrainerSource(context.Background(), &o)
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go install") || o.Binary != "" {
		t.Errorf("no source, wrong binary: %v (binary %q)", err, o.Binary)
	}
}
