package sampledata

import (
	"image"
	"math"
	"math/rand/v2"
)

// paper is an RGB drawing surface in 0..1, white at first.
type paper struct {
	n       int
	r, g, b []float32
}

func newPaper(n int, tint [3]float32) *paper {
	p := &paper{n: n, r: make([]float32, n*n), g: make([]float32, n*n), b: make([]float32, n*n)}
	for i := range p.r {
		p.r[i], p.g[i], p.b[i] = tint[0], tint[1], tint[2]
	}
	return p
}

type pt struct{ x, y float64 } // in 0..1 page units

// pen draws strokes of one colour and width with a hand-like wobble.
type pen struct {
	p      *paper
	rng    *rand.Rand
	col    [3]float32
	width  float64 // page units
	wobble float64 // page units of jitter per point
	alpha  float32 // opacity of the stroke (crayon pressure)

	tf       func(pt) pt // part placement on the page; nil = identity
	fragment bool        // draw only scattered dashes of each stroke
}

// seg paints an anti-aliased capsule from a to b.
func (pn *pen) seg(a, b pt) {
	n := float64(pn.p.n)
	ax, ay, bx, by := a.x*n, a.y*n, b.x*n, b.y*n
	hw := math.Max(pn.width*n/2, 0.5)
	x0 := int(math.Floor(math.Min(ax, bx) - hw - 1))
	x1 := int(math.Ceil(math.Max(ax, bx) + hw + 1))
	y0 := int(math.Floor(math.Min(ay, by) - hw - 1))
	y1 := int(math.Ceil(math.Max(ay, by) + hw + 1))
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, pn.p.n-1), min(y1, pn.p.n-1)
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	reach2 := (hw + 0.5) * (hw + 0.5)
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
			}
			qx, qy := ax+t*dx-px, ay+t*dy-py
			d2 := qx*qx + qy*qy
			if d2 >= reach2 {
				continue
			}
			d := math.Sqrt(d2)
			cov := float32(math.Max(0, math.Min(1, hw+0.5-d))) * pn.alpha
			if cov <= 0 {
				continue
			}
			i := y*pn.p.n + x
			// darken like ink: take the darker of paper and pen per channel
			pn.p.r[i] = min(pn.p.r[i], pn.p.r[i]*(1-cov)+pn.col[0]*cov)
			pn.p.g[i] = min(pn.p.g[i], pn.p.g[i]*(1-cov)+pn.col[1]*cov)
			pn.p.b[i] = min(pn.p.b[i], pn.p.b[i]*(1-cov)+pn.col[2]*cov)
		}
	}
}

// line draws a wobbly polyline through pts, subdividing long segments so
// the wobble shows along them.
func (pn *pen) line(pts ...pt) {
	if len(pts) == 0 {
		return
	}
	var path []pt
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		steps := max(1, int(math.Hypot(b.x-a.x, b.y-a.y)/0.03))
		for s := 0; s < steps; s++ {
			t := float64(s) / float64(steps)
			path = append(path, pt{a.x + t*(b.x-a.x), a.y + t*(b.y-a.y)})
		}
	}
	path = append(path, pts[len(pts)-1])
	if pn.tf != nil {
		for i := range path {
			path[i] = pn.tf(path[i])
		}
	}
	// a smooth random drift plus a little tremor
	ox, oy := 0.0, 0.0
	fx, fy, on := 0.0, 0.0, true
	prev := pt{}
	for i := range path {
		ox = 0.7*ox + pn.rng.NormFloat64()*pn.wobble
		oy = 0.7*oy + pn.rng.NormFloat64()*pn.wobble
		q := pt{path[i].x + ox, path[i].y + oy}
		if pn.fragment {
			// every few points the stroke breaks off and lands elsewhere
			if i%3 == 0 {
				fx, fy = (pn.rng.Float64()-0.5)*0.16, (pn.rng.Float64()-0.5)*0.16
				on = pn.rng.Float64() < 0.6
				prev = pt{q.x + fx, q.y + fy}
				continue
			}
			q = pt{q.x + fx, q.y + fy}
			if on {
				pn.seg(prev, q)
			}
			prev = q
			continue
		}
		if i > 0 {
			pn.seg(prev, q)
		}
		prev = q
	}
	if len(path) == 1 {
		pn.seg(prev, prev)
	}
}

// ellipse draws a closed (or, with gap, nearly closed) wobbly ellipse.
func (pn *pen) ellipse(c pt, rx, ry float64, gap float64) {
	k := max(12, int(math.Max(rx, ry)*120))
	start := pn.rng.Float64() * 2 * math.Pi
	pts := make([]pt, 0, k+1)
	for i := 0; i <= k; i++ {
		a := start + (2*math.Pi-gap)*float64(i)/float64(k)
		pts = append(pts, pt{c.x + rx*math.Cos(a), c.y + ry*math.Sin(a)})
	}
	pn.line(pts...)
}

// hatch fills the polygon poly with back-and-forth strokes, like a child
// colouring in.
func (pn *pen) hatch(poly []pt, spacing float64) {
	minY, maxY := 1.0, 0.0
	for _, p := range poly {
		minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
	}
	var pts []pt
	left := true
	for y := minY + spacing/2; y < maxY; y += spacing {
		xs := scanline(poly, y)
		if len(xs) < 2 {
			continue
		}
		a, b := xs[0], xs[len(xs)-1]
		if left {
			pts = append(pts, pt{a, y}, pt{b, y})
		} else {
			pts = append(pts, pt{b, y}, pt{a, y})
		}
		left = !left
	}
	if len(pts) > 1 {
		w := pn.wobble
		pn.wobble = w / 2
		pn.line(pts...)
		pn.wobble = w
	}
}

func scanline(poly []pt, y float64) []float64 {
	var xs []float64
	for i := range poly {
		a, b := poly[i], poly[(i+1)%len(poly)]
		if (a.y <= y && b.y > y) || (b.y <= y && a.y > y) {
			xs = append(xs, a.x+(y-a.y)/(b.y-a.y)*(b.x-a.x))
		}
	}
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
	return xs
}

func (p *paper) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, p.n, p.n))
	for i := range p.r {
		img.Pix[4*i] = uint8(clamp01(p.r[i])*255 + 0.5)
		img.Pix[4*i+1] = uint8(clamp01(p.g[i])*255 + 0.5)
		img.Pix[4*i+2] = uint8(clamp01(p.b[i])*255 + 0.5)
		img.Pix[4*i+3] = 255
	}
	return img
}

func clamp01(v float32) float32 { return max(0, min(1, v)) }
