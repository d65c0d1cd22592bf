package features

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

func TestLoadChannelImages(t *testing.T) {
	// one broken image: it must be skipped, counted and named, not fatal
	ch := trainingWithBrokenImage(t, sampledata.Options{Train: 30, Test: 1, Size: 64, Seed: 2}, "train_00007.png")
	one, err := LoadChannel(t.Context(), ch, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	four, err := LoadChannel(t.Context(), ch, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if one.Kind != KindDescriptor || one.Dim != 832 || one.Channel != "training" || len(one.Samples) != 29 {
		t.Fatalf("set %s %s dim %d, %d samples", one.Channel, one.Kind, one.Dim, len(one.Samples))
	}
	p := one.Report.Problem(data.KindUnreadableImage)
	if p == nil || p.Count != 1 || !strings.Contains(p.Examples[0], "train_00007.png") || one.Report.Usable != 29 {
		t.Fatalf("report: %s", one.Report)
	}
	for i := range one.Samples {
		a, b := one.Samples[i], four.Samples[i]
		if a.Name != b.Name || len(a.X) != 832 {
			t.Fatalf("sample %d: %s vs %s", i, a.Name, b.Name)
		}
		for j := range a.X {
			if math.Float32bits(a.X[j]) != math.Float32bits(b.X[j]) {
				t.Fatalf("sample %d value %d differs with the worker count", i, j)
			}
		}
	}
	if one.Samples[6].Name != "images/train_00008.png" {
		t.Fatalf("samples must stay in metadata order: %s", one.Samples[6].Name)
	}
	// scoring extracts exactly what training extracted
	v, err := ImageFileVector(filepath.Join(ch, "images", "train_00008.png"), one.Samples[6].Subject)
	if err != nil {
		t.Fatal(err)
	}
	for j := range v {
		if v[j] != one.Samples[6].X[j] {
			t.Fatalf("ImageFileVector differs from LoadChannel at %d", j)
		}
	}
}

func TestLoadChannelEmbeddings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte("filename,age_years,subject,expert_label\nx,4,cat,\ny,5,dog,severe\n"), 0o644)
	var buf bytes.Buffer
	data.WriteNPY(&buf, &data.Matrix{Rows: 2, Cols: 5, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}})
	os.WriteFile(filepath.Join(dir, "embeddings.npy"), buf.Bytes(), 0o644)
	set, err := LoadChannel(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Kind != KindEmbeddings || set.Dim != 5 || len(set.Samples) != 2 {
		t.Fatalf("%+v", set)
	}
	if s := set.Samples[1]; s.X[0] != 6 || s.Label != "severe" || s.Name != "y" || s.AgeYears != 5 {
		t.Fatalf("%+v", s)
	}
}

func TestLoadChannelNothingUsable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte("filename,age_years\na.png,5\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.png"), []byte("garbage"), 0o644)
	set, err := LoadChannel(t.Context(), dir, Options{})
	if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "unreadable_image") {
		t.Fatalf("want a configuration error naming the unreadable image, got %v", err)
	}
	if set == nil || set.Report.Count(data.KindUnreadableImage) != 1 {
		t.Fatalf("the report must come back with the error: %+v", set)
	}
}

func TestSettings(t *testing.T) {
	s := CurrentSettings()
	sum := 0
	for _, b := range s.Blocks {
		sum += b.Size
	}
	if sum != s.VisualDim || s.SubjectDim != SubjectDim || s.Kind != KindDescriptor || s.Version != DescriptorVersion {
		t.Fatalf("%+v", s)
	}
	if err := s.Compatible(CurrentSettings()); err != nil {
		t.Fatal(err)
	}
	if err := EmbeddingSettings(832).Compatible(s); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("embeddings vs descriptor must not be compatible: %v", err)
	}
}

// Copies left out by WarpOnly and added by AddWarps are the ones a load of
// every copy gives, full copy included (it follows the scanned item, not
// the sample's place after the broken image was dropped).
func TestAddWarpsGivesTheCopiesALoadGives(t *testing.T) {
	ch := trainingWithBrokenImage(t, sampledata.Options{Train: 16, Test: 1, Size: 64, Seed: 3}, "train_00004.png")
	opts := Options{Workers: 2, Warps: []Warp{{Rotate: 10, Scale: 1}, {Scale: 1.1}, {Rotate: -5, Scale: 1}}, FullCopy: true}
	all, err := LoadChannel(t.Context(), ch, opts)
	if err != nil {
		t.Fatal(err)
	}
	even := opts
	even.WarpOnly = func(items []data.Item) []bool {
		out := make([]bool, len(items))
		for i := range out {
			out[i] = i%2 == 0
		}
		return out
	}
	some, err := LoadChannel(t.Context(), ch, even)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for i, s := range some.Samples {
		if (s.Warped != nil) != (s.Item%2 == 0) {
			t.Fatalf("sample %d (item %d): has copies %v, WarpOnly said %v", i, s.Item, s.Warped != nil, s.Item%2 == 0)
		}
		if s.Warped == nil {
			left++
		}
	}
	n, err := AddWarps(t.Context(), ch, some.Samples, opts)
	if err != nil || n != left || left == 0 {
		t.Fatalf("AddWarps described %d (%v), %d were left out", n, err, left)
	}
	for i, s := range some.Samples {
		want := all.Samples[i]
		if s.Item != want.Item || s.FullCopy != want.FullCopy || len(s.Warped) != len(want.Warped) {
			t.Fatalf("sample %d: item %d full copy %d, %d copies; a full load: %d, %d, %d", i, s.Item, s.FullCopy, len(s.Warped), want.Item, want.FullCopy, len(want.Warped))
		}
		for k := range s.Warped {
			if !slices.Equal(s.Warped[k], want.Warped[k]) {
				t.Fatalf("sample %d copy %d differs from a full load's", i, k)
			}
		}
	}
	if n, err := AddWarps(t.Context(), ch, some.Samples, opts); n != 0 || err != nil {
		t.Fatalf("a second AddWarps described %d (%v)", n, err)
	}
}

// trainingWithBrokenImage generates sample data and returns its training
// channel, with the image broken (a PNG signature and nothing readable).
func trainingWithBrokenImage(t *testing.T, opts sampledata.Options, broken string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := sampledata.Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	ch := filepath.Join(dir, "training")
	if err := os.WriteFile(filepath.Join(ch, "images", broken), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644); err != nil {
		t.Fatal(err)
	}
	return ch
}
