package artifacts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// entry is one tar entry of a hand-built (possibly hostile) archive.
type entry struct {
	name, link, body string
	typ              byte
	size             int64 // announced size when body is empty and size > 0
}

func writeArchive(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if e.size > 0 {
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if h.Typeflag == tar.TypeReg {
			body := []byte(e.body)
			if e.size > 0 {
				body = bytes.Repeat([]byte("x"), int(e.size))
			}
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	cases := []struct {
		name    string
		entries []entry
		want    string // substring of the error
		family  error
	}{
		{"absolute path", []entry{{name: "/etc/evil", body: "x"}}, "absolute path", ErrUnsafeArchive},
		{"dot-dot at start", []entry{{name: "../evil", body: "x"}}, "'..'", ErrUnsafeArchive},
		{"dot-dot in middle", []entry{{name: "model/../../evil", body: "x"}}, "'..'", ErrUnsafeArchive},
		{"dot-dot directory", []entry{{name: "../d/", typ: tar.TypeDir}}, "'..'", ErrUnsafeArchive},
		{"symlink to absolute", []entry{{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}}, "absolute path", ErrUnsafeArchive},
		{"symlink up", []entry{{name: "l", link: "../outside", typ: tar.TypeSymlink}}, "outside the destination", ErrUnsafeArchive},
		{"nested symlink up", []entry{{name: "a/b/l", link: "../../../x", typ: tar.TypeSymlink}}, "outside the destination", ErrUnsafeArchive},
		{"hardlink to absolute", []entry{{name: "h", link: "/etc/passwd", typ: tar.TypeLink}}, "absolute path", ErrUnsafeArchive},
		{"hardlink up", []entry{{name: "h", link: "../x", typ: tar.TypeLink}}, "outside the destination", ErrUnsafeArchive},
		{"write through planted symlink", []entry{
			{name: "d", link: ".", typ: tar.TypeSymlink}, // allowed: stays inside
			{name: "up", link: "d/..", typ: tar.TypeSymlink},
		}, "outside the destination", ErrUnsafeArchive},
		{"dangling symlink", []entry{{name: "l", link: "missing", typ: tar.TypeSymlink}}, "does not resolve", ErrUnsafeArchive},
		{"hardlink through planted symlink", []entry{{name: "d", link: ".", typ: tar.TypeSymlink}, {name: "h", link: "d/../x", typ: tar.TypeLink}}, "outside the destination", ErrUnsafeArchive},
		{"char device", []entry{{name: "null", typ: tar.TypeChar}}, "device file", ErrUnsafeArchive},
		{"block device", []entry{{name: "sda", typ: tar.TypeBlock}}, "device file", ErrUnsafeArchive},
		{"fifo", []entry{{name: "pipe", typ: tar.TypeFifo}}, "fifo", ErrUnsafeArchive},
		{"too many entries", []entry{{name: "1", body: "a"}, {name: "2", body: "b"}, {name: "3", body: "c"}, {name: "4", body: "d"}}, "more than 3 entries", ErrArchiveTooLarge},
		{"one file too big", []entry{{name: "big", size: 2000}}, "for one file", ErrArchiveTooLarge},
		{"total too big", []entry{{name: "a", size: 600}, {name: "b", size: 600}}, "add up to more than", ErrArchiveTooLarge},
	}
	limits := Limits{MaxTotalBytes: 1000, MaxFileBytes: 1000, MaxEntries: 3}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arch := writeArchive(t, c.entries...)
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			err := ExtractTarGz(arch, dest, limits)
			if err == nil {
				t.Fatalf("extract succeeded; want refusal containing %q", c.want)
			}
			if !errors.Is(err, c.family) || !errors.Is(err, errs.ErrJob) {
				t.Fatalf("error %v: want errors.Is %v and errs.ErrJob", err, c.family)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fix:") {
				t.Fatalf("error %q: want it to contain %q and a fix", err, c.want)
			}
			// Nothing may have been written next to dest.
			ents, _ := os.ReadDir(parent)
			for _, e := range ents {
				if e.Name() != "dest" {
					t.Fatalf("extraction wrote %s outside the destination", e.Name())
				}
			}
		})
	}
}

// A symlink inside the folder planted first must not let a later file escape:
// "d" -> "sub" is fine, but a later entry "esc" -> "d/../.." must be refused
// and a file written through a link to the parent must not land outside.
func TestExtractDoesNotFollowLinksOut(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	// Pre-existing symlink in dest pointing outside (e.g. left by a user):
	// writing "out/x" through it must be refused by os.Root.
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dest, "out")); err != nil {
		t.Fatal(err)
	}
	arch := writeArchive(t, entry{name: "out/x", body: "escaped"})
	err := ExtractTarGz(arch, dest, DefaultLimits)
	if !errors.Is(err, ErrUnsafeArchive) {
		t.Fatalf("want ErrUnsafeArchive, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "x")); err == nil {
		t.Fatal("file written outside the destination through a symlink")
	}
}

func TestExtractAcceptsSafeArchive(t *testing.T) {
	arch := writeArchive(t,
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "model/", typ: tar.TypeDir},
		entry{name: "model/weights.bin", body: "abc"},
		entry{name: "model/latest", link: "weights.bin", typ: tar.TypeSymlink},
		entry{name: "model/hard", link: "model/weights.bin", typ: tar.TypeLink},
		entry{name: "metrics.json", body: `{"auc":0.9}`},
		entry{name: "deep/a/b/c.txt", body: "deep"}, // parent dirs not in the archive
	)
	dest := filepath.Join(t.TempDir(), "out")
	if err := ExtractTarGz(arch, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"model/weights.bin": "abc", "model/latest": "abc", "model/hard": "abc", "metrics.json": `{"auc":0.9}`, "deep/a/b/c.txt": "deep"} {
		b, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", p, b, err, want)
		}
	}
}

func TestExtractRefusesNonGzip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tar.gz")
	os.WriteFile(p, []byte("not gzip"), 0o644)
	if err := ExtractTarGz(p, t.TempDir(), DefaultLimits); !errors.Is(err, errs.ErrJob) {
		t.Fatalf("want job error, got %v", err)
	}
}

func TestCreateRoundTripAndDeterminism(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "model", "group-5"), 0o755))
	must(os.WriteFile(filepath.Join(src, "model", "group-5", "weights.bin"), []byte("w5"), 0o600))
	must(os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o700))
	must(os.WriteFile(filepath.Join(src, "b.txt"), []byte("b"), 0o644))
	must(os.Symlink("b.txt", filepath.Join(src, "link")))

	out := t.TempDir()
	a1, a2 := filepath.Join(out, "one.tar.gz"), filepath.Join(out, "two.tar.gz")
	must(CreateTarGz(src, a1))
	// Touch times and re-create: the bytes must not change.
	must(os.Chtimes(filepath.Join(src, "b.txt"), archiveTime.AddDate(5, 0, 0), archiveTime.AddDate(5, 0, 0)))
	must(CreateTarGz(src, a2))
	b1, _ := os.ReadFile(a1)
	b2, _ := os.ReadFile(a2)
	if !bytes.Equal(b1, b2) {
		t.Fatal("CreateTarGz is not deterministic")
	}

	// Names are sorted and relative.
	zr, err := gzip.NewReader(bytes.NewReader(b1))
	must(err)
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(archiveTime) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
	}
	want := "b.txt link model/ model/group-5/ model/group-5/weights.bin run.sh"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("entries %q, want %q", got, want)
	}

	dest := filepath.Join(t.TempDir(), "x")
	must(ExtractTarGz(a1, dest, DefaultLimits))
	b, err := os.ReadFile(filepath.Join(dest, "model", "group-5", "weights.bin"))
	if err != nil || string(b) != "w5" {
		t.Fatalf("round trip: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dest, "run.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Fatalf("executable bit lost: %v %v", st, err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "link")); err != nil || l != "b.txt" {
		t.Fatalf("symlink: %q %v", l, err)
	}
}

func TestCreateRefusesArchiveInsideSource(t *testing.T) {
	src := t.TempDir()
	err := CreateTarGz(src, filepath.Join(src, "self.tar.gz"))
	if !errors.Is(err, errs.ErrJob) {
		t.Fatalf("want job error, got %v", err)
	}
}

func TestCreateEmptyFolder(t *testing.T) {
	a := filepath.Join(t.TempDir(), "e.tar.gz")
	if err := CreateTarGz(t.TempDir(), a); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := ExtractTarGz(a, dest, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Fatalf("empty archive unpacked %d entries", len(ents))
	}
}

// Links already in the folder are not the archive's: a safe archive leaves them be.
func TestExtractLeavesExistingLinksAlone(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dest, "mine")); err != nil {
		t.Fatal(err)
	}
	arch := writeArchive(t, entry{name: "model.bin", body: "m"}, entry{name: "latest", link: "model.bin", typ: tar.TypeSymlink})
	if err := ExtractTarGz(arch, dest, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "mine")); err != nil || l != parent {
		t.Fatalf("the user's link was touched: %q %v", l, err)
	}
}
