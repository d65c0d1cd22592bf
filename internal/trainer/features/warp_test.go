package features

import (
	"math"
	"slices"
	"testing"
)

// The identity warp is exact (bilinear at whole pixels), so its copy is
// the drawing's own Vector; a turned copy differs and is deterministic.
func TestWarpedVectors(t *testing.T) {
	img := testDrawing(90, 70, 0)
	want := Vector(img, "house")
	got := WarpedVectors(img, "house", []Warp{{Rotate: 0, Scale: 1}, {Rotate: 10, Scale: 1}, {Scale: 0.9}})
	if len(got) != 3 {
		t.Fatalf("%d copies, want 3", len(got))
	}
	for j := range want {
		if got[0][j] != want[j] {
			t.Fatalf("identity warp: value %d = %v, want %v", j, got[0][j], want[j])
		}
	}
	for c := 1; c < 3; c++ {
		var d float64
		for j := range want {
			d += math.Abs(float64(got[c][j] - want[j]))
		}
		if d == 0 {
			t.Errorf("copy %d equals the original", c)
		}
		if got[c][len(want)-SubjectDim+SubjectIndex("house")] != 1 {
			t.Errorf("copy %d lost its subject one-hot", c)
		}
	}
	again := WarpedVectors(img, "house", []Warp{{Rotate: 10, Scale: 1}})
	for j := range again[0] {
		if again[0][j] != got[1][j] {
			t.Fatalf("rotated copy not deterministic at %d", j)
		}
	}
	if WarpedVectors(img, "", nil) != nil {
		t.Error("no warps should give no copies")
	}
}

func BenchmarkWarpedVectors4(b *testing.B) {
	img := testDrawing(112, 112, 0)
	ws := []Warp{{-10, 1}, {-5, 1}, {5, 1}, {10, 1}}
	for b.Loop() {
		WarpedVectors(img, "", ws)
	}
}

func BenchmarkVector(b *testing.B) {
	img := testDrawing(112, 112, 0)
	for b.Loop() {
		Vector(img, "")
	}
}

// A full copy recomputes every block from the turned ink but the colour:
// the identity gives the drawing's Vector, a turn changes blocks the
// geometry-only copy keeps (the strokes, the projections), never the colour.
func TestVectorWarpedFullRecomputesAllButColour(t *testing.T) {
	img := testDrawing(90, 70, 0)
	want := Vector(img, "house")
	ws := []Warp{{Rotate: 0, Scale: 1}, {Rotate: 10, Scale: 1}}
	x, full := VectorWarpedFull(img, "house", ws, 1)
	_, geo := VectorWarped(img, "house", ws)
	if _, idFull := VectorWarpedFull(img, "house", ws, 0); !slices.Equal(idFull[0], want) {
		t.Fatal("the identity warp's full copy is not the drawing's Vector")
	}
	for j := range want {
		if x[j] != want[j] || full[0][j] != want[j] {
			t.Fatalf("value %d: original %v, identity copy %v, want %v", j, x[j], full[0][j], want[j])
		}
	}
	off := 0
	changed := map[string]bool{}
	for _, b := range descriptorBlocks {
		for j := off; j < off+b.Size; j++ {
			if full[1][j] != geo[1][j] {
				changed[b.Name] = true
			}
			if b.Name == "colour" && full[1][j] != want[j] {
				t.Fatalf("the full copy's colour value %d changed", j)
			}
		}
		off += b.Size
	}
	for _, name := range []string{"strokes", "shape_projections"} {
		if !changed[name] {
			t.Errorf("block %s is the original's in the full copy (changed: %v)", name, changed)
		}
	}
	for _, name := range GeometryBlocks {
		if changed[name] {
			t.Errorf("block %s differs between the full and the geometry copy", name)
		}
	}
}
