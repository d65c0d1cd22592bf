package dataset

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func writePNG(t *testing.T, path string, seed int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i*seed + seed)
	}
	img.Set(0, 0, color.Gray{Y: byte(seed)})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// drawingSet writes a channel by the trainer's rules: images in sub-folders,
// metadata.csv inside the folder, plus the given defects.
func drawingSet(t *testing.T, n int, corrupt, stray bool) string {
	t.Helper()
	dir := t.TempDir()
	var meta strings.Builder
	meta.WriteString("filename,age_years,subject,expert_label\n")
	for i := range n {
		rel := fmt.Sprintf("g%d/d%03d.png", i%3, i)
		writePNG(t, filepath.Join(dir, rel), i+1)
		fmt.Fprintf(&meta, "%s,%d.5,house,\n", rel, 4+i%6)
	}
	if corrupt {
		p := filepath.Join(dir, "g0/broken.png")
		if err := os.WriteFile(p, []byte("\x89PNG\r\n\x1a\nthis is not a png"), 0o644); err != nil {
			t.Fatal(err)
		}
		meta.WriteString("g0/broken.png,7,tree,\n")
	}
	if stray {
		writePNG(t, filepath.Join(dir, "stray/nobody.png"), 3)
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte(meta.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUploadByTrainerRules(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	dir := drawingSet(t, 12, true, true)
	opts := UploadOptions{Dir: dir, To: "s3://drawings/channel", CacheDir: t.TempDir()}
	_, err := Upload(ctx, e.cfg, opts)
	var pe *ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("want a ProblemsError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"image_without_row", "stray/nobody.png", "g0/broken.png", "unreadable_image"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problem report lacks %q:\n%s", want, msg)
		}
	}
	if l, _ := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &e.bucket}); len(l.Contents) != 0 {
		t.Fatalf("%d objects sent before the problems were fixed", len(l.Contents))
	}

	opts.AllowPartial = true
	res, err := Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 13 { // 12 good drawings + metadata.csv
		t.Fatalf("--allow-partial uploaded %d files: %+v", res.Uploaded, res)
	}
	// The metadata sent is the original without the rows left out.
	orig, err := os.ReadFile(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "metadata.csv")
	if err := os.WriteFile(partial, []byte(strings.Replace(string(orig), "g0/broken.png,7,tree,\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := checkRemote(t, e, "channel", dir, partial)
	got := m.Lookup()
	if _, ok := got["g0/broken.png"]; ok {
		t.Error("the corrupt image was uploaded")
	}
	if _, ok := got["stray/nobody.png"]; ok {
		t.Error("the image without a row was uploaded")
	}
	if _, ok := got["metadata.csv"]; !ok {
		t.Error("metadata.csv is not at the prefix")
	}
	out, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &e.bucket, Key: aws.String("channel/metadata.csv")})
	if err != nil || aws.ToString(out.ContentType) != "text/csv" {
		t.Fatalf("metadata object: %v %v", err, out)
	}
}

func TestScanClean(t *testing.T) {
	dir := drawingSet(t, 5, false, false)
	res, err := Scan(dir, "", TrainerRules)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || len(res.Files) != 6 || res.Files[0].Rel != "g0/d000.png" {
		t.Fatalf("scan: %+v", res)
	}
	var meta int
	for _, f := range res.Files {
		if f.IsMetadata {
			meta++
			if f.Rel != MetadataKey {
				t.Errorf("metadata key %q", f.Rel)
			}
		}
	}
	if meta != 1 {
		t.Errorf("%d metadata files", meta)
	}
}
