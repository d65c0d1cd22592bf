package artifacts

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A hard link whose target is a symlink makes a second symlink (link(2)
// does not follow it), which the per-entry checks never saw.
func TestExtractRefusesHardLinkToSymlink(t *testing.T) {
	for name, entries := range map[string][]entry{
		"escaping": {
			{name: "a", link: ".", typ: tar.TypeSymlink},
			{name: "b", link: "a/..", typ: tar.TypeSymlink}, // resolves to dest's parent
			{name: "model/plot.png", link: "b", typ: tar.TypeLink},
		},
		"inside": {
			{name: "real.png", body: "png"},
			{name: "alias.png", link: "real.png", typ: tar.TypeSymlink},
			{name: "model/plot.png", link: "alias.png", typ: tar.TypeLink},
		},
		"folder": {
			{name: "d/", typ: tar.TypeDir},
			{name: "h", link: "d", typ: tar.TypeLink},
		},
	} {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		err := ExtractTarGz(writeArchive(t, entries...), dest, DefaultLimits)
		if !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("%s: %v, want an unsafe archive", name, err)
		}
		assertNoEscapingLinks(t, dest)
		if st, err := os.Lstat(filepath.Join(dest, "model", "plot.png")); err == nil && st.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s: model/plot.png is a symlink", name)
		}
	}
}

// assertNoEscapingLinks walks dest: every symlink in it must resolve inside.
func assertNoEscapingLinks(t *testing.T, dest string) {
	t.Helper()
	realDest, err := filepath.EvalSymlinks(dest)
	if err != nil {
		return // nothing was made
	}
	_ = filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return nil
		}
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Errorf("dangling link left: %s", p)
			return nil
		}
		if r, err := filepath.Rel(realDest, target); err != nil || !filepath.IsLocal(r) {
			t.Errorf("link %s escapes to %s", p, target)
		}
		return nil
	})
}
