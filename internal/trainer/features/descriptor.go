package features

import (
	"image"
	"math"
	"math/bits"
)

// Descriptor parameters. Changing any of them changes the vector: bump
// DescriptorVersion so that models record which descriptor they were fitted on.
const (
	DescriptorVersion = 2
	frameSize         = 128 // the whole drawing, fitted into a square
	shapeSize         = 64  // the drawing cropped to its ink bounding box
	inkThreshold      = 0.2 // ink level that counts as a mark
	hogBins           = 9   // unsigned gradient orientations (20 degrees each)
	normSize          = 64  // the drawing centred on its ink and scaled by its spread (momentCrop)
	normSpan          = 2.4 // momentCrop's half-width in standard deviations of the ink
)

// Block is one named part of the descriptor, for the docs and the tests.
type Block struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// descriptor computes the visual descriptor of img. Every value is a
// deterministic function of the pixels; no learned weights.
func descriptor(img image.Image) []float32 {
	d := &builder{v: make([]float32, 0, VisualDim+SubjectDim)}
	f := newFrame(img, frameSize)
	describe(f, d)
	putFrame(f)
	return d.v
}

// builder appends values and records the named blocks they form. With
// base set (a warped copy, WarpedVectors) only the blocks named in keep are
// computed; every lazy block outside keep is copied from base.
type builder struct {
	v      []float32
	blocks []Block
	base   []float32
	keep   map[string]bool
	// keepAll recomputes every block but the colour's (a warped copy's
	// colour planes are the original's, and colour statistics do not turn).
	keepAll bool
	sizes   []int // of each add call, in order
	// baseSizes are base's builder's sizes: how many values each lazy call copies.
	baseSizes []int
}

// lazy adds the block fn computes, or base's values of it when the builder
// does not keep it.
func (b *builder) lazy(name string, fn func() []float32) {
	if b.base == nil || b.keep[name] || (b.keepAll && name != "colour") {
		b.add(name, fn()...)
		return
	}
	n := len(b.v)
	b.add(name, b.base[n:n+b.baseSizes[len(b.sizes)]]...)
}

func (b *builder) add(name string, vals ...float32) {
	b.v = append(b.v, vals...)
	b.sizes = append(b.sizes, len(vals))
	if n := len(b.blocks); n > 0 && b.blocks[n-1].Name == name {
		b.blocks[n-1].Size += len(vals)
	} else {
		b.blocks = append(b.blocks, Block{name, len(vals)})
	}
}

func describe(f *frame, d *builder) {
	n := f.n
	mask := f.mask
	for i, v := range f.ink {
		mask[i] = v > inkThreshold
	}
	// bounding box of the marks (the whole image when there are none)
	bx0, by0, bx1, by1 := n, n, -1, -1
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if mask[y*n+x] {
				bx0, by0, bx1, by1 = min(bx0, x), min(by0, y), max(bx1, x), max(by1, y)
			}
		}
	}
	if bx1 < 0 {
		bx0, by0, bx1, by1 = f.x0, f.y0, f.x1-1, f.y1-1
	}
	shape := cropPlane(f.ink, n, max(0, bx0-1), max(0, by0-1), min(n, bx1+2), min(n, by1+2), shapeSize)

	// 1. layout of the whole frame
	d.lazy("global", func() []float32 { return globalStats(f, mask, bx0, by0, bx1, by1) })
	norm := momentCrop(f.ink, n, normSize)
	g3, g4, g8 := gridMeans348(norm, normSize)
	d.add("norm_ink_grid_3x3", sqrtAll(g3)...)
	d.add("norm_ink_grid_4x4", sqrtAll(g4)...)
	d.add("norm_ink_grid_8x8", sqrtAll(g8)...)
	d.lazy("frame_ink_levels", func() []float32 { return inkLevels(f) })
	var half []float32
	halved := func() []float32 {
		if half == nil {
			half = halve(f.ink, n)
		}
		return half
	}
	d.lazy("frame_radial_angular", func() []float32 { return radialAngular(halved(), n/2) })
	// 2. shape of the drawing, cropped to its marks
	s3, s4, s8 := gridMeans348(shape.pix, shapeSize)
	d.add("shape_ink_grid_3x3", sqrtAll(s3)...)
	d.add("shape_ink_grid_4x4", sqrtAll(s4)...)
	d.add("shape_ink_grid_8x8", sqrtAll(s8)...)
	d.lazy("shape_projections", func() []float32 { return projections(shape.pix, shapeSize, 16) })
	d.lazy("shape_symmetry", func() []float32 { return symmetry(shape.pix, shapeSize) })
	sh := hog(shape.pix, shapeSize, 4)
	d.add("shape_hog_1x1", sh.pooled(1)...)
	d.add("shape_hog_2x2", sh.pooled(2)...)
	d.add("shape_hog_4x4", sh.pooled(4)...)
	d.lazy("shape_coherence", sh.coherence)
	// 3. edges over the whole frame
	fh := hog(norm, normSize, 4)
	d.add("norm_hog_1x1", fh.pooled(1)...)
	d.add("norm_hog_2x2", fh.pooled(2)...)
	d.add("norm_hog_4x4", fh.pooled(4)...)
	d.lazy("norm_coherence", func() []float32 { return fh.coherence()[16:17] })
	// 4. strokes and parts
	d.lazy("strokes", func() []float32 { return strokeStats(mask, n) })
	d.lazy("components", func() []float32 { return components(mask, n) })
	d.lazy("runs", func() []float32 { return runLengths(mask, n) })
	d.lazy("texture_lbp", func() []float32 { return lbp(shape.pix, shapeSize, 1, f.scratch) })
	d.lazy("texture_lbp", func() []float32 { return lbp(halved(), n/2, 1, f.scratch) })
	// 5. colour
	d.lazy("colour", func() []float32 { return colour(f) })
}

// globalStats: ink coverage, bounding box, centroid and spread, normalised to the frame.
func globalStats(f *frame, mask []bool, bx0, by0, bx1, by1 int) []float32 {
	n := f.n
	fn := float32(n)
	var sum, sx, sy, sxx, syy, sxy float64
	marks := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := float64(f.ink[y*n+x])
			sum += v
			sx += v * float64(x)
			sy += v * float64(y)
			sxx += v * float64(x) * float64(x)
			syy += v * float64(y) * float64(y)
			sxy += v * float64(x) * float64(y)
			if mask[y*n+x] {
				marks++
			}
		}
	}
	cx, cy, vx, vy, cxy := 0.5, 0.5, 0.0, 0.0, 0.0
	if sum > 0 {
		mx, my := sx/sum, sy/sum
		cx, cy = mx/float64(n), my/float64(n)
		vx = math.Sqrt(max(0, sxx/sum-mx*mx)) / float64(n)
		vy = math.Sqrt(max(0, syy/sum-my*my)) / float64(n)
		cxy = (sxy/sum - mx*my) / float64(n*n)
	}
	area := float64((f.x1 - f.x0) * (f.y1 - f.y0))
	w, h := float32(bx1-bx0+1)/fn, float32(by1-by0+1)/fn
	return []float32{
		float32(math.Sqrt(sum / area)), float32(math.Sqrt(float64(marks) / area)),
		float32(bx0) / fn, float32(by0) / fn, float32(bx1+1) / fn, float32(by1+1) / fn, w, h,
		float32(math.Log(float64(w) / float64(h))),
		float32(cx), float32(cy), float32(vx), float32(vy), float32(cxy) * 10,
		float32(math.Log(float64(f.x1-f.x0) / float64(f.y1-f.y0)))}
}

// gridMeans348 returns the mean of p (n x n) over the cells of a 3 x 3, a
// 4 x 4 and an 8 x 8 grid (pixel x is in cell column x*g/n).
func gridMeans348(p []float32, n int) (g3, g4, g8 []float32) {
	return gridMeansRuns(p, n, 3), gridMeansRuns(p, n, 4), gridMeansRuns(p, n, 8)
}

// gridMeansRuns is one g x g grid: each cell sums its pixels row by row,
// left to right, in a register per run of pixels of one cell.
func gridMeansRuns(p []float32, n, g int) []float32 {
	out := make([]float32, g*g)
	var bounds [17]int // cell column j covers x in [bounds[j], bounds[j+1])
	for j, x := 0, 0; j <= g; j++ {
		for x < n && x*g/n < j {
			x++
		}
		bounds[j] = x
	}
	rows := make([]int, g)
	for y := 0; y < n; y++ {
		cy := y * g / n
		rows[cy]++
		row := p[y*n : (y+1)*n]
		sums := out[cy*g : cy*g+g]
		for j := 0; j < g; j++ {
			acc := sums[j]
			for _, v := range row[bounds[j]:bounds[j+1]] {
				acc += v
			}
			sums[j] = acc
		}
	}
	for cy := 0; cy < g; cy++ {
		for j := 0; j < g; j++ {
			out[cy*g+j] /= float32(rows[cy] * (bounds[j+1] - bounds[j]))
		}
	}
	return out
}

func sqrtAll(v []float32) []float32 {
	for i, x := range v {
		v[i] = float32(math.Sqrt(float64(max(x, 0))))
	}
	return v
}

// inkLevels: the share of image pixels at each of 8 ink levels.
func inkLevels(f *frame) []float32 {
	out := make([]float32, 8)
	total := 0
	for i, in := range f.inside {
		if in {
			out[min(7, int(f.ink[i]*8))]++
			total++
		}
	}
	for i := range out {
		out[i] = float32(math.Sqrt(float64(out[i]) / float64(max(total, 1))))
	}
	return out
}

// radialAngular: ink in 8 rings around the ink centroid (out to the farthest
// mark) and in 8 angular sectors.
func radialAngular(ink []float32, n int) []float32 {
	var sum, sx, sy float64
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := float64(ink[y*n+x])
			sum += v
			sx += v * float64(x)
			sy += v * float64(y)
		}
	}
	out := make([]float32, 16)
	if sum == 0 {
		return out
	}
	cx, cy := sx/sum, sy/sum
	r2max := 0.0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if ink[y*n+x] > inkThreshold {
				dx, dy := float64(x)-cx, float64(y)-cy
				r2max = max(r2max, dx*dx+dy*dy)
			}
		}
	}
	rmax := max(math.Sqrt(r2max), 1)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := float64(ink[y*n+x])
			if v == 0 {
				continue
			}
			dx, dy := float64(x)-cx, float64(y)-cy
			r := min(7, int(math.Sqrt(dx*dx+dy*dy)/rmax*8))
			out[r] += float32(v)
			out[8+octant(dx, dy)] += float32(v)
		}
	}
	for i := range out {
		out[i] = float32(math.Sqrt(float64(out[i]) / sum))
	}
	return out
}

// octant numbers the 8 sectors of 45 degrees around the origin, from the
// direction of -x counter-clockwise in image coordinates, without trigonometry.
func octant(dx, dy float64) int {
	ax, ay := math.Abs(dx), math.Abs(dy)
	switch {
	case dx < 0 && dy < 0:
		if ax > ay {
			return 0
		}
		return 1
	case dx >= 0 && dy < 0:
		if ay > ax {
			return 2
		}
		return 3
	case dx >= 0:
		if ax > ay {
			return 4
		}
		return 5
	default:
		if ay > ax {
			return 6
		}
		return 7
	}
}

// halve averages 2x2 blocks: an n/2 x n/2 plane.
func halve(p []float32, n int) []float32 {
	m := n / 2
	out := make([]float32, m*m)
	for y := 0; y < m; y++ {
		a, b := p[2*y*n:], p[(2*y+1)*n:]
		for x := 0; x < m; x++ {
			out[y*m+x] = (a[2*x] + a[2*x+1] + b[2*x] + b[2*x+1]) / 4
		}
	}
	return out
}

// projections: row and column ink profiles in bins, each summing to 1.
func projections(p []float32, n, bins int) []float32 {
	out := make([]float32, 2*bins)
	var total float32
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := p[y*n+x]
			out[y*bins/n] += v
			out[bins+x*bins/n] += v
			total += v
		}
	}
	for i := range out {
		out[i] = float32(math.Sqrt(float64(out[i] / max(total, 1e-6))))
	}
	return out
}

// symmetry: how different the drawing is from its mirror images, left-right
// overall and in 4 horizontal bands, and top-bottom (0 = symmetric).
func symmetry(p []float32, n int) []float32 {
	out := make([]float32, 6)
	var lrD, lrS, tbD, tbS float32
	bandD, bandS := make([]float32, 4), make([]float32, 4)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := p[y*n+x]
			dl := abs32(v - p[y*n+n-1-x])
			dt := abs32(v - p[(n-1-y)*n+x])
			lrD += dl
			lrS += v
			tbD += dt
			tbS += v
			bandD[y*4/n] += dl
			bandS[y*4/n] += v
		}
	}
	out[0] = lrD / max(2*lrS, 1e-6)
	out[1] = tbD / max(2*tbS, 1e-6)
	for i := 0; i < 4; i++ {
		out[2+i] = bandD[i] / max(2*bandS[i], 1e-6)
	}
	return out
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// hogCells holds per-cell orientation histograms and structure tensors on a g x g grid.
type hogCells struct {
	g     int
	hist  []float32 // g*g*hogBins
	j     []float32 // g*g*3: sum gx^2, gy^2, gx*gy
	total float32
}

// hog computes Sobel gradients of p and accumulates magnitude-weighted,
// linearly interpolated orientation histograms on a g x g grid.
func hog(p []float32, n, g int) *hogCells {
	h := &hogCells{g: g, hist: make([]float32, g*g*hogBins), j: make([]float32, g*g*3)}
	// the cell column of each x, once: two integer divisions a pixel were a
	// third of the loop's time
	cellX := make([]int, n)
	for x := range cellX {
		cellX[x] = x * g / n
	}
	hist, jt := h.hist, h.j // locals: the compiler keeps h's fields in memory
	var total float32
	// gradients of the interior (the border of a padded frame holds no marks)
	for y := 1; y < n-1; y++ {
		up, mid, dn := p[(y-1)*n:y*n], p[y*n:(y+1)*n], p[(y+1)*n:(y+2)*n]
		row := (y * g / n) * g
		for x := 1; x < n-1; x++ {
			gx := (up[x+1] + 2*mid[x+1] + dn[x+1]) - (up[x-1] + 2*mid[x-1] + dn[x-1])
			gy := (dn[x-1] + 2*dn[x] + dn[x+1]) - (up[x-1] + 2*up[x] + up[x+1])
			m2 := gx*gx + gy*gy
			if m2 < 1e-6 {
				continue
			}
			mag := float32(math.Sqrt(float64(m2)))
			// The unsigned gradient direction o in [0, 1) (0 to 180 degrees),
			// from a rational approximation of atan (error < 0.3 degrees).
			// Written here, not called: the compiler will not inline a
			// function this size, and the call was a fifth of hog's time.
			// orientation (features_test.go) is the same formula on its own:
			// TestOrientationApproximation checks its accuracy, TestHogMatchesReference
			// that hog computes it.
			ox, oy := gx, gy
			if oy < 0 || (oy == 0 && ox < 0) {
				ox, oy = -ox, -oy
			}
			ax, ay := abs32(ox), abs32(oy)
			var a float32
			if ax >= ay {
				t := ay / ax
				a = t * (0.7853982 + 0.2447*(1-t) + 0.0663*(1-t)*t)
			} else {
				t := ax / ay
				a = 1.5707964 - t*(0.7853982+0.2447*(1-t)+0.0663*(1-t)*t)
			}
			if ox < 0 {
				a = 3.1415927 - a
			}
			o := a / 3.1415927
			if o >= 1 {
				o = 0
			}
			fb := float64(o)*hogBins - 0.5
			b0 := int(math.Floor(fb)) // -1 .. hogBins-1
			w1 := float32(fb - float64(b0))
			b1 := b0 + 1
			if b1 == hogBins {
				b1 = 0
			}
			if b0 < 0 {
				b0 = hogBins - 1
			}
			c := row + cellX[x]
			cell := hist[c*hogBins : c*hogBins+hogBins : c*hogBins+hogBins]
			cell[b0] += mag * (1 - w1)
			cell[b1] += mag * w1
			jc := jt[3*c : 3*c+3 : 3*c+3]
			jc[0] += gx * gx
			jc[1] += gy * gy
			jc[2] += gx * gy
			total += mag
		}
	}
	h.total = total
	return h
}

// pooled sums the cells into a k x k grid (k divides g) and normalises by
// the total gradient, square-rooted (Hellinger) to tame large values.
func (h *hogCells) pooled(k int) []float32 {
	out := make([]float32, k*k*hogBins)
	for cy := 0; cy < h.g; cy++ {
		for cx := 0; cx < h.g; cx++ {
			o := ((cy*k/h.g)*k + cx*k/h.g) * hogBins
			for b := 0; b < hogBins; b++ {
				out[o+b] += h.hist[(cy*h.g+cx)*hogBins+b]
			}
		}
	}
	for i := range out {
		out[i] = float32(math.Sqrt(float64(out[i] / max(h.total, 1e-6))))
	}
	return out
}

// coherence: per cell and overall, how aligned the gradients are
// ((l1-l2)/(l1+l2) of the structure tensor): 1 for straight strokes, lower
// for crossings and scribbles.
func (h *hogCells) coherence() []float32 {
	out := make([]float32, h.g*h.g+1)
	var a, b, c float32
	for i := 0; i < h.g*h.g; i++ {
		out[i] = coh(h.j[3*i], h.j[3*i+1], h.j[3*i+2])
		a, b, c = a+h.j[3*i], b+h.j[3*i+1], c+h.j[3*i+2]
	}
	out[h.g*h.g] = coh(a, b, c)
	return out
}

func coh(xx, yy, xy float32) float32 {
	s := xx + yy
	if s < 1e-6 {
		return 0
	}
	return float32(math.Sqrt(float64((xx-yy)*(xx-yy)+4*xy*xy))) / s
}

// strokeStats: outline share, mean stroke width (area over half the
// outline), and the histogram of how many of its 8 neighbours each mark
// pixel has (line ends, lines, junctions, filled areas).
func strokeStats(mask []bool, n int) []float32 {
	at := func(x, y int) bool { return x >= 0 && y >= 0 && x < n && y < n && mask[y*n+x] }
	nb := make([]float32, 9)
	area, edge := 0, 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if !mask[y*n+x] {
				continue
			}
			area++
			c := 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if (dx != 0 || dy != 0) && at(x+dx, y+dy) {
						c++
					}
				}
			}
			nb[c]++
			if !at(x-1, y) || !at(x+1, y) || !at(x, y-1) || !at(x, y+1) {
				edge++
			}
		}
	}
	out := make([]float32, 0, 11)
	width := float32(0)
	if edge > 0 {
		width = float32(area) / (float32(edge) / 2)
	}
	out = append(out, float32(math.Sqrt(float64(edge)/float64(n*n))), float32(math.Log1p(float64(width))))
	for _, c := range nb {
		out = append(out, float32(math.Sqrt(float64(c)/float64(max(area, 1)))))
	}
	return out
}

// components: connected parts of the marks (8-connected) and enclosed holes
// (4-connected paper regions that do not touch the border).
func components(mask []bool, n int) []float32 {
	// Runs of equal pixels per row, joined by union-find: marks to the runs
	// of the rows next to them that touch diagonally too (8-connected), paper
	// only to runs that overlap (4-connected). The same parts as a flood
	// fill, listed in the order of their first pixel.
	type run struct {
		x0, x1 int32 // [x0, x1)
		y      int32
		ink    bool
	}
	runs := make([]run, 0, 4*n)
	rowStart := make([]int, n+1)
	for y := 0; y < n; y++ {
		rowStart[y] = len(runs)
		row := mask[y*n : (y+1)*n]
		for x := 0; x < n; {
			v := row[x]
			e := x + 1
			for e < n && row[e] == v {
				e++
			}
			runs = append(runs, run{int32(x), int32(e), int32(y), v})
			x = e
		}
	}
	rowStart[n] = len(runs)
	parent := make([]int32, len(runs))
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(i int32) int32
	find = func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		if ra < rb {
			parent[rb] = ra
		} else if rb < ra {
			parent[ra] = rb
		}
	}
	for y := 1; y < n; y++ {
		k, ie := rowStart[y-1], rowStart[y]
		for j := rowStart[y]; j < rowStart[y+1]; j++ {
			b := runs[j]
			for k < ie && runs[k].x1 < b.x0 { // ends before b, even diagonally
				k++
			}
			for m := k; m < ie && runs[m].x0 <= b.x1; m++ {
				a := runs[m]
				if a.ink != b.ink {
					continue
				}
				if a.ink || (a.x0 < b.x1 && b.x0 < a.x1) { // marks: diagonal neighbours count
					union(int32(m), int32(j))
				}
			}
		}
	}
	size := make([]int, len(runs))
	border := make([]bool, len(runs))
	for i, r := range runs {
		root := find(int32(i))
		size[root] += int(r.x1 - r.x0)
		if r.y == 0 || r.y == int32(n-1) || r.x0 == 0 || r.x1 == int32(n) {
			border[root] = true
		}
	}
	var sizes []int
	total, holes, holeArea := 0, 0, 0
	for i, r := range runs {
		if parent[i] != int32(i) { // roots are the lowest index: the first run
			continue
		}
		if r.ink {
			sizes = append(sizes, size[i])
			total += size[i]
		} else if !border[i] {
			holes++
			holeArea += size[i]
		}
	}
	out := make([]float32, 14)
	if total == 0 {
		return out
	}
	first, second, small := 0, 0, 0
	hist := make([]float32, 8) // share of the marks in parts of size (share of all marks) in log2 bins
	for _, s := range sizes {
		if s > first {
			first, second = s, first
		} else if s > second {
			second = s
		}
		share := float64(s) / float64(total)
		if share < 0.001 || s <= 2 {
			small++
		}
		b := min(7, int(-math.Log2(share)))
		hist[b] += float32(share)
	}
	out[0] = float32(math.Log1p(float64(len(sizes))))
	out[1] = float32(first) / float32(total)
	out[2] = float32(second) / float32(total)
	out[3] = float32(math.Log1p(float64(small)))
	out[4] = float32(math.Log1p(float64(holes)))
	out[5] = float32(math.Sqrt(float64(holeArea) / float64(n*n)))
	for i, v := range hist {
		out[6+i] = float32(math.Sqrt(float64(v)))
	}
	return out
}

// runLengths: histograms of horizontal and vertical mark runs (1, 2, 3-4,
// 5-8, 9-16, 17+ pixels), as shares of all runs.
func runLengths(mask []bool, n int) []float32 {
	out := make([]float32, 12)
	bin := func(l int) int { return min(5, int(math.Ceil(math.Log2(float64(l))))) }
	var hr, vr float32
	for a := 0; a < n; a++ {
		lh, lv := 0, 0
		for b := 0; b <= n; b++ {
			if b < n && mask[a*n+b] {
				lh++
			} else if lh > 0 {
				out[bin(lh)]++
				hr++
				lh = 0
			}
			if b < n && mask[b*n+a] {
				lv++
			} else if lv > 0 {
				out[6+bin(lv)]++
				vr++
				lv = 0
			}
		}
	}
	for i := 0; i < 6; i++ {
		out[i] = float32(math.Sqrt(float64(out[i] / max(hr, 1))))
		out[6+i] = float32(math.Sqrt(float64(out[6+i] / max(vr, 1))))
	}
	return out
}

// lbp: uniform local binary patterns at radius r over the pixels that have
// some local contrast (9 uniform codes by count of brighter neighbours, one
// for the rest) and the share of such pixels.
func lbp(p []float32, n, r int, scratch []float32) []float32 {
	out := make([]float32, 11)
	var cnt [10]int
	textured := 0
	// the 3 x 3 window's range from per-row ranges of 3 pixels (min and max
	// are exact: the same test as over the 8 neighbours and the centre)
	if len(scratch) < 2*n*n {
		scratch = make([]float32, 2*n*n)
	}
	lo3, hi3 := scratch[:n*n], scratch[n*n:2*n*n]
	for y := 0; y < n; y++ {
		row := p[y*n : (y+1)*n]
		for x := r; x < n-r; x++ {
			lo3[y*n+x] = fmin(fmin(row[x-r], row[x]), row[x+r])
			hi3[y*n+x] = fmax(fmax(row[x-r], row[x]), row[x+r])
		}
	}
	for y := r; y < n-r; y++ {
		up, mid, dn := p[(y-r)*n:(y-r+1)*n], p[y*n:(y+1)*n], p[(y+r)*n:(y+r+1)*n]
		lu, lm, ld := lo3[(y-r)*n:(y-r+1)*n], lo3[y*n:(y+1)*n], lo3[(y+r)*n:(y+r+1)*n]
		hu, hm, hd := hi3[(y-r)*n:(y-r+1)*n], hi3[y*n:(y+1)*n], hi3[(y+r)*n:(y+r+1)*n]
		for x := r; x < n-r; x++ {
			if fmax(fmax(hu[x], hm[x]), hd[x])-fmin(fmin(lu[x], lm[x]), ld[x]) < 0.1 {
				continue
			}
			c := mid[x]
			// neighbours clockwise from the top-left, as bits 0..7
			t := c + 0.05
			m := b2u(up[x-r] >= t) | b2u(up[x] >= t)<<1 | b2u(up[x+r] >= t)<<2 | b2u(mid[x+r] >= t)<<3 |
				b2u(dn[x+r] >= t)<<4 | b2u(dn[x] >= t)<<5 | b2u(dn[x-r] >= t)<<6 | b2u(mid[x-r] >= t)<<7
			textured++
			if bits.OnesCount8(m^bits.RotateLeft8(m, -1)) <= 2 {
				cnt[bits.OnesCount8(m)]++
			} else {
				cnt[9]++
			}
		}
	}
	for i := 0; i < 10; i++ {
		out[i] = float32(math.Sqrt(float64(cnt[i]) / float64(max(textured, 1))))
	}
	out[10] = float32(math.Sqrt(float64(textured) / float64((n-2*r)*(n-2*r))))
	return out
}

// colour: over the marks, weighted by ink: hue histogram (12 bins, weighted
// by chroma), achromatic share, lightness (6) and chroma (4) histograms,
// the number of hues used, hue per quadrant (6 hues + grey, 4 quadrants),
// mean colour of the marks and of the whole image.
func colour(f *frame) []float32 {
	n := f.n
	hue := make([]float32, 12)
	light := make([]float32, 6)
	chr := make([]float32, 4)
	quad := make([]float32, 28)
	quadInk := make([]float32, 4)
	var inkSum, achrom, mr, mg, mb, ar, ag, ab float32
	inside := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			i := y*n + x
			if !f.inside[i] {
				continue
			}
			inside++
			r, g, b := f.r[i], f.g[i], f.b[i]
			ar, ag, ab = ar+r, ag+g, ab+b
			w := f.ink[i]
			if w <= 0.05 {
				continue
			}
			inkSum += w
			mr, mg, mb = mr+w*r, mg+w*g, mb+w*b
			light[min(5, int(f.y[i]*6))] += w
			c := chroma(r, g, b)
			chr[min(3, int(c*4))] += w
			q := (y*2/n)*2 + x*2/n
			quadInk[q] += w
			if c < 0.15 {
				achrom += w
				quad[q*7+6] += w
				continue
			}
			h := hueOf(r, g, b, c)
			hue[min(11, int(h*12))] += w * c
			quad[q*7+min(5, int(h*6))] += w
		}
	}
	out := make([]float32, 0, 58)
	d := max(inkSum, 1e-6)
	used := 0
	var colored float32
	for _, v := range hue {
		colored += v
	}
	for _, v := range hue {
		if colored > 0 && v > 0.05*colored {
			used++
		}
		out = append(out, float32(math.Sqrt(float64(v/d))))
	}
	out = append(out, achrom/d)
	for _, v := range light {
		out = append(out, float32(math.Sqrt(float64(v/d))))
	}
	for _, v := range chr {
		out = append(out, float32(math.Sqrt(float64(v/d))))
	}
	out = append(out, float32(used)/12)
	for q := 0; q < 4; q++ {
		for k := 0; k < 7; k++ {
			out = append(out, float32(math.Sqrt(float64(quad[q*7+k]/max(quadInk[q], 1e-6)))))
		}
	}
	if inkSum > 0 {
		out = append(out, mr/inkSum, mg/inkSum, mb/inkSum)
	} else {
		out = append(out, 1, 1, 1)
	}
	fi := float32(max(inside, 1))
	out = append(out, ar/fi, ag/fi, ab/fi)
	return out
}

// hueOf returns the HSV hue in [0, 1).
func hueOf(r, g, b, c float32) float32 {
	mx := max(r, g, b)
	var h float32
	switch mx {
	case r:
		h = (g - b) / c
		if h < 0 {
			h += 6
		}
	case g:
		h = (b-r)/c + 2
	default:
		h = (r-g)/c + 4
	}
	h /= 6
	if h >= 1 {
		h -= 1
	}
	return h
}

// fmin and fmax are min and max for values that are never NaN (the
// builtins' NaN and signed-zero handling is slow in inner loops).
func fmin(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func fmax(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// momentCrop resamples p (n x n) into an m x m plane centred on the ink's
// centroid, its half-width normSpan times the ink's spread (the root mean
// square distance of the ink from the centroid per axis): the same drawing
// shifted or scaled on the paper gives the same plane, and unlike the
// bounding box one stray mark moves it only by its share of the ink.
// Bilinear sampling; outside the frame is paper.
func momentCrop(p []float32, n, m int) []float32 {
	var sum, sx, sy, sxx, syy float64
	for y := 0; y < n; y++ {
		row := p[y*n : (y+1)*n]
		var rs, rx, rxx float64
		for x, v := range row {
			w := float64(v)
			rs += w
			rx += w * float64(x)
			rxx += w * float64(x) * float64(x)
		}
		sum += rs
		sx += rx
		sxx += rxx
		sy += rs * float64(y)
		syy += rs * float64(y) * float64(y)
	}
	out := make([]float32, m*m)
	cx, cy, half := float64(n-1)/2, float64(n-1)/2, float64(n)/2
	if sum > 0 {
		cx, cy = sx/sum, sy/sum
		sd := math.Sqrt(max(0, (sxx/sum-cx*cx+syy/sum-cy*cy)/2))
		half = max(normSpan*sd, 2)
	}
	step := 2 * half / float64(m)
	at := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= n || y >= n {
			return 0
		}
		return p[y*n+x]
	}
	for j := 0; j < m; j++ {
		sy := cy - half + (float64(j)+0.5)*step
		y0 := int(math.Floor(sy))
		ay := float32(sy - float64(y0))
		for i := 0; i < m; i++ {
			sx := cx - half + (float64(i)+0.5)*step
			x0 := int(math.Floor(sx))
			ax := float32(sx - float64(x0))
			out[j*m+i] = (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
		}
	}
	return out
}
