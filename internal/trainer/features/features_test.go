package features

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestSubjectIndexTable(t *testing.T) {
	cases := map[string]int{
		"": 0, "unspecified": 0, "nonsense": 0, "TV": 1, "tv": 1, "airplane": 2, "house": 17,
		"House": 17, " ice cream ": 18, "ICE CREAM": 18, "watch": 27, "bear": 28, "whale": 45,
		"face": 46, "hand": 47, "person": 48, "family": 49, "abstract": 50, "other": 51, "tree": 26,
	}
	for s, want := range cases {
		if got := SubjectIndex(s); got != want {
			t.Errorf("SubjectIndex(%q) = %d, want %d", s, got, want)
		}
	}
}

func testDrawing(w, h int, shift int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for x := w / 4; x < 3*w/4; x++ {
		img.Set(x+shift, h/2, color.Black)
		img.Set(x+shift, h/2+1, color.NRGBA{200, 0, 0, 255})
	}
	for y := h / 4; y < 3*h/4; y++ {
		img.Set(w/4+shift, y, color.Black)
	}
	return img
}

func TestDescriptorDeterministicAndSized(t *testing.T) {
	s := CurrentSettings()
	if s.Dim != 832 || s.VisualDim != 768 {
		t.Fatalf("dims %d/%d, want 832/768", s.Dim, s.VisualDim)
	}
	a := Vector(testDrawing(256, 200, 0), "house")
	b := Vector(testDrawing(256, 200, 0), "house")
	if len(a) != s.Dim {
		t.Fatalf("len %d want %d", len(a), s.Dim)
	}
	for i := range a {
		if math.IsNaN(float64(a[i])) || math.IsInf(float64(a[i]), 0) {
			t.Fatalf("value %d not finite", i)
		}
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("value %d differs between runs: %v %v", i, a[i], b[i])
		}
	}
	if a[s.VisualDim+17] != 1 {
		t.Fatalf("house one-hot not set")
	}
	c := Vector(testDrawing(256, 200, 30), "house")
	same := true
	for i := range a {
		if a[i] != c[i] {
			same = false
		}
	}
	if same {
		t.Fatal("a shifted drawing gave the same vector")
	}
	// scratch buffers are reused: a vector computed after another image is the same
	Vector(testDrawing(900, 300, 100), "")
	a2 := Vector(testDrawing(256, 200, 0), "house")
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(a2[i]) {
			t.Fatalf("value %d changed after other images: %v %v", i, a[i], a2[i])
		}
	}
}

func TestImageFileVector(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.png")
	f, _ := os.Create(p)
	if err := png.Encode(f, testDrawing(64, 64, 0)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	v, err := ImageFileVector(p, "tree")
	if err != nil || len(v) != 832 || v[768+26] != 1 {
		t.Fatalf("ImageFileVector: %v len %d", err, len(v))
	}
	os.WriteFile(p, []byte("not an image"), 0o644)
	if _, err := ImageFileVector(p, ""); err == nil {
		t.Fatal("corrupt file gave no error")
	}
}

func TestOrientationApproximation(t *testing.T) {
	for deg := -180.0; deg <= 180; deg += 0.7 {
		a := deg * math.Pi / 180
		gx, gy := float32(math.Cos(a)), float32(math.Sin(a))
		want := math.Mod(a+2*math.Pi, math.Pi) / math.Pi
		got := float64(orientation(gx, gy))
		d := math.Abs(got - want)
		d = math.Min(d, 1-d) // 0 and 1 are the same direction
		if d > 0.3/180 {
			t.Fatalf("orientation at %.1f deg = %.4f, want %.4f", deg, got, want)
		}
	}
}

func TestOctant(t *testing.T) {
	seen := map[int]bool{}
	for k := 0; k < 8; k++ {
		a := -math.Pi + (float64(k)+0.5)*math.Pi/4
		o := octant(math.Cos(a), math.Sin(a))
		if o != k {
			t.Errorf("angle %.2f: octant %d, want %d", a, o, k)
		}
		seen[o] = true
	}
	if len(seen) != 8 {
		t.Fatal("octants not distinct")
	}
}

// A thin pencil line in a large scan must stay a mark after shrinking.
func TestThinLineSurvivesShrinking(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2048, 1536))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	for x := 200; x < 1800; x++ {
		for y := 700; y < 703; y++ {
			img.Pix[y*img.Stride+x] = 120 // a 3 px mid-grey line: 1/16 of a frame pixel
		}
	}
	f := newFrame(img, frameSize)
	marks := 0
	for _, v := range f.ink {
		if v > inkThreshold {
			marks++
		}
	}
	if marks < 90 {
		t.Fatalf("%d mark pixels, want the line (~100)", marks)
	}
}

// Grey paper reads like white: the same drawing gives nearly the same ink.
func TestPaperLevelNormalised(t *testing.T) {
	draw := func(paper uint8) image.Image {
		img := image.NewGray(image.Rect(0, 0, 128, 128))
		for i := range img.Pix {
			img.Pix[i] = paper
		}
		for x := 20; x < 100; x++ {
			for y := 60; y < 63; y++ {
				img.Pix[y*img.Stride+x] = 10
			}
		}
		return img
	}
	a, b := newFrame(draw(255), frameSize), newFrame(draw(200), frameSize)
	for i := range a.ink {
		if d := a.ink[i] - b.ink[i]; d > 0.1 || d < -0.1 {
			t.Fatalf("pixel %d: ink %.2f on white, %.2f on grey", i, a.ink[i], b.ink[i])
		}
	}
}

// A drawing that covers most of the sheet, on tinted paper (ink = paper x
// k), reads like the same drawing on white: version 1's median-chroma paper
// estimate landed on the ink and read the whole tinted sheet as ink.
func TestTintedPaperWhiteBalanced(t *testing.T) {
	draw := func(paper color.RGBA) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 112, 112))
		for y := 0; y < 112; y++ {
			for x := 0; x < 112; x++ {
				k := 1.0
				if x >= 10 && x < 102 && y >= 8 && y < 104 { // 70 % of the sheet
					k = 0.2 + 0.6*float64((x/7+y/5)%3)/2
				}
				img.SetRGBA(x, y, color.RGBA{uint8(float64(paper.R)*k + 0.5), uint8(float64(paper.G)*k + 0.5), uint8(float64(paper.B)*k + 0.5), 255})
			}
		}
		return img
	}
	a, b := newFrame(draw(color.RGBA{255, 255, 255, 255}), frameSize), newFrame(draw(color.RGBA{250, 238, 205, 255}), frameSize)
	for i := range a.ink {
		if d := a.ink[i] - b.ink[i]; d > 0.02 || d < -0.02 {
			t.Fatalf("pixel %d: ink %.3f on white, %.3f on tinted paper", i, a.ink[i], b.ink[i])
		}
	}
	putFrame(a)
	putFrame(b)
}

// The norm plane follows the ink: the same blob shifted by 10 px and scaled
// by 1.5 gives nearly the same plane.
func TestMomentCropFollowsTheInk(t *testing.T) {
	const n = frameSize
	blob := func(cx, cy, s float64) []float32 {
		p := make([]float32, n*n)
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				u, v := (float64(x)-cx)/s, (float64(y)-cy)/s
				if u*u/400+v*v/100 < 1 || (u > 0 && u < 6 && v > -25 && v < 0) {
					p[y*n+x] = 1
				}
			}
		}
		return p
	}
	a := momentCrop(blob(60, 64, 1), n, normSize)
	b := momentCrop(blob(70, 54, 1.5), n, normSize)
	var diff, ink float64
	for i := range a {
		diff += math.Abs(float64(a[i] - b[i]))
		ink += float64(a[i])
	}
	if diff/ink > 0.1 {
		t.Fatalf("norm planes differ by %.2f of the ink", diff/ink)
	}
}

// orientation returns the unsigned gradient direction in [0, 1) (0 to 180
// degrees) from a rational approximation of atan (error < 0.3 degrees).
// It is the formula hog computes inline, as a function for the tests
// (TestHogMatchesReference holds the two together).
func orientation(gx, gy float32) float32 {
	if gy < 0 || (gy == 0 && gx < 0) {
		gx, gy = -gx, -gy // unsigned: fold into the upper half-plane
	}
	ax, ay := abs32(gx), abs32(gy)
	var a float32 // angle in [0, pi/2] of (ax, ay)
	if ax >= ay {
		t := ay / ax
		a = t * (0.7853982 + 0.2447*(1-t) + 0.0663*(1-t)*t)
	} else {
		t := ax / ay
		a = 1.5707964 - t*(0.7853982+0.2447*(1-t)+0.0663*(1-t)*t)
	}
	if gx < 0 {
		a = 3.1415927 - a
	}
	o := a / 3.1415927
	if o >= 1 {
		o = 0
	}
	return o
}
