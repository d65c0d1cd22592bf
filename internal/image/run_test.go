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
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	ctx := context.Background()
	root, err := ModuleRoot(ctx, "go", ".")
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(ctx, BuildOptions{Source: root})
	if err != nil {
		t.Fatalf("build the trainer image: %v", err)
	}
	size, _ := Size(img)
	t.Logf("trainer image: %.1f MB to pull", float64(size)/1e6)
	if size > 30e6 {
		t.Errorf("image is %d bytes, over the 30 MB budget", size)
	}
	pushed, err := RegistryPublisher{Ref: reg.Host + "/sagetrain/trainer:run"}.Publish(ctx, img)
	if err != nil {
		t.Fatal(err)
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
	fsRoot := t.TempDir()
	files := extract(t, pulled, fsRoot)
	if len(cf.Config.Entrypoint) != 1 {
		t.Fatalf("entrypoint %v", cf.Config.Entrypoint)
	}
	mustExist(t, files, cf.Config.Entrypoint[0], CABundlePath)
	entry := filepath.Join(fsRoot, cf.Config.Entrypoint[0])

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
