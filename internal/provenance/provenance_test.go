package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, p, s string) Entry {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(s))
	return Entry{Size: int64(len(s)), SHA256: hex.EncodeToString(sum[:])}
}

// A folder's digest is its manifest's: the same files give the same digest
// whatever their order, links are read through, and the manifest itself
// and hidden files do not count; any change of a byte changes it.
func TestFolderDigestIsTheManifestDigest(t *testing.T) {
	dir := t.TempDir()
	a := write(t, filepath.Join(dir, "metadata.csv"), "filename,age\nx.png,5\n")
	a.Path = "metadata.csv"
	b := write(t, filepath.Join(dir, "img", "x.png"), "not really a png")
	b.Path = "img/x.png"
	write(t, filepath.Join(dir, "manifest.json"), "{}")
	write(t, filepath.Join(dir, ".DS_Store"), "junk")
	got, n, err := FolderDigest(dir)
	if err != nil || n != 2 {
		t.Fatalf("FolderDigest: %s %d %v", got, n, err)
	}
	if want := Digest([]Entry{b, a}); got != want {
		t.Fatalf("folder %s, manifest %s", got, want)
	}
	linked := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "img"), filepath.Join(linked, "img")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "metadata.csv"), filepath.Join(linked, "metadata.csv")); err != nil {
		t.Fatal(err)
	}
	if l, _, err := FolderDigest(linked); err != nil || l != got {
		t.Fatalf("through links: %s %v, want %s", l, err, got)
	}
	write(t, filepath.Join(dir, "img", "x.png"), "not really a pnG")
	if changed, _, _ := FolderDigest(dir); changed == got {
		t.Fatal("a changed byte kept the digest")
	}
}

func TestIsDigestRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/r@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": true,
		"127.0.0.1:5000/r:latest":      false,
		"127.0.0.1:5000/r@sha256:abcd": false,
		"127.0.0.1:5000/r@sha256:zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": false,
	} {
		if got := IsDigestRef(ref); got != want {
			t.Errorf("IsDigestRef(%s) = %v", ref, got)
		}
	}
}
