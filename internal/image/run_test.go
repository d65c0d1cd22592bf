package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// The real trainer, built into the image, pushed, pulled back by digest,
// extracted, and run as SageMaker would run it: `<entrypoint> train` on an
// ml-root. It must finish and leave model/model.json.
func TestRunTheImage(t *testing.T) {
	t.Parallel()
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	ctx := context.Background()
	root, err := ModuleRoot(ctx, "go", ".")
	if err != nil {
		t.Fatal(err)
	}
	// The build runs in the sagetrain CLI itself (a separate, non-race
	// process: compressing 80 MB under the race detector is slow), which
	// compiles the trainer again for the image.
	cli := filepath.Join(t.TempDir(), "sagetrain")
	gb := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-tags", "timetzdata", "-ldflags", "-s -w -buildid=", "-o", cli, "./cmd/sagetrain")
	gb.Dir = root
	gb.Env = append(os.Environ(), "CGO_ENABLED=0")
	t0 := time.Now()
	if out, err := gb.CombinedOutput(); err != nil {
		t.Fatalf("go build the CLI: %v\n%s", err, out)
	}
	t.Logf("go build of the CLI: %v", time.Since(t0))
	t0 = time.Now()
	var stdout, stderr bytes.Buffer
	build := exec.CommandContext(ctx, cli, "image", "build", "--source", root, "--push", "--tag", reg.Host+"/sagetrain/trainer:run", "--output", "json")
	build.Stdout, build.Stderr = &stdout, &stderr
	if err := build.Run(); err != nil {
		t.Fatalf("sagetrain image build --push: %v\n%s", err, stderr.String())
	}
	var pushed Published
	if err := json.Unmarshal(stdout.Bytes(), &pushed); err != nil {
		t.Fatalf("image build --output json printed %q: %v", stdout.String(), err)
	}
	t.Logf("trainer image %s: %.1f MB to pull, built and pushed in %v", pushed.Reference, float64(pushed.SizeBytes)/1e6, time.Since(t0))
	t0 = time.Now()
	if pushed.SizeBytes > 30e6 || pushed.SizeBytes < 1e6 {
		t.Errorf("image is %d bytes, want 1 MB to 30 MB", pushed.SizeBytes)
	}
	if !strings.HasPrefix(pushed.Reference, reg.Host+"/sagetrain/trainer@sha256:") {
		t.Fatalf("reference %s is not pinned by digest", pushed.Reference)
	}

	pulled, err := LoadImage(ctx, pushed.Reference, LoadOptions{})
	if err != nil {
		t.Fatalf("pull %s: %v", pushed.Reference, err)
	}
	if digestOf(t, pulled) != pushed.Digest {
		t.Fatalf("pulled digest %s, pushed %s", digestOf(t, pulled), pushed.Digest)
	}
	cf, err := pulled.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	// Apply the layers in order with the system's tar, as a container
	// runtime would (un-gzipping 80 MB in this race-instrumented process
	// takes a minute); the layers are read from the registry.
	fsRoot := t.TempDir()
	layers, err := pulled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		untar := exec.CommandContext(ctx, "tar", "-xzf", "-", "-C", fsRoot, "--no-same-owner")
		untar.Stdin = rc
		if out, err := untar.CombinedOutput(); err != nil {
			t.Fatalf("untar layer %d: %v\n%s", i, err, out)
		}
		rc.Close()
	}
	if len(cf.Config.Entrypoint) != 1 {
		t.Fatalf("entrypoint %v", cf.Config.Entrypoint)
	}
	entry := filepath.Join(fsRoot, cf.Config.Entrypoint[0])
	for _, p := range []string{entry, filepath.Join(fsRoot, CABundlePath)} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("image lacks %s: %v", p, err)
		}
	}

	t.Logf("pulled and extracted in %v", time.Since(t0))
	t0 = time.Now()
	mlRoot := t.TempDir()
	writeMLRoot(t, mlRoot)
	// SageMaker appends its argument to the entrypoint: `train`.
	args := append(append([]string{}, cf.Config.Cmd...), "--ml-root", mlRoot)
	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, entry, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()} // nothing of the host's Go setup
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		failure, _ := os.ReadFile(filepath.Join(mlRoot, "output", "failure"))
		t.Fatalf("%s %v: %v\n%s\nfailure file: %s", entry, args, err, tail(out.String(), 3000), failure)
	}
	t.Logf("trained in %v", time.Since(t0))
	b, err := os.ReadFile(filepath.Join(mlRoot, "model", "model.json"))
	if err != nil {
		t.Fatalf("no model/model.json after training: %v\n%s", err, tail(out.String(), 2000))
	}
	var manifest map[string]any
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatalf("model.json is not JSON: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mlRoot, "output", "failure")); err == nil {
		t.Fatal("the run succeeded but wrote output/failure")
	}
	// model.json, the image labels and `sagetrain version` in the image
	// name the same trainer
	trainer, _ := manifest["trainer"].(map[string]any)
	if trainer["revision"] == nil || trainer["revision"] != cf.Config.Labels[LabelRevision] ||
		trainer["version"] != cf.Config.Labels[LabelVersion] || trainer["go_version"] != cf.Config.Labels[LabelGoVersion] {
		t.Errorf("model.json's trainer %v disagrees with the image labels %v", trainer, cf.Config.Labels)
	}
	vout, err := exec.CommandContext(ctx, entry, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", entry, err)
	}
	var v map[string]any
	if err := json.Unmarshal(vout, &v); err != nil || v["revision"] != trainer["revision"] || v["go_version"] != trainer["go_version"] {
		t.Errorf("`sagetrain version -o json` in the image printed %s (%v), model.json says %v", vout, err, trainer)
	}
}

// writeMLRoot lays out a tiny SageMaker ml-root: config files and a training
// channel of 16-wide embeddings (metadata.csv + embeddings.npy) for ages 6
// and 7, with hyperparameters that make training take seconds.
func writeMLRoot(t *testing.T, root string) {
	t.Helper()
	cfg := filepath.Join(root, "input", "config")
	ch := filepath.Join(root, "input", "data", "training")
	for _, d := range []string{cfg, ch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hp := map[string]string{"hidden_sizes": "16,8", "epochs": "5", "batch_size": "16", "min_samples": "30",
		"early_stopping_patience": "3", "lr_patience": "2", "learning_rate": "0.005"}
	for name, v := range map[string]any{
		"hyperparameters.json": hp,
		"resourceconfig.json":  map[string]any{"current_host": "algo-1", "hosts": []string{"algo-1"}},
		"inputdataconfig.json": map[string]any{"training": map[string]string{"TrainingInputMode": "File"}},
	} {
		b, _ := json.Marshal(v)
		write(filepath.Join(cfg, name), b)
	}
	const dim, perAge = 16, 40
	rng := rand.New(rand.NewPCG(7, 7))
	m := &data.Matrix{Cols: dim}
	var csv strings.Builder
	csv.WriteString("filename,age_years,subject,expert_label\n")
	for _, age := range []int{6, 7} {
		for i := 0; i < perAge; i++ {
			for j := 0; j < dim; j++ {
				m.Data = append(m.Data, float32(rng.NormFloat64()+float64(age)*0.1*float64(j%3)))
			}
			m.Rows++
			fmt.Fprintf(&csv, "d%03d.png,%d.5,house,normal\n", m.Rows, age)
		}
	}
	var npy bytes.Buffer
	if err := data.WriteNPY(&npy, m); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(ch, "embeddings.npy"), npy.Bytes())
	write(filepath.Join(ch, "metadata.csv"), []byte(csv.String()))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
