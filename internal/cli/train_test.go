package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// train (with SageMaker's extra "train" argument) then score, through the CLI.
func TestTrainThenScoreCommands(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "input", "data")
	if _, err := sampledata.Generate(data, sampledata.Options{Train: 120, Test: 30, Size: 64}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "input", "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	hp := `{"epochs":"2","hidden_sizes":"16,8","min_samples":"20","loss_plots":"false"}`
	if err := os.WriteFile(filepath.Join(cfg, "hyperparameters.json"), []byte(hp), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	t.Setenv("SAGETRAIN_ML_ROOT", root)
	if code := Main(context.Background(), []string{"train", "train"}, &out, &errOut); code != 0 {
		t.Fatalf("train exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	if !strings.Contains(out.String(), "metric: n_train=") {
		t.Fatalf("no metric lines:\n%s", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := Main(context.Background(), []string{"train", "-o", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("train -o json exit %d: %s", code, errOut.String())
	}
	var summary struct {
		ModelDir string         `json:"model_dir"`
		Metrics  map[string]any `json:"metrics"`
	}
	if err := json.Unmarshal(out.Bytes(), &summary); err != nil || summary.Metrics["n_train"] == nil || !strings.Contains(errOut.String(), "metric: n_train=") {
		t.Fatalf("train -o json: %v\nstdout %s", err, out.String())
	}
	if code := Main(context.Background(), []string{"train", "predict"}, &out, &errOut); code != 2 {
		t.Fatalf("train with an unknown argument: exit %d, want 2", code)
	}

	imgs, _ := filepath.Glob(filepath.Join(data, "test", "images", "*.png"))
	if len(imgs) != 30 {
		t.Fatalf("%d test images", len(imgs))
	}
	out.Reset()
	args := append([]string{"score", "--model", filepath.Join(root, "model"), "--metadata", filepath.Join(data, "test", "metadata.csv"), "-o", "json"}, imgs[:5]...)
	if code := Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("score exit %d: %s", code, errOut.String())
	}
	var scores []struct {
		Image     string  `json:"image"`
		Group     string  `json:"group"`
		Score     float64 `json:"score"`
		Threshold float64 `json:"threshold"`
		Verdict   string  `json:"verdict"`
	}
	if err := json.Unmarshal(out.Bytes(), &scores); err != nil || len(scores) != 5 {
		t.Fatalf("score output %v: %s", err, out.String())
	}
	for _, s := range scores {
		if s.Group == "" || s.Threshold <= 0 || (s.Verdict != "normal" && s.Verdict != "anomalous") || (s.Score > 1) != (s.Verdict == "anomalous") {
			t.Fatalf("score %+v", s)
		}
	}
	out.Reset()
	if code := Main(context.Background(), []string{"score", "--model", filepath.Join(root, "model"), "--age", "9", imgs[0]}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "VERDICT") || !strings.Contains(out.String(), filepath.Base(imgs[0])) {
		t.Fatalf("score table: exit %d\n%s", code, out.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), []string{"score", "--model", filepath.Join(root, "model"), "--age", "40", "--subject", "spaceship", imgs[0]}, &out, &errOut); code != 0 ||
		!strings.Contains(errOut.String(), "age 40 is outside every age group") || !strings.Contains(errOut.String(), `subject "spaceship" is not one the model knows`) {
		t.Fatalf("score warnings: exit %d\n%s", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"score", "--model", filepath.Join(root, "model"), imgs[0]}, &out, &errOut); code != 2 {
		t.Fatalf("score without an age: exit %d, want 2", code)
	}
}

// The real process answers SIGTERM: checkpoint, failure file, exit code 4,
// well within SageMaker's grace period.
func TestTrainProcessStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := jobsBuildBinary(t)
	root := t.TempDir()
	if _, err := sampledata.Generate(filepath.Join(root, "input", "data"), sampledata.Options{Train: 150, Test: 20, Size: 48}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "input", "config")
	os.MkdirAll(cfg, 0o755)
	hp := `{"epochs":"100000","early_stopping_patience":"0","min_samples":"20","checkpoint_interval_seconds":"1000"}`
	if err := os.WriteFile(filepath.Join(cfg, "hyperparameters.json"), []byte(hp), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "train", "--ml-root", root)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "epoch=3 ") {
			break
		}
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("exit after SIGTERM: %v, want code 4", err)
	}
	if took > 10*time.Second {
		t.Fatalf("took %s to stop", took)
	}
	f, err := os.ReadFile(filepath.Join(root, "output", "failure"))
	if err != nil || !strings.Contains(string(f), "stopped") {
		t.Fatalf("failure file %q %v", f, err)
	}
	ckpts, _ := filepath.Glob(filepath.Join(root, "checkpoints", "group-*.ckpt"))
	if len(ckpts) == 0 {
		t.Fatal("no checkpoint written on SIGTERM")
	}
}
