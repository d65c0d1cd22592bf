package features

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"runtime"
	"sort"
	"strconv"
	"testing"
)

// pinnedDrawings are drawings of every pixel format the readers have a path
// for, smaller than the frame (enlarged) and larger (shrunk), on white and
// on tinted paper, with translucent ink.
func pinnedDrawings() map[string]image.Image {
	out := map[string]image.Image{}
	for _, sz := range [][2]int{{112, 112}, {90, 70}, {300, 200}, {256, 256}} {
		src := testDrawing(sz[0], sz[1], 3)
		rect := src.Bounds()
		key := func(kind string) string { return kind + "-" + strconv.Itoa(sz[0]) + "x" + strconv.Itoa(sz[1]) }
		out[key("nrgba")] = src
		rgba := image.NewRGBA(rect)
		draw.Draw(rgba, rect, &image.Uniform{color.RGBA{230, 220, 190, 255}}, image.Point{}, draw.Src)
		draw.Draw(rgba, rect, src, image.Point{}, draw.Over)
		out[key("rgba-tinted")] = rgba
		gray := image.NewGray(rect)
		draw.Draw(gray, rect, rgba, image.Point{}, draw.Src)
		out[key("gray")] = gray
		pal := image.NewPaletted(rect, palette.WebSafe)
		draw.Draw(pal, rect, rgba, image.Point{}, draw.Src)
		out[key("paletted")] = pal
		ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
		for y := 0; y < sz[1]; y++ {
			for x := 0; x < sz[0]; x++ {
				r, g, b, _ := rgba.At(x, y).RGBA()
				yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(b>>8))
				ycc.Y[ycc.YOffset(x, y)] = yy
				ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
			}
		}
		out[key("ycbcr")] = ycc
		translucent := image.NewNRGBA(rect)
		copy(translucent.Pix, src.(*image.NRGBA).Pix)
		for i := 3; i < len(translucent.Pix); i += 4 {
			if translucent.Pix[i-3] < 128 {
				translucent.Pix[i] = 160
			}
		}
		out[key("nrgba-translucent")] = translucent
	}
	return out
}

// The descriptor's values are pinned: speeding up a block must give the same
// bytes, or the change is a new DescriptorVersion (models of the old one
// would score differently). Warped copies (train only) are pinned too, so a
// faster warp is proven to be the same warp. When this fails on purpose,
// bump DescriptorVersion, document the change and update the sums.
func TestDescriptorValuesArePinned(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("sums taken on amd64; other architectures may fuse multiply-adds (the Go spec allows it)")
	}
	warps := []Warp{{-10, 1}, {-5, 1}, {5, 1}, {10, 1}, {0, 1.1}}
	imgs := pinnedDrawings()
	names := make([]string, 0, len(imgs))
	for k := range imgs {
		names = append(names, k)
	}
	sort.Strings(names)
	vec, warped := sha256.New(), sha256.New()
	for i, k := range names {
		x, ws := VectorWarpedFull(imgs[k], "house", warps, i%len(warps))
		binary.Write(vec, binary.LittleEndian, Vector(imgs[k], "house"))
		binary.Write(warped, binary.LittleEndian, x)
		for _, w := range ws {
			binary.Write(warped, binary.LittleEndian, w)
		}
	}
	const wantVec = "4ea8db2581acf8a651891f7d7dc74b627399c9b552c2651feac46737d64e7985"
	const wantWarped = "51101309ca59336655b453e8058ad7d5d8a3190e1593707a0a9033b21f1ebad9"
	if got := hex.EncodeToString(vec.Sum(nil)); got != wantVec {
		t.Errorf("descriptor values changed (version %d): sum %s, pinned %s", DescriptorVersion, got, wantVec)
	}
	if got := hex.EncodeToString(warped.Sum(nil)); got != wantWarped {
		t.Errorf("warped copies changed: sum %s, pinned %s", got, wantWarped)
	}
}
