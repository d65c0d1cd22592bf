package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// synthChannel writes a channel of embeddings (metadata.csv + embeddings.npy):
// normal rows lie near a low-dimensional subspace that shifts with age;
// anomalies ("concern"/"severe") leave it. perYear normal rows for each age
// in ages, plus anomalies per year.
func synthChannel(t *testing.T, dir string, ages []int, perYear, anomalies int, dim int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	basis := rand.New(rand.NewPCG(1234, 5)) // the same subspace in every channel
	const k = 3
	B := make([][]float64, k)
	for i := range B {
		B[i] = make([]float64, dim)
		for j := range B[i] {
			B[i][j] = basis.NormFloat64()
		}
	}
	var csv strings.Builder
	csv.WriteString("filename,age_years,subject,expert_label\n")
	m := &data.Matrix{Cols: dim}
	row := 0
	for _, age := range ages {
		for n := 0; n < perYear+anomalies; n++ {
			x := make([]float32, dim)
			label := "normal"
			for i := 0; i < k; i++ {
				z := rng.NormFloat64() + float64(age)*0.3
				for j := range x {
					x[j] += float32(z * B[i][j])
				}
			}
			for j := range x {
				x[j] += float32(0.1 * rng.NormFloat64())
			}
			if n >= perYear {
				label = []string{"concern", "severe"}[n%2]
				for j := range x {
					x[j] += float32(3 * rng.NormFloat64())
				}
			}
			m.Data = append(m.Data, x...)
			m.Rows++
			fmt.Fprintf(&csv, "d%04d.png,%d.%d,house,%s\n", row, age, n%10, label)
			row++
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := data.WriteNPY(&b, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "embeddings.npy"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fastHP are hyperparameters that keep the test runs short.
func fastHP() map[string]string {
	return map[string]string{"hidden_sizes": "16,8", "epochs": "8", "batch_size": "16", "min_samples": "30",
		"early_stopping_patience": "5", "lr_patience": "3", "learning_rate": "0.005", "dropout": "0.1",
		"loss_plots": "false"} // plotting is slow under -race; the contract test turns it on
}

// newRoot makes an ml-root with config files and the standard synthetic
// training and test channels.
func newRoot(t *testing.T, hp map[string]string) string {
	t.Helper()
	root := t.TempDir()
	writeConfig(t, root, hp, "algo-1", []string{"algo-1"})
	synthChannel(t, filepath.Join(root, "input", "data", "training"), []int{5, 6, 7, 8}, 40, 0, 16, 1)
	synthChannel(t, filepath.Join(root, "input", "data", "test"), []int{5, 6, 7, 8}, 12, 6, 16, 2)
	return root
}

func writeConfig(t *testing.T, root string, hp map[string]string, host string, hosts []string) {
	t.Helper()
	cfg := filepath.Join(root, "input", "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(cfg, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hyperparameters.json", hp)
	write("resourceconfig.json", map[string]any{"current_host": host, "hosts": hosts})
	write("inputdataconfig.json", map[string]any{"training": map[string]string{"TrainingInputMode": "File"}})
}

// syncBuffer is a goroutine-safe stdout for Run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	on func(line string)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on != nil {
		for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			s.on(l)
		}
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runOK(t *testing.T, root string) string {
	t.Helper()
	var out syncBuffer
	if err := Run(context.Background(), root, &out); err != nil {
		t.Fatalf("train failed: %v\n%s", err, out.String())
	}
	return out.String()
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
