package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestMain doubles as the "other process" of the reproducibility test: with
// SAGETRAIN_IMAGE_TEST_BUILD set it builds the fixture once, prints the
// digest and exits.
func TestMain(m *testing.M) {
	if out := os.Getenv("SAGETRAIN_IMAGE_TEST_BUILD"); out != "" {
		img, err := Build(context.Background(), BuildOptions{Source: os.Getenv("SAGETRAIN_IMAGE_TEST_SRC"), Revision: "fixture"})
		if err == nil {
			var p Published
			p, err = LayoutPublisher{Dir: out}.Publish(context.Background(), img)
			if err == nil {
				fmt.Println("DIGEST", p.Digest)
				os.Exit(0)
			}
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// Two separate processes, each with its own temporary folders and build,
// must produce the same digest, and so must this one.
func TestDigestReproducibleAcrossProcesses(t *testing.T) {
	t.Parallel()
	src := fixtureDir(t)
	run := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SAGETRAIN_IMAGE_TEST_BUILD="+t.TempDir(), "SAGETRAIN_IMAGE_TEST_SRC="+src)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("helper build: %v\n%s", err, stderr.String())
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if d, ok := strings.CutPrefix(l, "DIGEST "); ok {
				return d
			}
		}
		t.Fatalf("helper printed no digest: %q", out.String())
		return ""
	}
	a, b := run(), run()
	if a != b || !strings.HasPrefix(a, "sha256:") {
		t.Fatalf("digests differ across processes: %s vs %s", a, b)
	}
	here := digestOf(t, buildFixture(t, BuildOptions{Revision: "fixture"}))
	if here != a {
		t.Fatalf("in-process digest %s differs from %s", here, a)
	}
}

func TestImageShape(t *testing.T) {
	t.Parallel()
	created := time.Unix(1700000000, 0).UTC()
	addDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(addDir, "train.py"), []byte("print('hi')\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(addDir, "lib"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(addDir, "lib", "run.sh"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	img := buildFixture(t, BuildOptions{Created: created, Revision: "abc123",
		Adds: []Add{{Src: addDir, Dst: "/opt/program"}}})
	// ggcr's invariant checker: digests, sizes, diff IDs and the manifest agree
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != BinaryPath {
		t.Fatalf("entrypoint %v", got)
	}
	if got := cf.Config.Cmd; len(got) != 1 || got[0] != "train" {
		t.Fatalf("cmd %v, want [train] so that SageMaker's `train` runs the trainer", got)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(created) {
		t.Fatalf("config os/arch/created: %s/%s %v", cf.OS, cf.Architecture, cf.Created)
	}
	if cf.Config.Labels[LabelRevision] != "abc123" || cf.Config.Labels[LabelVersion] == "" ||
		!strings.HasPrefix(cf.Config.Labels[LabelGoVersion], "go") {
		t.Fatalf("labels %v", cf.Config.Labels)
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(created) {
			t.Fatalf("history entry at %v", h.Created)
		}
	}
	layers, _ := img.Layers()
	if len(layers) != 3 { // base, trainer, --add
		t.Fatalf("%d layers, want 3", len(layers))
	}
	files := extract(t, img, t.TempDir())
	mustExist(t, files, BinaryPath, CABundlePath, "/etc/passwd", "/etc/group", "/tmp", "/opt/program/train.py", "/opt/program/lib/run.sh")
	for p, h := range files {
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(created) {
			t.Errorf("%s: uid %d gid %d uname %q mtime %v", p, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
	}
	if m := files["/opt/program/lib/run.sh"].Mode; m != 0o755 {
		t.Errorf("executable added with mode %o, want 755", m)
	}
	if m := files["/opt/program/train.py"].Mode; m != 0o644 {
		t.Errorf("file added with mode %o, want 644", m)
	}
	if m := files["/tmp"].Mode; m != 0o1777 {
		t.Errorf("/tmp mode %o, want 1777", m)
	}
	if files[BinaryPath].Typeflag != tar.TypeReg || files[BinaryPath].Mode != 0o755 {
		t.Errorf("binary header %+v", files[BinaryPath])
	}
}

// The binary in the image runs on this (linux/amd64) machine, is static,
// and has timezone data built in even though the base has no zoneinfo.
func TestBinaryRunsFromExtractedImage(t *testing.T) {
	t.Parallel()
	img := defaultFixture(t)
	root := t.TempDir()
	extract(t, img, root)
	out, err := exec.Command(filepath.Join(root, BinaryPath), "train").CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "args=[train] tz_ok=true") {
		t.Fatalf("output %q", out)
	}
}

func TestArm64(t *testing.T) {
	t.Parallel()
	img := buildFixture(t, BuildOptions{Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.Variant != "v8" {
		t.Fatalf("arch %s/%s", cf.Architecture, cf.Variant)
	}
	root := t.TempDir()
	extract(t, img, root)
	b, err := os.ReadFile(filepath.Join(root, BinaryPath))
	if err != nil {
		t.Fatal(err)
	}
	// ELF e_machine at offset 18: 0xB7 is AArch64
	if len(b) < 20 || string(b[1:4]) != "ELF" || b[18] != 0xB7 {
		t.Fatalf("binary is not an arm64 ELF")
	}
}

func TestMinimalBaseIsDeterministicAndSmall(t *testing.T) {
	t.Parallel()
	p := v1.Platform{OS: "linux", Architecture: "amd64"}
	a, err := MinimalBase(p, nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := MinimalBase(p, nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, a) != digestOf(t, b) {
		t.Fatal("minimal base differs between two builds")
	}
	c, _ := MinimalBase(p, []byte("-----BEGIN CERTIFICATE-----\n"), time.Unix(0, 0))
	if digestOf(t, c) == digestOf(t, a) {
		t.Fatal("another CA bundle gave the same base")
	}
	size, _ := Size(a)
	if size > 200<<10 {
		t.Fatalf("minimal base is %d bytes", size)
	}
	if n := bytes.Count(mozillaCABundle, []byte("BEGIN CERTIFICATE")); n < 100 {
		t.Fatalf("pinned CA bundle has %d certificates", n)
	}
	m, _ := a.Manifest()
	raw, _ := json.Marshal(m)
	if !strings.Contains(string(raw), "application/vnd.oci.image.manifest.v1+json") {
		t.Fatalf("minimal base is not an OCI image: %s", raw)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Build(ctx, BuildOptions{Source: fixtureDir(t), Package: "./cmd/missing"})
	if err == nil || !strings.Contains(err.Error(), "go build ./cmd/missing") {
		t.Fatalf("missing package: %v", err)
	}
	_, err = Build(ctx, BuildOptions{Source: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not inside a Go module") {
		t.Fatalf("no module: %v", err)
	}
	if _, err := ParsePlatform("windows/amd64"); err == nil {
		t.Fatal("windows accepted")
	}
	if p, err := ParsePlatform("linux/arm64"); err != nil || p.Variant != "v8" {
		t.Fatalf("arm64: %v %+v", err, p)
	}
	if _, err := ParseAdd("nocolon"); err == nil {
		t.Fatal("bad --add accepted")
	}
	if a, err := ParseAdd("C:/x/y:/opt/y"); err != nil || a.Dst != "/opt/y" {
		t.Fatalf("ParseAdd: %+v %v", a, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if tm, err := CreatedFromEnv(); err != nil || tm.Unix() != 1700000000 {
		t.Fatalf("SOURCE_DATE_EPOCH: %v %v", tm, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := CreatedFromEnv(); err == nil {
		t.Fatal("bad SOURCE_DATE_EPOCH accepted")
	}
}
