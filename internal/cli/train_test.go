package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if code := Main(context.Background(), []string{"score", "--model", filepath.Join(root, "model"), imgs[0]}, &out, &errOut); code != 2 {
		t.Fatalf("score without an age: exit %d, want 2", code)
	}
}
