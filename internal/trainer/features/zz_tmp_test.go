package features

import (
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

func BenchmarkHogFashion(b *testing.B) {
	img, err := data.DecodeImage("/tmp/fm/input/data/training/images/training_00001.png")
	if err != nil {
		b.Fatal(err)
	}
	f := newFrame(img, frameSize)
	defer putFrame(f)
	norm := momentCrop(f.ink, f.n, normSize)
	for b.Loop() {
		hog(norm, normSize, 4)
	}
}

func BenchmarkDescribeFashion(b *testing.B) {
	img, err := data.DecodeImage("/tmp/fm/input/data/training/images/training_00001.png")
	if err != nil {
		b.Fatal(err)
	}
	ws := []Warp{{-10, 1}, {-5, 1}, {5, 1}, {10, 1}, {1.1, 1}}
	b.Run("vector", func(b *testing.B) {
		for b.Loop() {
			Vector(img, "")
		}
	})
	b.Run("warpedfull", func(b *testing.B) {
		for b.Loop() {
			VectorWarpedFull(img, "", ws, 1)
		}
	})
	b.Run("newframe", func(b *testing.B) {
		for b.Loop() {
			putFrame(newFrame(img, frameSize))
		}
	})
}
