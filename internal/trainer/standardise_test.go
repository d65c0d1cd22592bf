package trainer

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

// nearConstantChannel writes 200 normal embeddings of 16 values: 15 features
// spread about 1, feature 3 nearly constant (spread 1e-4, above the old
// 1e-6 floor). It returns a typical row whose feature 3 is off by 0.05, an
// ordinary difference next to the other features' spread.
func nearConstantChannel(t *testing.T, dir string) []float32 {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	const dim, rows = 16, 200
	m := &data.Matrix{Cols: dim}
	var csv strings.Builder
	csv.WriteString("filename,age_years,subject,expert_label\n")
	for r := 0; r < rows; r++ {
		base := rng.NormFloat64()
		for j := 0; j < dim; j++ {
			v := base + 0.3*rng.NormFloat64()
			if j == 3 {
				v = 1e-4 * rng.NormFloat64()
			}
			m.Data = append(m.Data, float32(v))
		}
		m.Rows++
		fmt.Fprintf(&csv, "d%04d.png,6.%d,house,normal\n", r, r%10)
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
	x := append([]float32(nil), m.Data[:dim]...)
	x[3] = 0.05
	return x
}

// Issue 19: with the old standardisation one nearly constant feature turns an
// ordinary difference into a runaway score that this feature alone carries;
// the robust one (block floor + clipped z) keeps the score ordinary.
func TestNearConstantFeatureCannotRunAway(t *testing.T) {
	scoreWith := func(method string) Score {
		root := t.TempDir()
		hp := fastHP()
		hp["standardization"] = method
		writeConfig(t, root, hp, "algo-1", []string{"algo-1"})
		x := nearConstantChannel(t, filepath.Join(root, "input", "data", "training"))
		runOK(t, root)
		m, err := LoadModel(filepath.Join(root, "model"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Manifest.Normalization.Method != method {
			t.Fatalf("model.json records standardization %q, want %q", m.Manifest.Normalization.Method, method)
		}
		s, err := m.ScoreVector(x, 6.5)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: score %.3g, largest feature %s carries %.2f", method, s.Score, s.LargestFeature, s.LargestFeatureShare)
		return s
	}
	old := scoreWith(StandardiseStd)
	if old.Score < 50 || old.LargestFeatureShare < 0.9 || old.LargestFeature != "feature[3]" {
		t.Fatalf("the old standardisation should run away on feature 3 (score > 50, share > 0.9): %+v", old)
	}
	now := scoreWith(StandardiseRobust)
	if now.Score > 5 || now.LargestFeatureShare > 0.5 {
		t.Fatalf("robust standardisation: score %.3g, %s carries %.2f of the error; want an ordinary score (< 5) no single feature decides",
			now.Score, now.LargestFeature, now.LargestFeatureShare)
	}
}

// The floor is relative to the block's typical spread, z-scores are
// clipped, the subject one-hot is left alone, and model.json records it all.
func TestNormalizationFloorAndClip(t *testing.T) {
	p := DefaultParams()
	settings := features.Settings{Blocks: []features.Block{{Name: "a", Size: 3}}}
	var train []features.Sample
	for i := 0; i < 10; i++ {
		v := float32(i - 5)
		train = append(train, features.Sample{Label: "normal", X: []float32{v, -v, 1e-4 * v, 0, 1}})
	}
	n := fitNormalization(train, settings, 5, 3, p)
	b := n.Blocks[0]
	if b.Name != "a" || b.NFloored != 1 || math.Abs(b.Floor-p.StdFloorFraction*b.MedianStd) > 1e-9 {
		t.Fatalf("block %+v: want one floored feature and floor = %g * median std", b, p.StdFloorFraction)
	}
	if got := float64(n.Std[2]); math.Abs(got-b.Floor) > 1e-6 {
		t.Fatalf("std of the near-constant feature %g, want the floor %g", got, b.Floor)
	}
	if n.Std[3] != 1 || n.Std[4] != 1 || n.Mean[4] != 0 || n.Blocks[1].Name != "subject" {
		t.Fatalf("subject part must stay as it is: mean %v std %v blocks %+v", n.Mean, n.Std, n.Blocks)
	}
	z := make([]float32, 5)
	n.apply([]float32{1e6, 0, 0, 0, 1}, z)
	if float64(z[0]) != p.ZClip || z[4] != 1 {
		t.Fatalf("z %v: want the first clipped to %g", z, p.ZClip)
	}
	if n.featureName(2) != "a[2]" || n.featureName(4) != "subject[1]" {
		t.Fatalf("feature names %q %q", n.featureName(2), n.featureName(4))
	}
}
