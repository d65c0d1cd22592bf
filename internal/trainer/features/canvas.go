package features

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"sync"
)

// plane is an n x n float32 image, row-major.
type plane struct {
	n   int
	pix []float32
}

func newPlane(n int) *plane { return &plane{n: n, pix: make([]float32, n*n)} }

// frame is the whole drawing fitted into an n x n square (aspect kept, the
// rest padded with paper): colour, luminance and "ink" (how much a pixel
// differs from the paper: darker or more colourful), and which pixels are
// image rather than padding.
type frame struct {
	n          int
	r, g, b, y []float32
	ink        []float32
	inside     []bool
	x0, y0     int // the image's region inside the square
	x1, y1     int
	paper      [3]float32 // the paper's RGB (paperColour), for white balance

	cnt, mx []float32                          // scratch of newFrame
	tx      []int32                            // scratch of shrinkFast
	colours *[1 << colourCacheBits]colourEntry // shrinkFast's colour -> ink cache
	mask    []bool                             // marks, set by describe
	scratch []float32                          // 2*n*n, scratch of lbp
	row     []float32                          // scratch of newFrame
}

// frames are pooled: a descriptor allocates ~0.6 MB of planes otherwise,
// and the garbage collector's pauses cost more than clearing them.
var framePool = sync.Pool{New: func() any {
	n := frameSize
	return &frame{n: n, r: make([]float32, n*n), g: make([]float32, n*n), b: make([]float32, n*n),
		y: make([]float32, n*n), ink: make([]float32, n*n), inside: make([]bool, n*n),
		cnt: make([]float32, n*n), mx: make([]float32, n*n),
		mask: make([]bool, n*n), scratch: make([]float32, 2*n*n)}
}}

func getFrame(n int) *frame {
	if n != frameSize {
		return &frame{n: n, r: make([]float32, n*n), g: make([]float32, n*n), b: make([]float32, n*n),
			y: make([]float32, n*n), ink: make([]float32, n*n), inside: make([]bool, n*n),
			cnt: make([]float32, n*n), mx: make([]float32, n*n),
			mask: make([]bool, n*n), scratch: make([]float32, 2*n*n)}
	}
	f := framePool.Get().(*frame)
	for _, p := range [][]float32{f.r, f.g, f.b, f.y, f.ink, f.cnt, f.mx} {
		clear(p)
	}
	clear(f.inside)
	return f
}

func putFrame(f *frame) {
	switch {
	case f.n != frameSize:
	case f.r == nil:
		inkFramePool.Put(f)
	default:
		framePool.Put(f)
	}
}

// inkFramePool holds the frames of warped copies (warpFrame): ink, the
// inside mask and describe's scratch only, not cleared (warpFrame writes
// every ink pixel and copies inside). No colour planes: the colour block is
// never computed on a copy, and reading one would fail loudly, not read
// another drawing's colours. Clearing the seven planes of a full frame was
// 0.45 MB of memory writes a copy.
var inkFramePool = sync.Pool{New: func() any { return newInkFrame(frameSize) }}

func newInkFrame(n int) *frame {
	return &frame{n: n, ink: make([]float32, n*n), inside: make([]bool, n*n),
		mask: make([]bool, n*n), scratch: make([]float32, 2*n*n)}
}

// getInkFrame is getFrame for warped copies: an ink-only frame, pooled at
// frameSize, not cleared.
func getInkFrame(n int) *frame {
	if n != frameSize {
		return newInkFrame(n)
	}
	return inkFramePool.Get().(*frame)
}

// rgbRow writes row y of img as linear-ish 0..1 RGB composited on white.
type rowReader func(y int, dst []float32)

func newRowReader(img image.Image) rowReader {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.NRGBA:
		return func(y int, dst []float32) {
			p := m.Pix[(y)*m.Stride : (y)*m.Stride+4*w]
			for x := 0; x < w; x++ {
				q := p[4*x : 4*x+4 : 4*x+4]
				if q[3] == 255 {
					dst[3*x], dst[3*x+1], dst[3*x+2] = byteUnit[q[0]], byteUnit[q[1]], byteUnit[q[2]]
					continue
				}
				a := byteUnit[q[3]]
				dst[3*x] = byteUnit[q[0]]*a + 1 - a
				dst[3*x+1] = byteUnit[q[1]]*a + 1 - a
				dst[3*x+2] = byteUnit[q[2]]*a + 1 - a
			}
		}
	case *image.RGBA:
		return func(y int, dst []float32) {
			p := m.Pix[(y)*m.Stride : (y)*m.Stride+4*w]
			for x := 0; x < w; x++ {
				na := 1 - byteUnit[p[4*x+3]]
				dst[3*x] = byteUnit[p[4*x]] + na
				dst[3*x+1] = byteUnit[p[4*x+1]] + na
				dst[3*x+2] = byteUnit[p[4*x+2]] + na
			}
		}
	case *image.Gray:
		return func(y int, dst []float32) {
			p := m.Pix[y*m.Stride : y*m.Stride+w]
			for x := 0; x < w; x++ {
				v := byteUnit[p[x]]
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	case *image.Paletted:
		pal := make([][3]float32, 256)
		for i := range pal {
			c := color.Color(color.Black)
			if i < len(m.Palette) {
				c = m.Palette[i]
			}
			pal[i] = rgbOnWhite(c)
		}
		return func(y int, dst []float32) {
			p := m.Pix[y*m.Stride : y*m.Stride+w]
			for x := 0; x < w; x++ {
				c := pal[p[x]]
				dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.YCbCr:
		return func(y int, dst []float32) {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r)/255, float32(g)/255, float32(bb)/255
			}
		}
	default:
		return func(y int, dst []float32) {
			for x := 0; x < w; x++ {
				c := rgbOnWhite(img.At(b.Min.X+x, b.Min.Y+y))
				dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
			}
		}
	}
}

// byteUnit maps a byte to 0..1.
var byteUnit = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return
}()

func rgbOnWhite(c color.Color) [3]float32 {
	r, g, b, a := c.RGBA()
	na := 1 - float32(a)/65535
	return [3]float32{float32(r)/65535 + na, float32(g)/65535 + na, float32(b)/65535 + na}
}

// newFrame fits img into an n x n square. The paper is estimated on the
// source pixels first (see paperLevel), so ink is measured at full
// resolution; when shrinking, a frame pixel's ink is the mean of the mean
// and the maximum ink it covers, so that a thin pencil line in a large scan
// stays a mark instead of fading into the paper, while isolated specks do
// not. Colour is the plain box-filter average; enlarging is nearest neighbour.
func newFrame(img image.Image, n int) *frame {
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	if bnd.Min != (image.Point{}) {
		img = originImage{img}
	}
	f := getFrame(n)
	scale := float64(n) / float64(max(w, h))
	rw, rh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	rw, rh = min(rw, n), min(rh, n)
	f.x0, f.y0 = (n-rw)/2, (n-rh)/2
	f.x1, f.y1 = f.x0+rw, f.y0+rh
	read := newRowReader(img)
	if cap(f.row) < 3*w {
		f.row = make([]float32, 3*w)
	}
	row := f.row[:3*w]
	f.paper = paperColour(read, row, w, h)
	pr, pg, pb := max(f.paper[0], 0.3), max(f.paper[1], 0.3), max(f.paper[2], 0.3)
	// white balance on the paper: a pixel that is the paper times k (ink on
	// grey or tinted paper) reads as the grey k on white, so its ink is 1-k
	// and its chroma 0; coloured ink stays coloured.
	inkOf := func(r, g, b float32) float32 {
		r, g, b = min(r/pr, 1), min(g/pg, 1), min(b/pb, 1)
		return clamp01(max(1-(0.299*r+0.587*g+0.114*b), chroma(r, g, b)))
	}
	cnt := f.cnt
	fast, final := false, false // final: the image's pixels hold their final values already
	if scale <= 1 {
		fast, final = shrinkFast(f, img, rw, rh, w, h, inkOf)
	}
	if fast {
		// done by the byte-level fast path (same values as below)
	} else if scale <= 1 {
		mx := f.mx
		tx := make([]int, w)
		for x := 0; x < w; x++ {
			tx[x] = f.x0 + min(rw-1, int(float64(x)*float64(rw)/float64(w)))
		}
		for y := 0; y < h; y++ {
			ty := f.y0 + min(rh-1, int(float64(y)*float64(rh)/float64(h)))
			read(y, row)
			o := ty * n
			rr, gg, bb, kk, mm, cc := f.r[o:o+n], f.g[o:o+n], f.b[o:o+n], f.ink[o:o+n], mx[o:o+n], cnt[o:o+n]
			for x, t := range tx {
				r, g, b := row[3*x], row[3*x+1], row[3*x+2]
				k := inkOf(r, g, b)
				rr[t] += r
				gg[t] += g
				bb[t] += b
				kk[t] += k
				mm[t] = max(mm[t], k)
				cc[t]++
			}
		}
		for i, c := range cnt {
			if c > 0 {
				f.ink[i] = (f.ink[i]/c + mx[i]) / 2
			}
		}
	} else {
		enlarge(f, img, read, row, w, h, inkOf, pr, pg, pb)
		return f
	}
	for i, c := range cnt {
		if c > 0 && final {
			continue
		}
		if c > 0 {
			inv := 1 / c
			f.r[i], f.g[i], f.b[i] = clamp01(f.r[i]*inv), clamp01(f.g[i]*inv), clamp01(f.b[i]*inv)
			f.inside[i] = true
		} else {
			f.r[i], f.g[i], f.b[i] = 1, 1, 1
		}
	}
	// the colours white-balanced on the paper too (the colour block reads
	// the drawing's colours, not the paper's)
	for i, in := range f.inside {
		if in {
			f.r[i], f.g[i], f.b[i] = min(f.r[i]/pr, 1), min(f.g[i]/pg, 1), min(f.b[i]/pb, 1)
		}
		f.y[i] = 0.299*f.r[i] + 0.587*f.g[i] + 0.114*f.b[i]
	}
	return f
}

// enlarge is newFrame's scale > 1 branch, nearest neighbour: each source
// pixel's final values (ink, colour white-balanced on the paper, luminance)
// are computed once, when its row is read, and copied to the frame pixels
// it covers. The arithmetic is newFrame's per-pixel path in the same order
// (a count of 1 divides by 1), so the same values; it was a third of a small
// image's describe, mostly ink recomputed for repeated pixels.
func enlarge(f *frame, img image.Image, read rowReader, row []float32, w, h int, inkOf func(r, g, b float32) float32, pr, pg, pb float32) {
	n := f.n
	rw, rh := f.x1-f.x0, f.y1-f.y0
	var cache []float32 // per source pixel of the current row: r, g, b, y, ink
	if 5*w <= len(f.scratch) {
		cache = f.scratch[:5*w]
	} else {
		cache = make([]float32, 5*w)
	}
	final := func(r, g, b float32, c []float32) {
		k := inkOf(r, g, b)
		r, g, b = clamp01(r), clamp01(g), clamp01(b)
		r, g, b = min(r/pr, 1), min(g/pg, 1), min(b/pb, 1)
		c[0], c[1], c[2], c[3], c[4] = r, g, b, 0.299*r+0.587*g+0.114*b, k
	}
	// a grey image has 256 colours: their final values once, by byte
	gray, _ := img.(*image.Gray)
	var byByte [256 * 5]float32
	if gray != nil {
		for v := range 256 {
			u := byteUnit[v]
			final(u, u, u, byByte[5*v:5*v+5:5*v+5])
		}
	}
	last := -1
	for ty := 0; ty < rh; ty++ {
		sy := min(h-1, ty*h/rh)
		if sy != last {
			if gray != nil {
				p := gray.Pix[sy*gray.Stride : sy*gray.Stride+w]
				for x, v := range p {
					copy(cache[5*x:5*x+5], byByte[5*int(v):5*int(v)+5])
				}
			} else {
				read(sy, row)
				for x := 0; x < w; x++ {
					final(row[3*x], row[3*x+1], row[3*x+2], cache[5*x:5*x+5:5*x+5])
				}
			}
			last = sy
		}
		o := (f.y0+ty)*n + f.x0
		for tx := 0; tx < rw; tx++ {
			sx := min(w-1, tx*w/rw)
			c := cache[5*sx : 5*sx+5 : 5*sx+5]
			i := o + tx
			f.r[i], f.g[i], f.b[i], f.y[i], f.ink[i] = c[0], c[1], c[2], c[3], c[4]
			f.cnt[i] = 1
			f.inside[i] = true
		}
	}
	for i, in := range f.inside {
		if !in {
			f.r[i], f.g[i], f.b[i] = 1, 1, 1
			f.y[i] = 0.299*f.r[i] + 0.587*f.g[i] + 0.114*f.b[i]
		}
	}
}

// paperColour estimates the paper from about 64 x 64 evenly spread source
// pixels: the mean RGB of those at or above the 90th percentile of
// luminance (the brightest tenth is paper even when the drawing covers most
// of the sheet, where a median would land on the ink).
func paperColour(read rowReader, row []float32, w, h int) [3]float32 {
	var yh [256]int
	type px struct {
		l       int
		r, g, b float32
	}
	sy, sx := max(1, h/64), max(1, w/64)
	pxs := make([]px, 0, ((h+sy-1)/sy)*((w+sx-1)/sx))
	for y := 0; y < h; y += sy {
		read(y, row)
		for x := 0; x < w; x += sx {
			r, g, b := clamp01(row[3*x]), clamp01(row[3*x+1]), clamp01(row[3*x+2])
			l := int((0.299*r+0.587*g+0.114*b)*255 + 0.5)
			yh[l]++
			pxs = append(pxs, px{l, r, g, b})
		}
	}
	q := percentile(yh[:], len(pxs), 0.90)
	var sr, sg, sb float64
	k := 0
	for _, p := range pxs {
		if p.l >= q {
			sr, sg, sb = sr+float64(p.r), sg+float64(p.g), sb+float64(p.b)
			k++
		}
	}
	if k == 0 {
		return [3]float32{1, 1, 1}
	}
	return [3]float32{float32(sr / float64(k)), float32(sg / float64(k)), float32(sb / float64(k))}
}

func percentile(hist []int, total int, q float64) int {
	if total == 0 {
		return len(hist) - 1
	}
	want := int(math.Ceil(q * float64(total)))
	acc := 0
	for i, c := range hist {
		acc += c
		if acc >= want {
			return i
		}
	}
	return len(hist) - 1
}

func chroma(r, g, b float32) float32 {
	return max(r, g, b) - min(r, g, b)
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// originImage shifts an image so its bounds start at (0, 0).
type originImage struct{ image.Image }

func (o originImage) Bounds() image.Rectangle {
	b := o.Image.Bounds()
	return image.Rect(0, 0, b.Dx(), b.Dy())
}

func (o originImage) At(x, y int) color.Color {
	b := o.Image.Bounds()
	return o.Image.At(x+b.Min.X, y+b.Min.Y)
}

var integralPool = sync.Pool{New: func() any { return make([]float64, (frameSize+1)*(frameSize+1)) }}

// cropPlane resamples the region [x0,x1)x[y0,y1) of src (n x n) into an
// m x m plane, aspect kept and centred, by averaging the source pixels each
// target pixel covers (an integral image makes that O(1) per pixel).
func cropPlane(src []float32, n, x0, y0, x1, y1, m int) *plane {
	ii := integralPool.Get().([]float64)
	if len(ii) < (n+1)*(n+1) {
		ii = make([]float64, (n+1)*(n+1))
	}
	defer integralPool.Put(ii)
	clear(ii[:n+1]) // row 0; column 0 is set below
	for y := 0; y < n; y++ {
		var rs float64
		ii[(y+1)*(n+1)] = 0
		for x := 0; x < n; x++ {
			rs += float64(src[y*n+x])
			ii[(y+1)*(n+1)+x+1] = ii[y*(n+1)+x+1] + rs
		}
	}
	sum := func(ax, ay, bx, by int) float64 {
		return ii[by*(n+1)+bx] - ii[ay*(n+1)+bx] - ii[by*(n+1)+ax] + ii[ay*(n+1)+ax]
	}
	w, h := x1-x0, y1-y0
	s := float64(max(w, h)) / float64(m) // source pixels per target pixel
	rw, rh := max(1, int(math.Round(float64(w)/s))), max(1, int(math.Round(float64(h)/s)))
	rw, rh = min(rw, m), min(rh, m)
	ox, oy := (m-rw)/2, (m-rh)/2
	p := newPlane(m)
	for ty := 0; ty < rh; ty++ {
		ay := y0 + int(float64(ty)*float64(h)/float64(rh))
		by := max(ay+1, y0+int(float64(ty+1)*float64(h)/float64(rh)))
		for tx := 0; tx < rw; tx++ {
			ax := x0 + int(float64(tx)*float64(w)/float64(rw))
			bx := max(ax+1, x0+int(float64(tx+1)*float64(w)/float64(rw)))
			p.pix[(oy+ty)*m+ox+tx] = float32(sum(ax, ay, bx, by) / float64((bx-ax)*(by-ay)))
		}
	}
	return p
}

// shrinkFast is the scale <= 1 branch of newFrame for *image.RGBA and
// *image.NRGBA, reading bytes directly and reusing the ink of the previous
// pixel when the colour repeats (paper, strokes): the same arithmetic in the
// same order as the generic path, so the same values. It reports false for
// other image types.
func shrinkFast(f *frame, img image.Image, rw, rh, w, h int, inkOf func(r, g, b float32) float32) (ok, final bool) {
	var pix []byte
	var stride int
	premul := false
	switch m := img.(type) {
	case *image.RGBA:
		pix, stride, premul = m.Pix, m.Stride, true
	case *image.NRGBA:
		pix, stride = m.Pix, m.Stride
	default:
		return false, false
	}
	n := f.n
	mx, cnt := f.mx, f.cnt
	if f.colours == nil {
		f.colours = new([1 << colourCacheBits]colourEntry)
	}
	clear(f.colours[:]) // the ink of a colour depends on this image's paper
	tx := f.tx[:0]
	for x := 0; x < w; x++ {
		tx = append(tx, int32(f.x0+min(rw-1, int(float64(x)*float64(rw)/float64(w)))))
	}
	f.tx = tx
	lastKey := uint32(0)
	var lr, lg, lb, lk float32
	have := false
	px := func(q []byte) (float32, float32, float32, float32) {
		key := uint32(q[0]) | uint32(q[1])<<8 | uint32(q[2])<<16 | uint32(q[3])<<24
		if !have || key != lastKey {
			e := &f.colours[(key*2654435761)>>(32-colourCacheBits)]
			if e.ok && e.key == key {
				lr, lg, lb, lk = e.r, e.g, e.b, e.k
				lastKey, have = key, true
				return lr, lg, lb, lk
			}
			if premul {
				na := 1 - byteUnit[q[3]]
				lr, lg, lb = byteUnit[q[0]]+na, byteUnit[q[1]]+na, byteUnit[q[2]]+na
			} else if q[3] == 255 {
				lr, lg, lb = byteUnit[q[0]], byteUnit[q[1]], byteUnit[q[2]]
			} else {
				a := byteUnit[q[3]]
				lr = byteUnit[q[0]]*a + 1 - a
				lg = byteUnit[q[1]]*a + 1 - a
				lb = byteUnit[q[2]]*a + 1 - a
			}
			lk = inkOf(lr, lg, lb)
			*e = colourEntry{key, true, lr, lg, lb, lk}
			lastKey, have = key, true
		}
		return lr, lg, lb, lk
	}
	// an integer shrink factor k: every frame pixel is a k x k block, summed
	// in registers in the same order as the row-by-row accumulation below
	if k := w / rw; k > 0 && w == k*rw && h == k*rh && blockMap(tx, f.x0, k) {
		ok := true
		for y := 0; y < h && ok; y++ {
			ok = f.y0+min(rh-1, int(float64(y)*float64(rh)/float64(h))) == f.y0+y/k
		}
		if ok {
			var uKey uint32
			var uR, uG, uB, uInk, uY float32
			haveU := false
			for ty := 0; ty < rh; ty++ {
				o := (f.y0+ty)*n + f.x0
				for txx := 0; txx < rw; txx++ {
					if k == 2 {
						// a block of one colour (mostly paper): the sums
						// of the previous such block, same arithmetic
						a := pix[2*ty*stride+8*txx : 2*ty*stride+8*txx+8 : 2*ty*stride+8*txx+8]
						b := pix[(2*ty+1)*stride+8*txx : (2*ty+1)*stride+8*txx+8 : (2*ty+1)*stride+8*txx+8]
						ua, ub := binary.LittleEndian.Uint64(a), binary.LittleEndian.Uint64(b)
						if ua == ub && uint32(ua) == uint32(ua>>32) {
							key := uint32(ua)
							if !haveU || key != uKey {
								r, g, bb, kk := px(a[:4:4])
								ur, ug, ub2, uk, umx := r, g, bb, kk, max(0, kk)
								for range 3 {
									ur += r
									ug += g
									ub2 += bb
									uk += kk
									umx = max(umx, kk)
								}
								uR, uG, uB, uInk = ur, ug, ub2, (uk/4+umx)/2
								inv := 1 / float32(4)
								uR, uG, uB = clamp01(uR*inv), clamp01(uG*inv), clamp01(uB*inv)
								uY = 0.299*uR + 0.587*uG + 0.114*uB
								uKey, haveU = key, true
							}
							i := o + txx
							f.r[i], f.g[i], f.b[i], f.y[i] = uR, uG, uB, uY
							f.inside[i] = true
							f.ink[i] = uInk
							cnt[i] = 4
							continue
						}
					}
					var sr, sg, sb, sk, smx float32
					first := true
					for sy := ty * k; sy < ty*k+k; sy++ {
						p := pix[sy*stride+4*txx*k : sy*stride+4*(txx*k+k)]
						for sx := 0; sx < k; sx++ {
							q := p[4*sx : 4*sx+4 : 4*sx+4]
							var r, g, b, kk float32
							if key := uint32(q[0]) | uint32(q[1])<<8 | uint32(q[2])<<16 | uint32(q[3])<<24; have && key == lastKey {
								r, g, b, kk = lr, lg, lb, lk
							} else {
								r, g, b, kk = px(q)
							}
							if first {
								sr, sg, sb, sk, smx = r, g, b, kk, max(0, kk)
								first = false
								continue
							}
							sr += r
							sg += g
							sb += b
							sk += kk
							smx = max(smx, kk)
						}
					}
					c := float32(k * k)
					i := o + txx
					inv := 1 / c
					r, g, b := clamp01(sr*inv), clamp01(sg*inv), clamp01(sb*inv)
					f.r[i], f.g[i], f.b[i] = r, g, b
					f.y[i] = 0.299*r + 0.587*g + 0.114*b
					f.inside[i] = true
					f.ink[i] = (sk/c + smx) / 2
					cnt[i] = c
				}
			}
			return true, true
		}
	}
	for y := 0; y < h; y++ {
		ty := f.y0 + min(rh-1, int(float64(y)*float64(rh)/float64(h)))
		o := ty * n
		rr, gg, bb, kk, mm, cc := f.r[o:o+n], f.g[o:o+n], f.b[o:o+n], f.ink[o:o+n], mx[o:o+n], cnt[o:o+n]
		p := pix[y*stride : y*stride+4*w]
		for x, t := range tx {
			q := p[4*x : 4*x+4 : 4*x+4]
			key := uint32(q[0]) | uint32(q[1])<<8 | uint32(q[2])<<16 | uint32(q[3])<<24
			if !have || key != lastKey {
				if premul {
					na := 1 - byteUnit[q[3]]
					lr, lg, lb = byteUnit[q[0]]+na, byteUnit[q[1]]+na, byteUnit[q[2]]+na
				} else if q[3] == 255 {
					lr, lg, lb = byteUnit[q[0]], byteUnit[q[1]], byteUnit[q[2]]
				} else {
					a := byteUnit[q[3]]
					lr = byteUnit[q[0]]*a + 1 - a
					lg = byteUnit[q[1]]*a + 1 - a
					lb = byteUnit[q[2]]*a + 1 - a
				}
				lk = inkOf(lr, lg, lb)
				lastKey, have = key, true
			}
			rr[t] += lr
			gg[t] += lg
			bb[t] += lb
			kk[t] += lk
			mm[t] = max(mm[t], lk)
			cc[t]++
		}
	}
	for i, c := range cnt {
		if c > 0 {
			f.ink[i] = (f.ink[i]/c + mx[i]) / 2
		}
	}
	return true, false
}

func blockMap(tx []int32, x0, k int) bool {
	for x, t := range tx {
		if int(t) != x0+x/k {
			return false
		}
	}
	return true
}

// colourCacheBits sizes shrinkFast's direct-mapped cache of the values of
// the colours seen (noisy paper and anti-aliased strokes repeat colours).
const colourCacheBits = 10

type colourEntry struct {
	key        uint32
	ok         bool
	r, g, b, k float32
}
