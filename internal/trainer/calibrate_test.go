package trainer

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

func TestConformalThresholdRankAndPromise(t *testing.T) {
	if _, _, ok := conformalThreshold(make([]float64, 18), 0.05); ok {
		t.Fatal("18 calibration scores cannot promise 5 %: the conformal rank 19 exceeds them")
	}
	if got := minCalibration(0.05); got != 19 {
		t.Fatalf("minCalibration(0.05) = %d, want 19", got)
	}
	cal := make([]float64, 99)
	for i := range cal {
		cal[i] = float64(99 - i) // 1..99, unsorted
	}
	th, c, ok := conformalThreshold(cal, 0.05)
	if !ok || c.Rank != 95 || th != 95 || math.Abs(c.ExpectedFPR-0.05) > 1e-12 {
		t.Fatalf("threshold %g %+v, want rank 95 of 99 (value 95) and expected FPR 5/100", th, c)
	}
	if !(c.FPRInterval[0] < 0.05 && c.FPRInterval[1] > 0.05 && c.FPRInterval[1] < 0.12) {
		t.Fatalf("90 %% interval %v should bracket 5 %% and narrow with 99 normals", c.FPRInterval)
	}
	// The promise holds on new draws: over many calibration sets of 40 normals
	// the share of new normals above the threshold averages <= alpha.
	rng := rand.New(rand.NewPCG(3, 3))
	var fpr float64
	const sets, fresh = 400, 200
	for s := 0; s < sets; s++ {
		c40 := make([]float64, 40)
		for i := range c40 {
			c40[i] = rng.NormFloat64()
		}
		th, _, _ := conformalThreshold(c40, 0.05)
		for i := 0; i < fresh; i++ {
			if rng.NormFloat64() > th {
				fpr++
			}
		}
	}
	if fpr /= sets * fresh; fpr > 0.055 || fpr < 0.03 {
		t.Fatalf("held-out FPR %.4f at conformal thresholds, want about (41-39)/41 = 4.9 %%", fpr)
	}
}

// kNN distances match a direct computation, and leave-one-out skips the row itself.
func TestKNNDistances(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := autoencoder.Matrix{Rows: 300, Cols: 7}
	for i := 0; i < ref.Rows*ref.Cols; i++ {
		ref.Data = append(ref.Data, float32(rng.NormFloat64()))
	}
	got := knnDistances(ref, ref, 3, 0)
	for _, i := range []int{0, 130, 299} {
		var ds []float64
		for j := 0; j < ref.Rows; j++ {
			if j == i {
				continue
			}
			var s float64
			for c := 0; c < ref.Cols; c++ {
				d := float64(ref.Row(i)[c] - ref.Row(j)[c])
				s += d * d
			}
			ds = append(ds, math.Sqrt(s/float64(ref.Cols)))
		}
		want := (percentile(ds, 0) + sortedAt(ds, 1) + sortedAt(ds, 2)) / 3
		if math.Abs(got[i]-want) > 1e-4 {
			t.Fatalf("row %d: kNN distance %g, want %g", i, got[i], want)
		}
	}
	if self := knnDistances(ref, ref, 1, -1); self[5] > 1e-3 {
		t.Fatalf("without leave-one-out a row is its own nearest neighbour: %g", self[5])
	}
}

func sortedAt(v []float64, k int) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[k]
}

// Issue 18: a model whose groups have too few unfitted normals says so
// instead of giving a verdict.
func TestTooFewNormalsGiveNoVerdict(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, fastHP(), "algo-1", []string{"algo-1"})
	// 40 normals a year at ages 5-8: 6 validation normals per group, 24 in all...
	synthChannel(t, filepath.Join(root, "input", "data", "training"), []int{5, 6, 7, 8}, 40, 0, 16, 1)
	hp := fastHP()
	hp["validation_split"] = "0.05" // ...and with 5 %: 2 a group, 8 in all, below the 19 that 5 % needs
	writeConfig(t, root, hp, "algo-1", []string{"algo-1"})
	runOK(t, root)
	m, err := LoadModel(filepath.Join(root, "model"))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Manifest.Groups[0]
	if g.ThresholdSource != ThresholdNone || g.Threshold != 0 || !strings.Contains(g.Calibration.Note, "too small for an honest threshold") {
		t.Fatalf("group %s: threshold %g source %s calibration %+v; want none with the reason", g.Name, g.Threshold, g.ThresholdSource, g.Calibration)
	}
	s, err := m.ScoreVector(make([]float32, 16), 6)
	if err != nil {
		t.Fatal(err)
	}
	if s.Verdict != "undetermined" || s.Anomalous || !strings.Contains(s.Note, "too small") {
		t.Fatalf("score %+v: want verdict undetermined with the reason", s)
	}
	// With the default split the pool (24 validation normals) is enough.
	root2 := t.TempDir()
	writeConfig(t, root2, fastHP(), "algo-1", []string{"algo-1"})
	synthChannel(t, filepath.Join(root2, "input", "data", "training"), []int{5, 6, 7, 8}, 40, 0, 16, 1)
	runOK(t, root2)
	m2, err := LoadModel(filepath.Join(root2, "model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range m2.Manifest.Groups {
		if g.ThresholdSource != ThresholdConformalPooled || !(g.Threshold > 0) || g.Calibration.NCalibration < 19 || g.Calibration.ExpectedFPR > 0.05 {
			t.Fatalf("group %s: %s %g %+v; want a pooled conformal threshold", g.Name, g.ThresholdSource, g.Threshold, g.Calibration)
		}
	}
}
