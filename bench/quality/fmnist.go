package main

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
)

// fmnistDir is where Debian's dataset-fashion-mnist puts the files.
const fmnistDir = "/usr/share/datasets/fashion-mnist"

// digits is one IDX split: 28×28 grey images (0 background, 255 ink) and labels.
type split struct {
	img    [][]byte
	labels []byte
}

func readIDX(name string) ([]byte, []int, error) {
	f, err := os.Open(filepath.Join(fmnistDir, name))
	if err != nil {
		return nil, nil, fmt.Errorf("%w (apt-get install dataset-fashion-mnist)", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return nil, nil, err
	}
	nd := int(b[3])
	dims := make([]int, nd)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
	}
	return b[4+4*nd:], dims, nil
}

func loadSplit(prefix string) (split, error) {
	px, dims, err := readIDX(prefix + "-images-idx3-ubyte.gz")
	if err != nil {
		return split{}, err
	}
	lb, _, err := readIDX(prefix + "-labels-idx1-ubyte.gz")
	if err != nil {
		return split{}, err
	}
	s := split{labels: lb}
	n := dims[1] * dims[2]
	for i := 0; i < dims[0]; i++ {
		s.img = append(s.img, px[i*n:(i+1)*n])
	}
	return s, nil
}

// ofClass returns the indices of the first n images of class c after skip.
func (s split) ofClass(c, skip, n int) []int {
	var out []int
	for i, l := range s.labels {
		if int(l) != c {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(out) == n {
			break
		}
		out = append(out, i)
	}
	return out
}

const renderSize = 112

// scan is how a drawing was put on paper: the changes of issue 15 item 4.
type scan struct {
	Name    string
	DX, DY  float64 // shift, px at 112
	Rotate  float64 // degrees
	Scale   float64 // 1 = unchanged
	Pen     int     // +1 thicker, -1 thinner (px)
	Paper   color.RGBA
	Changed bool
}

var white = color.RGBA{255, 255, 255, 255}

func scans() []scan {
	return []scan{
		{Name: "shift +4,+3 px", DX: 4, DY: 3, Scale: 1, Paper: white, Changed: true},
		{Name: "shift -4,-3 px", DX: -4, DY: -3, Scale: 1, Paper: white, Changed: true},
		{Name: "rotate +10 deg", Rotate: 10, Scale: 1, Paper: white, Changed: true},
		{Name: "rotate -10 deg", Rotate: -10, Scale: 1, Paper: white, Changed: true},
		{Name: "scale 0.9", Scale: 0.9, Paper: white, Changed: true},
		{Name: "scale 1.1", Scale: 1.1, Paper: white, Changed: true},
		{Name: "pen 1 px thicker", Scale: 1, Pen: 1, Paper: white, Changed: true},
		{Name: "pen 1 px thinner", Scale: 1, Pen: -1, Paper: white, Changed: true},
		{Name: "grey paper", Scale: 1, Paper: color.RGBA{200, 200, 200, 255}, Changed: true},
		{Name: "tinted paper", Scale: 1, Paper: color.RGBA{250, 238, 205, 255}, Changed: true},
	}
}

var original = scan{Name: "original", Scale: 1, Paper: white}

// render draws a 28×28 image dark on paper at 112 px: bilinear upscale of the
// ink, the geometric change (inverse-mapped about the centre), the pen change
// (a 2×2 max or min filter: one pixel more or less of stroke), then
// ink over the paper colour.
func render(px []byte, sc scan) *image.RGBA {
	const n, src = renderSize, 28
	f := float64(src) / n
	ink := make([]float64, n*n)
	th := sc.Rotate * math.Pi / 180
	cos, sin := math.Cos(th), math.Sin(th)
	c := float64(n-1) / 2
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= src || y >= src {
			return 0
		}
		return float64(px[y*src+x]) / 255
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// output -> source (inverse of shift, rotate, scale about the centre)
			u, v := float64(x)-c-sc.DX, float64(y)-c-sc.DY
			u, v = (cos*u+sin*v)/sc.Scale, (-sin*u+cos*v)/sc.Scale
			sx, sy := (u+c+0.5)*f-0.5, (v+c+0.5)*f-0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			ax, ay := sx-float64(x0), sy-float64(y0)
			ink[y*n+x] = (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
		}
	}
	if sc.Pen != 0 {
		out := make([]float64, n*n)
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				v := ink[y*n+x]
				for _, d := range [][2]int{{1, 0}, {0, 1}, {1, 1}} {
					xx, yy := min(x+d[0], n-1), min(y+d[1], n-1)
					if sc.Pen > 0 {
						v = math.Max(v, ink[yy*n+xx])
					} else {
						v = math.Min(v, ink[yy*n+xx])
					}
				}
				out[y*n+x] = v
			}
		}
		ink = out
	}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for i, v := range ink {
		k := 1 - v
		img.Pix[4*i] = uint8(float64(sc.Paper.R)*k + 0.5)
		img.Pix[4*i+1] = uint8(float64(sc.Paper.G)*k + 0.5)
		img.Pix[4*i+2] = uint8(float64(sc.Paper.B)*k + 0.5)
		img.Pix[4*i+3] = 255
	}
	return img
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
