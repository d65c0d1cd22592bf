package artifacts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtract feeds tar streams (gzipped by the harness) to ExtractTarGz
// and checks what must hold whatever it says: nothing is written beside the
// destination, and no link in it leads out. The seeds are hostile archives
// of known shapes; `go test` runs them as a normal test, `go test -fuzz
// FuzzExtract ./internal/artifacts` explores from them.
func FuzzExtract(f *testing.F) {
	for _, seed := range [][]entry{
		{{name: "model/model.json", body: "{}"}, {name: "model/plots/loss.png", body: "png"}},
		{{name: "a", link: ".", typ: tar.TypeSymlink}, {name: "b", link: "a/..", typ: tar.TypeSymlink}, {name: "h", link: "b", typ: tar.TypeLink}},
		{{name: "x", link: "../outside", typ: tar.TypeSymlink}, {name: "x/evil", body: "boom"}},
		{{name: "d", link: ".", typ: tar.TypeSymlink}, {name: "e", link: "d/d/d/..", typ: tar.TypeSymlink}, {name: "e/sneak", body: "x"}},
		{{name: "f", body: "1"}, {name: "f", link: "/etc/passwd", typ: tar.TypeSymlink}, {name: "g", link: "f", typ: tar.TypeLink}},
		{{name: "../up", body: "x"}},
		{{name: "dev", typ: tar.TypeChar}},
		{{name: "real", body: "r"}, {name: "alias", link: "real", typ: tar.TypeSymlink}, {name: "hard", link: "alias", typ: tar.TypeLink}},
	} {
		f.Add(tarBytes(f, seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		arch := filepath.Join(parent, "a.tar.gz")
		if err := os.WriteFile(arch, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = ExtractTarGz(arch, dest, Limits{MaxTotalBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxEntries: 1000})
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.Name() != "dest" && e.Name() != "a.tar.gz" {
				t.Fatalf("the archive wrote %s beside the destination", e.Name())
			}
		}
		assertNoEscapingLinks(t, dest)
	})
}

// tarBytes is an uncompressed tar of entries.
func tarBytes(tb testing.TB, entries []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		if e.typ == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	return buf.Bytes()
}
