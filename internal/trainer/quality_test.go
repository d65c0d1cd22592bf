package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// Quality smoke test: on the sample-data defaults (images, the Go
// descriptor, the default network and rules; only the epoch cap is lowered
// to keep the test short), the test channel's ROC AUC must reach 0.95.
// The images are also scored back through ScoreImage.
func TestSampleDataQuality(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains the default network on 1,000 images (skipped with -short and -race)")
	}
	root := t.TempDir()
	dataDir := filepath.Join(root, "input", "data")
	if _, err := sampledata.Generate(dataDir, sampledata.Options{}); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, root, map[string]string{"epochs": "30", "loss_plots": "false"}, "algo-1", []string{"algo-1"})
	var out bytes.Buffer
	if err := Run(context.Background(), root, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var metrics map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(root, "model", "metrics.json")), &metrics); err != nil {
		t.Fatal(err)
	}
	auc, _ := metrics["test_auroc"].(float64)
	t.Logf("test_auroc %.4f, average precision %v, f1 %v", auc, metrics["test_average_precision"], metrics["test_f1"])
	if auc < 0.95 {
		t.Fatalf("test ROC AUC %.4f on sample-data defaults, want >= 0.95", auc)
	}
	m, err := LoadModel(filepath.Join(root, "model"))
	if err != nil {
		t.Fatal(err)
	}
	// Scoring every test image through ScoreImage reproduces the training
	// run's evaluation: the same scores, hence the same ROC AUC.
	f, err := os.Open(filepath.Join(dataDir, "test", "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md, err := data.ParseMetadata(f, "csv", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	var scores []float64
	var anomalous []bool
	for _, r := range md.Rows {
		s, err := m.ScoreImage(filepath.Join(dataDir, "test", "images", r.Filename), r.Subject, r.AgeYears)
		if err != nil || s.Group == "" || s.Threshold <= 0 {
			t.Fatalf("ScoreImage %s: %+v %v", r.Filename, s, err)
		}
		scores = append(scores, s.Score)
		anomalous = append(anomalous, r.Label != "normal")
	}
	if got := rocAUC(scores, anomalous); math.Abs(got-auc) > 1e-9 {
		t.Fatalf("ROC AUC from ScoreImage %.6f, training run's %.6f", got, auc)
	}
}
