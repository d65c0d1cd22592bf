package cli

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/image"
)

// imageTrainerSource decides, before anything is created, where the
// image's trainer comes from: the source tree around --source (or the
// working folder) when there is one and Go to compile it, else this very
// binary when it is a static linux build of the target architecture. An
// installed sagetrain thus builds its own image with no source and no Go.
// Otherwise the error says exactly how to get one that can.
func imageTrainerSource(ctx context.Context, o *image.BuildOptions) error {
	src := o.Source
	if src == "" {
		src = "."
	}
	goCmd := o.GoCommand
	if goCmd == "" {
		goCmd = "go"
	}
	if _, err := exec.LookPath(goCmd); err == nil {
		if _, err := image.ModuleRoot(ctx, goCmd, src); err == nil {
			return nil // compile the source, as before
		}
	}
	if o.Source != "" {
		_, err := image.ModuleRoot(ctx, goCmd, src)
		return err
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return errs.Configuration("cannot find this sagetrain binary to use as the image's trainer", imageTrainerFix(o.Platform), err)
	}
	if why := staticLinuxBinary(exe, o.Platform); why != "" {
		return errs.Configuration(fmt.Sprintf("no trainer for the image: the folder %s is not sagetrain's source tree and this binary (%s) %s", absOr(src), exe, why),
			imageTrainerFix(o.Platform), nil)
	}
	o.Binary = exe
	return nil
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func imageTrainerFix(p v1.Platform) string {
	arch := p.Architecture
	if arch == "" {
		arch = "amd64"
	}
	return "install a static linux/" + arch + " sagetrain and run that one: CGO_ENABLED=0 GOOS=linux GOARCH=" + arch +
		" go install github.com/sagetrain/sagetrain/cmd/sagetrain@latest; or run from sagetrain's source tree (or --source DIR); or pass --image-uri of an image already pushed (setup)"
}

// staticLinuxBinary says why path cannot be the trainer of a p image, or "".
func staticLinuxBinary(path string, p v1.Platform) string {
	f, err := elf.Open(path)
	if err != nil {
		return "is not a linux (ELF) binary"
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[cmpOr(p.Architecture, "amd64")]
	if f.Machine != want {
		return fmt.Sprintf("is built for %s, not linux/%s", strings.TrimPrefix(f.Machine.String(), "EM_"), cmpOr(p.Architecture, "amd64"))
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "is dynamically linked (built with cgo); the image has no C library"
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return "is dynamically linked against " + strings.Join(libs, ", ")
	}
	return ""
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
