package data

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // register decoders
	_ "image/png"
	"os"
	"path"
	"strings"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp" // registers the BMP decoder: drawings come scanned as BMP too
)

// MaxImagePixels bounds the size of an image that is decoded (a guard
// against decompression bombs): 64 megapixels.
const MaxImagePixels = 64 << 20

// imageExts are the image file extensions of a channel, compared lower-cased.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".bmp": true}

// IsImageName reports whether name has an image extension (png, jpg, jpeg,
// bmp, in any letter case).
func IsImageName(name string) bool { return imageExts[strings.ToLower(path.Ext(name))] }

// DecodeImage reads and decodes an image file, a JPEG turned upright by its
// EXIF orientation. It never panics: a decoder
// panic on a corrupt file becomes an error, and so does an image over
// MaxImagePixels.
func DecodeImage(file string) (image.Image, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return DecodeImageBytes(b)
}

// DecodeImageBytes decodes an image held in memory, like DecodeImage.
func DecodeImageBytes(b []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder failed: %v", r)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a readable png, jpeg or bmp image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s image has no pixels (%dx%d)", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%s image of %dx%d pixels is larger than %d megapixels", format, cfg.Width, cfg.Height, MaxImagePixels>>20)
	}
	if format == "jpeg" {
		// Phones store a photo of a drawing as the sensor saw it and record
		// the turn in its EXIF orientation; the drawing is read upright, as
		// an image viewer shows it.
		img, err = imaging.Decode(bytes.NewReader(b), imaging.AutoOrientation(true))
	} else {
		img, _, err = image.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("corrupt %s image: %w", format, err)
	}
	return img, nil
}

// VerifyImage checks that file decodes as the trainer will decode it.
func VerifyImage(file string) error {
	_, err := DecodeImage(file)
	return err
}
