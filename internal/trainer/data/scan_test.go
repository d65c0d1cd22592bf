package data

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// writeImage writes a small valid image; the format follows the extension.
func writeImage(t *testing.T, dir, rel string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.Set(3, 3, color.Black)
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(rel)) {
	case ".jpg", ".jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case ".bmp":
		err = bmp.Encode(&buf, img)
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// channel makes a folder with good images a.png, b.png, c.png and metadata
// rows for them plus the extra lines given.
func channel(t *testing.T, extra string, images ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range append([]string{"a.png", "b.png", "c.png"}, images...) {
		writeImage(t, dir, n)
	}
	writeFile(t, dir, "metadata.csv", "filename,age_years,subject,expert_label\na.png,5,house,\nb.png,6.5,tree,normal\nc.png,7,person,concern\n"+extra)
	return dir
}

func mustScan(t *testing.T, dir string) *Channel {
	t.Helper()
	ch, err := Scan(dir, "")
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return ch
}

// expect checks that kind was counted n times, names the item, and that
// the three good rows are still used.
func expect(t *testing.T, ch *Channel, kind string, n int, name string, usable int) {
	t.Helper()
	p := ch.Report.Problem(kind)
	if p == nil || p.Count != n {
		t.Fatalf("%s: got %+v, want count %d\nreport:\n%s", kind, p, n, ch.Report)
	}
	found := false
	for _, e := range p.Examples {
		if strings.Contains(e, name) {
			found = true
		}
	}
	if !found {
		t.Fatalf("%s examples %q do not name %q", kind, p.Examples, name)
	}
	if len(ch.Items) != usable || ch.Report.Usable != usable {
		t.Fatalf("usable %d (report %d), want %d\n%s", len(ch.Items), ch.Report.Usable, usable, ch.Report)
	}
}

func TestScanGoodChannel(t *testing.T) {
	ch := mustScan(t, channel(t, ""))
	if ch.Source != SourceImages || len(ch.Items) != 3 || ch.Report.Skipped != 0 || len(ch.Report.Problems) != 0 {
		t.Fatalf("%+v\n%s", ch, ch.Report)
	}
	want := []Row{{0, 2, "a.png", 5, "house", "normal"}, {1, 3, "b.png", 6.5, "tree", "normal"}, {2, 4, "c.png", 7, "person", "concern"}}
	for i, it := range ch.Items {
		if it.Row != want[i] || it.Path != want[i].Filename {
			t.Fatalf("item %d = %+v, want %+v", i, it, want[i])
		}
	}
	if ch.Report.Labels["normal"] != 2 || ch.Report.Labels["concern"] != 1 || ch.Report.ImageFiles != 3 || ch.Report.MetadataRows != 3 {
		t.Fatalf("report counts: %s", ch.Report)
	}
}

func TestBadInputCorruptImage(t *testing.T) {
	dir := channel(t, "d.png,8,,\ne.jpg,8,,\n")
	writeFile(t, dir, "d.png", "\x89PNG\r\n\x1a\n truncated")
	writeFile(t, dir, "e.jpg", "not a jpeg at all")
	ch := mustScan(t, dir)
	if len(ch.Items) != 5 {
		t.Fatalf("scan should match corrupt files (it does not decode): %d", len(ch.Items))
	}
	if err := ch.VerifyImages(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, KindUnreadableImage, 2, "d.png", 3)
	expect(t, ch, KindUnreadableImage, 2, "e.jpg", 3)
}

func TestBadInputRowWithoutImage(t *testing.T) {
	ch := mustScan(t, channel(t, "missing.png,8,,\n"))
	expect(t, ch, KindRowWithoutImage, 1, "missing.png", 3)
}

func TestBadInputImageWithoutRow(t *testing.T) {
	ch := mustScan(t, channel(t, "", "sub/orphan.png"))
	expect(t, ch, KindImageWithoutRow, 1, "sub/orphan.png", 3)
}

func TestBadInputAgeOutOfRange(t *testing.T) {
	ch := mustScan(t, channel(t, "d.png,1.9,,\ne.png,19,,\nf.png,-3,,\n", "d.png", "e.png", "f.png"))
	expect(t, ch, KindAgeOutOfRange, 3, "e.png", 3)
	// their images then have no usable row
	expect(t, ch, KindImageWithoutRow, 3, "d.png", 3)
}

func TestBadInputAgeNotANumber(t *testing.T) {
	ch := mustScan(t, channel(t, "d.png,seven,,\ne.png,,,\nf.png,NaN,,\n", "d.png", "e.png", "f.png"))
	expect(t, ch, KindBadAge, 3, "d.png", 3)
}

func TestBadInputDuplicateNames(t *testing.T) {
	// a repeated name, and a second name that resolves to the same image
	ch := mustScan(t, channel(t, "a.png,9,,\nb,9,,\n"))
	expect(t, ch, KindDuplicateName, 2, "a.png", 3)
	if ch.Items[0].AgeYears != 5 {
		t.Fatalf("the first row of a duplicate must be kept, got age %v", ch.Items[0].AgeYears)
	}
}

func TestBadInputMalformedCSVLines(t *testing.T) {
	dir := channel(t, "d.png,8,house,normal,surplus\n\"e.png,8,,\nf.png,8\ng.png,\"8\"x,,\nh.png,9,,\n", "d.png", "h.png")
	ch := mustScan(t, dir)
	// d (extra non-empty field), the stray quote line, f (too few fields), g (bare quote)
	expect(t, ch, KindMalformedLine, 4, "line 5", 4)
	if ch.Items[3].Filename != "h.png" || ch.Items[3].Pos != 7 {
		t.Fatalf("the line after the bad ones must be read, got %+v", ch.Items[3])
	}
}

func TestBadInputLabelAndFilename(t *testing.T) {
	ch := mustScan(t, channel(t, "d.png,8,,weird\n,8,,\n", "d.png"))
	expect(t, ch, KindBadLabel, 1, "d.png", 3)
	expect(t, ch, KindMissingFilename, 1, "line 6", 3)
}

func TestBadInputAmbiguousImage(t *testing.T) {
	ch := mustScan(t, channel(t, "d,8,,\n", "x/d.png", "y/d.png"))
	expect(t, ch, KindAmbiguousImage, 1, "d", 3)
}

func TestUnknownSubjectIsKept(t *testing.T) {
	ch := mustScan(t, channel(t, "d.png,8,spaceship,\n", "d.png"))
	expect(t, ch, KindUnknownSubject, 1, "spaceship", 4)
	if ch.Report.Skipped != 0 {
		t.Fatalf("an unknown subject must not skip the row: %s", ch.Report)
	}
}

func TestMatchingRules(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"top.PNG", "deep/x/rel.jpg", "deep/base.JPEG", "noext.bmp", "Case.png", ".hidden/h.png", "notes.txt"} {
		writeImage(t, dir, n)
	}
	writeFile(t, dir, "metadata.csv", "Filename;AGE_YEARS;extra\ntop.PNG;4;x\ndeep/x/rel.jpg;5;x\nbase.JPEG;6;x\nnoext;7;x\n.\\deep\\x\\rel;8;x\ncase.PNG;9;x\n")
	ch := mustScan(t, dir)
	got := map[string]string{}
	for _, it := range ch.Items {
		got[it.Filename] = it.Path
	}
	want := map[string]string{"top.PNG": "top.PNG", "deep/x/rel.jpg": "deep/x/rel.jpg", "base.JPEG": "deep/base.JPEG", "noext": "noext.bmp", "case.PNG": "Case.png"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s matched %q, want %q", k, got[k], v)
		}
	}
	// .\deep\x\rel is the same image as deep/x/rel.jpg: a duplicate
	expect(t, ch, KindDuplicateName, 1, `rel`, 5)
	if ch.Report.ImageFiles != 5 {
		t.Fatalf("hidden folders and non-images must not be listed: %d files", ch.Report.ImageFiles)
	}
	if err := ch.VerifyImages(t.Context(), 0); err != nil || len(ch.Items) != 5 {
		t.Fatalf("png/jpeg/bmp must decode: %v\n%s", err, ch.Report)
	}
}

func TestQuotedFieldSpanningLines(t *testing.T) {
	dir := channel(t, "d.png,8,\"two\nlines\",\n", "d.png")
	ch := mustScan(t, dir)
	if len(ch.Items) != 4 || ch.Items[3].Subject != "two\nlines" {
		t.Fatalf("%+v\n%s", ch.Items, ch.Report)
	}
}

func TestMetadataJSON(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.png", "b.png", "c.png"} {
		writeImage(t, dir, n)
	}
	writeFile(t, dir, "metadata.json", `{"version": 1, "samples": [
		{"filename": "a.png", "age_years": 5, "subject": "house"},
		{"filename": "b.png", "age_years": "6.5", "expert_label": null},
		{"filename": "c.png", "age_years": {"x": 1}},
		"not an object",
		{"filename": "c.png", "age_years": 30}
	]}`)
	ch := mustScan(t, dir)
	expect(t, ch, KindMalformedLine, 2, "entry 3", 2)
	expect(t, ch, KindAgeOutOfRange, 1, "c.png", 2)
	if ch.MetadataFile != "metadata.json" || ch.Items[1].AgeYears != 6.5 || ch.Items[1].Label != "normal" {
		t.Fatalf("%+v", ch.Items)
	}
	// a syntax error part-way keeps the entries before it
	writeFile(t, dir, "metadata.json", `[{"filename": "a.png", "age_years": 5}, {"filename": "b.png", "age_years": 6}, {"filename": "c.png", "age_years": 7,,}]`)
	ch = mustScan(t, dir)
	expect(t, ch, KindMalformedLine, 1, "entry 3", 2)
}

func TestNothingUsable(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, dir, "a.png")
	writeFile(t, dir, "metadata.csv", "filename,age_years\nx.png,5\ny.png,6\n")
	ch, err := Scan(dir, "")
	if !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("want a configuration error, got %v", err)
	}
	if ch == nil || ch.Report.Count(KindRowWithoutImage) != 2 {
		t.Fatalf("the report must come with the error: %+v", ch)
	}
	msg := err.Error()
	for _, want := range []string{"no usable samples", "row_without_image", "x.png", "fix:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestFileLevelErrors(t *testing.T) {
	cases := map[string]struct{ files map[string]string }{
		"no metadata":     {map[string]string{"a.txt": "x"}},
		"no age column":   {map[string]string{"metadata.csv": "filename,age\na.png,5\n"}},
		"no filename col": {map[string]string{"metadata.csv": "name,age_years\na.png,5\n"}},
		"empty csv":       {map[string]string{"metadata.csv": "\n\n"}},
		"json not array":  {map[string]string{"metadata.json": `{"a": 1}`}},
	}
	for name, c := range cases {
		dir := t.TempDir()
		for f, content := range c.files {
			writeFile(t, dir, f, content)
		}
		_, err := Scan(dir, "")
		var e *errs.Error
		if !errors.As(err, &e) || !errors.Is(err, errs.ErrConfiguration) || e.Fix == "" {
			t.Errorf("%s: want a configuration error with a fix, got %v", name, err)
		}
	}
	if _, err := Scan(filepath.Join(t.TempDir(), "nope"), ""); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("missing folder: %v", err)
	}
}

func writeNPY(t *testing.T, dir string, rows, cols int, f func(i int) float32) {
	t.Helper()
	m := &Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for i := range m.Data {
		m.Data[i] = f(i)
	}
	var buf bytes.Buffer
	if err := WriteNPY(&buf, m); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, EmbeddingsFile, buf.String())
}

func TestEmbeddingsChannel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "metadata.csv", "age_years,subject,expert_label\n5,house,\n6,tree,severe\nbad,,\n7,,\n8,,\n")
	writeNPY(t, dir, 4, 3, func(i int) float32 {
		if i == 9 {
			return float32(math.NaN())
		}
		return float32(i)
	})
	writeImage(t, dir, "ignored.png")
	ch := mustScan(t, dir)
	if ch.Source != SourceEmbeddings || ch.Dim != 3 {
		t.Fatalf("source %s dim %d", ch.Source, ch.Dim)
	}
	// row 3 has a bad age (its embedding row is skipped with it), row 4 is NaN, row 5 has no embedding
	expect(t, ch, KindBadAge, 1, "line 4", 2)
	expect(t, ch, KindNonFiniteEmbedding, 1, "row 4", 2)
	expect(t, ch, KindRowWithoutEmbedding, 1, "row 5", 2)
	expect(t, ch, KindIgnoredImages, 1, "ignored.png", 2)
	if got := ch.Items[1].Vector; got[0] != 3 || got[2] != 5 || ch.Items[1].Label != "severe" {
		t.Fatalf("row 2 embedding %v", got)
	}
	// more embedding rows than metadata rows
	writeNPY(t, dir, 7, 3, func(i int) float32 { return 1 })
	ch = mustScan(t, dir)
	expect(t, ch, KindEmbeddingWithoutRow, 2, "rows 6..7", 4)
}

func TestBadInputEmbeddingsFile(t *testing.T) {
	cases := map[string][]byte{
		"not npy":   []byte("hello world, this is not numpy"),
		"1-D":       npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12),
		"3-D":       npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 3), }", 12),
		"int dtype": npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3), }", 24),
		"truncated": npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 12),
	}
	for name, b := range cases {
		dir := t.TempDir()
		writeFile(t, dir, "metadata.csv", "age_years\n5\n")
		writeFile(t, dir, EmbeddingsFile, string(b))
		ch, err := Scan(dir, "")
		if !errors.Is(err, errs.ErrConfiguration) || ch == nil || ch.Report.Count(KindBadEmbeddings) != 1 {
			t.Errorf("%s: err %v", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "embeddings.npy") || !strings.Contains(err.Error(), "float32") {
			t.Errorf("%s: message %q should name the file and what to write", name, err)
		}
	}
}

func npyBytes(header string, dataBytes int) []byte {
	h := header + strings.Repeat(" ", 64-(10+len(header)+1)%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	return append(b, make([]byte, dataBytes)...)
}

func TestReadNPYVersionsAndOrders(t *testing.T) {
	// version 2 header, big-endian float64, Fortran order: [[1,2,3],[4,5,6]]
	h := "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }"
	h += strings.Repeat(" ", 64-(12+len(h)+1)%64) + "\n"
	b := []byte("\x93NUMPY\x02\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8), 0, 0)
	b = append(b, h...)
	for _, v := range []float64{1, 4, 2, 5, 3, 6} {
		var x [8]byte
		bits := math.Float64bits(v)
		for k := 0; k < 8; k++ {
			x[k] = byte(bits >> (56 - 8*k))
		}
		b = append(b, x[:]...)
	}
	m, err := ReadNPY(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Cols != 3 || m.Row(0)[2] != 3 || m.Row(1)[0] != 4 {
		t.Fatalf("%+v", m)
	}
	// round trip
	var buf bytes.Buffer
	WriteNPY(&buf, m)
	m2, err := ReadNPY(&buf)
	if err != nil || m2.Rows != 2 || m2.Data[5] != 6 {
		t.Fatalf("round trip: %v %+v", err, m2)
	}
}
