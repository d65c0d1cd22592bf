package data

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestScanFollowsLinkedChannelFolder: a channel folder that is itself a
// symlink is scanned like the folder it points to.
func TestScanFollowsLinkedChannelFolder(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real")
	if err := os.MkdirAll(filepath.Join(real, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.Gray{Y: 255})
	f, err := os.Create(filepath.Join(real, "images", "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(real, "metadata.csv"), []byte("filename,age_years\na.png,7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "training")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	ch, err := Scan(link, "")
	if err != nil {
		t.Fatalf("scan of a linked channel folder: %v", err)
	}
	if len(ch.Items) != 1 {
		t.Fatalf("got %d usable items through the link, want 1", len(ch.Items))
	}
}
