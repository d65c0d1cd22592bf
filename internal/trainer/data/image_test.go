package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// jpegWithOrientation encodes img as a JPEG carrying an EXIF block whose
// orientation tag is o (1 upright, 3 turned 180°, 6 and 8 turned 90°).
func jpegWithOrientation(t *testing.T, img image.Image, o uint16) []byte {
	t.Helper()
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// TIFF header (little endian), IFD0 with one entry: 0x0112 SHORT 1 = o.
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(8))
	_ = binary.Write(&tiff, binary.LittleEndian, uint16(1))
	_ = binary.Write(&tiff, binary.LittleEndian, []uint16{0x0112, 3})
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(1))
	_ = binary.Write(&tiff, binary.LittleEndian, []uint16{o, 0})
	_ = binary.Write(&tiff, binary.LittleEndian, uint32(0))
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(enc.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(enc.Bytes()[2:])
	return out.Bytes()
}

// dark reports whether the pixel is ink (JPEG blurs the edges a little).
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return (r+g+b)/3 < 0x4000
}

func TestDecodeImageTurnsJPEGsUprightByEXIF(t *testing.T) {
	// 60 wide, 30 high, white, with a black 10x10 square at the top left.
	src := image.NewRGBA(image.Rect(0, 0, 60, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 60; x++ {
			src.Set(x, y, color.White)
			if x < 10 && y < 10 {
				src.Set(x, y, color.Black)
			}
		}
	}
	cases := []struct {
		orientation uint16
		w, h        int
		inkAt       image.Point // the square's centre once upright
	}{
		{1, 60, 30, image.Pt(5, 5)},
		{3, 60, 30, image.Pt(54, 24)}, // turned 180°
		{6, 30, 60, image.Pt(24, 5)},  // stored turned left: shown turned right
		{8, 30, 60, image.Pt(5, 54)},  // stored turned right: shown turned left
	}
	for _, c := range cases {
		img, err := DecodeImageBytes(jpegWithOrientation(t, src, c.orientation))
		if err != nil {
			t.Fatalf("orientation %d: %v", c.orientation, err)
		}
		if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Errorf("orientation %d: %dx%d, want %dx%d", c.orientation, b.Dx(), b.Dy(), c.w, c.h)
			continue
		}
		b := img.Bounds()
		if !dark(img.At(b.Min.X+c.inkAt.X, b.Min.Y+c.inkAt.Y)) {
			t.Errorf("orientation %d: no ink at %v once upright", c.orientation, c.inkAt)
		}
		if dark(img.At(b.Min.X+c.w/2, b.Min.Y+c.h/2)) {
			t.Errorf("orientation %d: ink in the middle", c.orientation)
		}
	}
}

func TestDecodeImageLeavesPNGsAsTheyAre(t *testing.T) {
	// A PNG has no EXIF orientation to honour: its bounds stay.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 7, 3))); err != nil {
		t.Fatal(err)
	}
	img, err := DecodeImageBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 7 || b.Dy() != 3 {
		t.Fatalf("png decoded as %v", b)
	}
}
