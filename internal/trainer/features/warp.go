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

// WarpedVectors returns Vector of each warp of img: the image is decoded
// into its frame once and the frame's planes are warped (bilinear; outside
// the frame is paper: white, no ink), so a copy costs one describe, not a
// decode. Deterministic.
func WarpedVectors(img image.Image, subject string, warps []Warp) [][]float32 {
	if len(warps) == 0 {
		return nil
	}
	src := newFrame(img, frameSize)
	defer putFrame(src)
	out := make([][]float32, len(warps))
	for i, w := range warps {
		f := warpFrame(src, w)
		d := &builder{v: make([]float32, 0, VisualDim+SubjectDim)}
		describe(f, d)
		putFrame(f)
		x := append(d.v, make([]float32, SubjectDim)...)
		x[VisualDim+SubjectIndex(subject)] = 1
		out[i] = x
	}
	return out
}

// warpFrame returns src's planes turned and scaled by w about the frame's
// centre. The image region (x0..y1) is kept: it is the paper's shape.
func warpFrame(src *frame, w Warp) *frame {
	n := src.n
	f := getFrame(n)
	f.x0, f.y0, f.x1, f.y1, f.paper = src.x0, src.y0, src.x1, src.y1, src.paper
	s := w.Scale
	if !(s > 0) {
		s = 1
	}
	th := w.Rotate * math.Pi / 180
	cos, sin := math.Cos(th)/s, math.Sin(th)/s
	c := float64(n-1) / 2
	type pl struct {
		dst, src []float32
		out      float32 // value outside the frame
	}
	planes := []pl{{f.r, src.r, 1}, {f.g, src.g, 1}, {f.b, src.b, 1}, {f.y, src.y, 1}, {f.ink, src.ink, 0}}
	for y := 0; y < n; y++ {
		v := float64(y) - c
		for x := 0; x < n; x++ {
			u := float64(x) - c
			// output -> source: the inverse rotation and scale
			sx, sy := cos*u+sin*v+c, -sin*u+cos*v+c
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			ax, ay := float32(sx-float64(x0)), float32(sy-float64(y0))
			i := y*n + x
			for _, p := range planes {
				at := func(xx, yy int) float32 {
					if xx < 0 || yy < 0 || xx >= n || yy >= n {
						return p.out
					}
					return p.src[yy*n+xx]
				}
				p.dst[i] = (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
			}
			nx, ny := int(math.Round(sx)), int(math.Round(sy))
			f.inside[i] = nx >= 0 && ny >= 0 && nx < n && ny < n && src.inside[ny*n+nx]
		}
	}
	return f
}
