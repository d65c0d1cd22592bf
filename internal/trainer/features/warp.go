package features

import (
	"image"
	"math"
)

// Warp is a train-time copy of a drawing: turned by Rotate degrees
// (counter-clockwise on the paper's axes) and scaled by Scale about the
// centre of the frame. The trainer adds the descriptors of such copies of
// each normal training drawing to the kNN reference (knn_augment), so that a
// drawing photographed a little askew finds its neighbours among them.
type Warp struct {
	Rotate float64 `json:"rotate_deg"`
	Scale  float64 `json:"scale"`
}

// GeometryBlocks are the blocks a warped copy recomputes by default: the
// ink grids and HOG of the norm and shape planes (the trainer's kNN blocks).
var GeometryBlocks = []string{"norm_ink_grid_3x3", "norm_ink_grid_4x4", "norm_ink_grid_8x8",
	"shape_ink_grid_3x3", "shape_ink_grid_4x4", "shape_ink_grid_8x8",
	"shape_hog_1x1", "shape_hog_2x2", "shape_hog_4x4", "norm_hog_1x1", "norm_hog_2x2", "norm_hog_4x4"}

// WarpedVectors returns, for each warp of img, its Vector with the
// GeometryBlocks of the warped drawing and every other block the original's
// (the copies serve the kNN distance, which reads those blocks only; the
// rest would cost two thirds of a describe each). The image is decoded into
// its frame once and the frame's ink is warped (bilinear; outside the frame
// no ink). Deterministic.
func WarpedVectors(img image.Image, subject string, warps []Warp) [][]float32 {
	_, out := VectorWarped(img, subject, warps)
	return out
}

// VectorWarped returns Vector(img, subject) and WarpedVectors(img, subject,
// warps) from one frame and one full describe.
func VectorWarped(img image.Image, subject string, warps []Warp) ([]float32, [][]float32) {
	return VectorWarpedFull(img, subject, warps, -1)
}

// VectorWarpedFull is VectorWarped with copy full (an index into warps;
// -1: none) recomputing every block from the warped ink but the colour
// block (the original's: the colour planes are not warped, and colour
// statistics do not depend on the turn).
// These are the copies the autoencoder trains on (ae_augment): it reads
// every block, and a copy whose other blocks were the upright original's
// would teach it that a turned drawing keeps them, which a drawing
// photographed askew does not. A full copy costs about a describe, three
// times a geometry copy; its geometry blocks are the same values, so it
// serves the kNN reference as well.
func VectorWarpedFull(img image.Image, subject string, warps []Warp, full int) ([]float32, [][]float32) {
	src := newFrame(img, frameSize)
	defer putFrame(src)
	d0 := &builder{v: make([]float32, 0, VisualDim+SubjectDim)}
	describe(src, d0)
	var out [][]float32
	if len(warps) > 0 {
		keep := map[string]bool{}
		for _, b := range GeometryBlocks {
			keep[b] = true
		}
		out = make([][]float32, len(warps))
		for i, w := range warps {
			f := warpFrame(src, w)
			d := &builder{v: make([]float32, 0, VisualDim+SubjectDim), base: d0.v, baseSizes: d0.sizes, keep: keep, keepAll: i == full}
			describe(f, d)
			putFrame(f)
			out[i] = withSubject(d.v, subject)
		}
	}
	return withSubject(d0.v, subject), out
}

// withSubject appends the subject one-hot to a descriptor (within its capacity).
func withSubject(v []float32, subject string) []float32 {
	n := len(v)
	x := append(v, make([]float32, SubjectDim)...)
	x[n+SubjectIndex(subject)] = 1
	return x
}

// warpFrame returns a frame whose ink is src's turned and scaled by w
// about the frame's centre (bilinear; no ink outside). Only the ink is
// warped: the GeometryBlocks read nothing else. The image region (x0..y1),
// the inside mask and the paper are src's; the frame has no colour planes
// (see inkFramePool).
func warpFrame(src *frame, w Warp) *frame {
	n := src.n
	f := getInkFrame(n)
	f.x0, f.y0, f.x1, f.y1, f.paper = src.x0, src.y0, src.x1, src.y1, src.paper
	copy(f.inside, src.inside)
	cos, sin, c := w.inverse(n)
	ink := src.ink
	at := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= n || y >= n {
			return 0
		}
		return ink[y*n+x]
	}
	// Only output pixels whose source point lies near the source's ink can
	// get ink: the others are 0 (every neighbour is 0), written as such
	// without the bilinear arithmetic. Each row's span comes from the
	// inverse map, widened by 2 source and 1 output pixels (so rounding never
	// drops a pixel); inside it the arithmetic is unchanged.
	bx0, by0, bx1, by1 := inkBounds(ink, n)
	for y := 0; y < n; y++ {
		v := float64(y) - c
		out := f.ink[y*n : (y+1)*n]
		xlo, xhi := 0, -1
		if bx1 >= 0 {
			// sx = cos*u + (sin*v + c) within the ink's columns, sy = -sin*u + (cos*v + c) within its rows
			ulo, uhi := linearSpan(cos, sin*v+c, float64(bx0-2), float64(bx1+2))
			vlo, vhi := linearSpan(-sin, cos*v+c, float64(by0-2), float64(by1+2))
			ulo, uhi = max(ulo, vlo, -2*c), min(uhi, vhi, 2*c) // finite: no pixel is farther than c from the centre
			if ulo <= uhi {
				xlo = max(0, int(math.Floor(ulo+c))-1)
				xhi = min(n-1, int(math.Ceil(uhi+c))+1)
			}
		}
		if xlo > xhi {
			clear(out)
			continue
		}
		clear(out[:xlo])
		clear(out[xhi+1:])
		for x := xlo; x <= xhi; x++ {
			u := float64(x) - c
			// output -> source: the inverse rotation and scale
			sx, sy := cos*u+sin*v+c, -sin*u+cos*v+c
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			ax, ay := float32(sx-float64(x0)), float32(sy-float64(y0))
			if x0 >= 0 && y0 >= 0 && x0+1 < n && y0+1 < n {
				// inside: the four neighbours without the bounds tests
				i := y0*n + x0
				out[x] = (1-ay)*((1-ax)*ink[i]+ax*ink[i+1]) + ay*((1-ax)*ink[i+n]+ax*ink[i+n+1])
				continue
			}
			out[x] = (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
		}
	}
	return f
}

// inverse returns the inverse map of w on an n x n frame: a frame pixel
// (x, y) takes its ink from (cos*u + sin*v + c, -sin*u + cos*v + c), where
// u, v are x, y less the centre c. A scale that is not positive counts as 1.
func (w Warp) inverse(n int) (cos, sin, c float64) {
	s := w.Scale
	if !(s > 0) {
		s = 1
	}
	th := w.Rotate * math.Pi / 180
	return math.Cos(th) / s, math.Sin(th) / s, float64(n-1) / 2
}

// inkBounds returns the bounding box of the non-zero pixels of an n x n
// plane (bx1 < 0 when there are none).
func inkBounds(p []float32, n int) (bx0, by0, bx1, by1 int) {
	bx0, by0, bx1, by1 = n, n, -1, -1
	for y := 0; y < n; y++ {
		row := p[y*n : (y+1)*n]
		for x, v := range row {
			if v != 0 {
				bx0, bx1 = min(bx0, x), max(bx1, x)
				by0, by1 = min(by0, y), max(by1, y)
			}
		}
	}
	return
}

// linearSpan returns the u with a*u + b in [lo, hi] (lo > hi when none;
// every u when a is 0 and b is in range).
func linearSpan(a, b, lo, hi float64) (float64, float64) {
	if a == 0 {
		if b >= lo && b <= hi {
			return math.Inf(-1), math.Inf(1)
		}
		return 1, 0
	}
	u0, u1 := (lo-b)/a, (hi-b)/a
	return min(u0, u1), max(u0, u1)
}
