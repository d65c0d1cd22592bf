package trainer

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// Issue 18: a drawing's kNN reference is its own year of age when that
// year has enough rows, widened a year each way when it has not.
func TestKNNWindow(t *testing.T) {
	g := &groupScorer{k: 5, yearRefs: 20, ref: autoencoder.Matrix{Rows: 30 + 8 + 25 + 40, Cols: 1},
		years: []RefYear{{Year: 3, Start: 0, Rows: 30}, {Year: 4, Start: 30, Rows: 8}, {Year: 6, Start: 38, Rows: 25}, {Year: 7, Start: 63, Rows: 40}}}
	for _, c := range []struct {
		age    float64
		lo, hi int
	}{
		{3.9, 0, 30},    // own year
		{4.2, 0, 38},    // 8 rows: widened to 3-5
		{5.5, 30, 63},   // no row of 5: 4-6
		{6, 38, 63},     // own year
		{7.99, 63, 103}, // own year
		{12, 63, 103},   // clamped to the last year
		{1, 0, 30},      // clamped to the first year
	} {
		if lo, hi := g.knnWindow(c.age); lo != c.lo || hi != c.hi {
			t.Errorf("age %g: window [%d, %d), want [%d, %d)", c.age, lo, hi, c.lo, c.hi)
		}
	}
	g.yearRefs = 200 // more than the group: the whole group
	if lo, hi := g.knnWindow(6); lo != 0 || hi != 103 {
		t.Errorf("yearRefs above the group: [%d, %d), want the whole group", lo, hi)
	}
	g.yearRefs = 0 // format 2: the whole group
	if lo, hi := g.knnWindow(6); lo != 0 || hi != 103 {
		t.Errorf("yearRefs 0: [%d, %d), want the whole group", lo, hi)
	}
	if !validRefYears(g.years, 103) || validRefYears(g.years, 102) || validRefYears([]RefYear{{Year: 4, Rows: 3}, {Year: 3, Start: 3, Rows: 2}}, 5) {
		t.Error("validRefYears accepts a bad split or refuses a good one")
	}
}

// A trained two-year group stores its reference ordered by year, and a
// drawing's kNN distance is the one to its own year's rows only; with
// knn_year_refs 0 it is the whole group's (format 2's rule).
func TestKNNOwnYearInModel(t *testing.T) {
	hp := fastHP()
	hp["min_samples"] = "60" // groups 5-6 and 7-8, 34 training normals a year
	root := newRoot(t, hp)
	runOK(t, root)
	m, err := LoadModel(filepath.Join(root, "model"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest.FormatVersion != 3 || m.Manifest.KNNYearRefs != 20 || len(m.Manifest.Groups) != 2 {
		t.Fatalf("format %d, knn_year_refs %d, %d groups; want 3, 20, 2", m.Manifest.FormatVersion, m.Manifest.KNNYearRefs, len(m.Manifest.Groups))
	}
	g := m.Manifest.Groups[0]
	if len(g.ReferenceYears) != 2 || g.ReferenceYears[0].Year != 5 || g.ReferenceYears[1].Year != 6 || g.ReferenceYears[0].Rows+g.ReferenceYears[1].Rows != g.ReferenceRows {
		t.Fatalf("group %s reference_years %+v (%d rows)", g.Name, g.ReferenceYears, g.ReferenceRows)
	}
	sc := m.scorers[0]
	x := make([]float32, m.Manifest.Architecture.Input)
	for i := range x {
		x[i] = 1.5 * float32(i%3)
	}
	z := make([]float32, len(x))
	m.Manifest.Normalization.apply(x, z)
	q := autoencoder.Matrix{Rows: 1, Cols: len(z), Data: weighted(autoencoder.Matrix{Rows: 1, Cols: len(z), Data: z}, sc.w).Data}
	y6 := g.ReferenceYears[1]
	want6 := knnDistances(sc.refRows(y6.Start, y6.Start+y6.Rows), q, sc.k, -1)[0]
	wantAll := knnDistances(sc.ref, q, sc.k, -1)[0]
	s, err := m.ScoreVector(x, 6.5)
	if err != nil {
		t.Fatal(err)
	}
	if s.KNNDistance == nil || math.Abs(*s.KNNDistance-want6) > 1e-9 || want6 == wantAll {
		t.Fatalf("kNN distance at 6.5: %v, want %g (own year), whole group %g", s.KNNDistance, want6, wantAll)
	}
	hp["knn_year_refs"] = "0"
	root0 := newRoot(t, hp)
	runOK(t, root0)
	m0, err := LoadModel(filepath.Join(root0, "model"))
	if err != nil {
		t.Fatal(err)
	}
	if m0.Manifest.KNNYearRefs != 0 || m0.Manifest.Groups[0].ReferenceYears != nil {
		t.Fatalf("knn_year_refs 0: %d, %+v; want no year windows", m0.Manifest.KNNYearRefs, m0.Manifest.Groups[0].ReferenceYears)
	}
	s0, err := m0.ScoreVector(x, 6.5)
	if err != nil {
		t.Fatal(err)
	}
	sc0 := m0.scorers[0]
	if want := knnDistances(sc0.ref, q, sc0.k, -1)[0]; s0.KNNDistance == nil || math.Abs(*s0.KNNDistance-want) > 1e-9 {
		t.Fatalf("knn_year_refs 0: kNN distance %v, want the whole group's %g", s0.KNNDistance, want)
	}
}
