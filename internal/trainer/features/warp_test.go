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

func BenchmarkHog(b *testing.B) {
	f := newFrame(testDrawing(112, 112, 0), frameSize)
	defer putFrame(f)
	norm := momentCrop(f.ink, f.n, normSize)
	for b.Loop() {
		hog(norm, normSize, 4)
	}
}

// warpReference is warpFrame's arithmetic on every pixel, without the span
// that skips the pixels far from the ink.
func warpReference(src *frame, w Warp) []float32 {
	n := src.n
	out := make([]float32, n*n)
	cos, sin, c := w.inverse(n)
	at := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= n || y >= n {
			return 0
		}
		return src.ink[y*n+x]
	}
	for y := 0; y < n; y++ {
		v := float64(y) - c
		for x := 0; x < n; x++ {
			u := float64(x) - c
			sx, sy := cos*u+sin*v+c, -sin*u+cos*v+c
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			ax, ay := float32(sx-float64(x0)), float32(sy-float64(y0))
			out[y*n+x] = (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
		}
	}
	return out
}

// warpFrame skips the pixels no ink can reach; every pixel must still be
// the plain bilinear value, for turns either way, shrinking and enlarging,
// ink at the frame's edge, a single dot, and no ink at all.
func TestWarpFrameMatchesPlainBilinear(t *testing.T) {
	warps := []Warp{{0, 1}, {10, 1}, {-10, 1}, {45, 1}, {-45, 0.5}, {30, 2}, {5, 1.1}, {0, 0.9}, {90, 1}}
	dot := getFrame(frameSize)
	dot.ink[40*frameSize+90] = 0.7
	edge := getFrame(frameSize)
	for i := 0; i < frameSize; i++ {
		edge.ink[i] = 1                         // top row
		edge.ink[i*frameSize+frameSize-1] = 0.5 // right column
	}
	empty := getFrame(frameSize)
	frames := map[string]*frame{"drawing": newFrame(testDrawing(112, 90, 0), frameSize), "dot": dot, "edge": edge, "empty": empty}
	for name, src := range frames {
		for _, w := range warps {
			want := warpReference(src, w)
			f := warpFrame(src, w)
			for i := range want {
				if f.ink[i] != want[i] {
					t.Fatalf("%s, warp %+v: pixel %d = %v, plain bilinear %v", name, w, i, f.ink[i], want[i])
				}
			}
			putFrame(f)
		}
	}
}

// hogReference is hog written plainly, calling orientation.
func hogReference(p []float32, n, g int) *hogCells {
	h := &hogCells{g: g, hist: make([]float32, g*g*hogBins), j: make([]float32, g*g*3)}
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			at := func(dx, dy int) float32 { return p[(y+dy)*n+x+dx] }
			gx := (at(1, -1) + 2*at(1, 0) + at(1, 1)) - (at(-1, -1) + 2*at(-1, 0) + at(-1, 1))
			gy := (at(-1, 1) + 2*at(0, 1) + at(1, 1)) - (at(-1, -1) + 2*at(0, -1) + at(1, -1))
			m2 := gx*gx + gy*gy
			if m2 < 1e-6 {
				continue
			}
			mag := float32(math.Sqrt(float64(m2)))
			fb := float64(orientation(gx, gy))*hogBins - 0.5
			b0 := int(math.Floor(fb))
			w1 := float32(fb - float64(b0))
			b1, b0 := (b0+1)%hogBins, (b0+hogBins)%hogBins
			c := (y*g/n)*g + x*g/n
			h.hist[c*hogBins+b0] += mag * (1 - w1)
			h.hist[c*hogBins+b1] += mag * w1
			h.j[3*c] += gx * gx
			h.j[3*c+1] += gy * gy
			h.j[3*c+2] += gx * gy
			h.total += mag
		}
	}
	return h
}

// hog's loop (cell tables, the inlined orientation) gives the plain loop's
// values on drawings and on noise, where every orientation and both axes'
// ties occur.
func TestHogMatchesReference(t *testing.T) {
	f := newFrame(testDrawing(112, 90, 2), frameSize)
	defer putFrame(f)
	planes := [][]float32{f.ink, momentCrop(f.ink, f.n, normSize)}
	sizes := []int{frameSize, normSize}
	noise := make([]float32, 32*32)
	state := uint32(7)
	for i := range noise {
		state = state*1664525 + 1013904223
		noise[i] = float32(state>>29) / 4 // few levels: many equal neighbours, gx == 0, gy == 0, |gx| == |gy|
	}
	planes, sizes = append(planes, noise), append(sizes, 32)
	for k, p := range planes {
		for _, g := range []int{1, 4} {
			got, want := hog(p, sizes[k], g), hogReference(p, sizes[k], g)
			if !slices.Equal(got.hist, want.hist) || !slices.Equal(got.j, want.j) || got.total != want.total {
				t.Fatalf("plane %d, grid %d: hog differs from the plain loop", k, g)
			}
		}
	}
}
