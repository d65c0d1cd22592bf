package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
)

// Environment variables the job service gives the trainer, so model.json
// can name what the service pinned (the container cannot see its own image
// digest).
const (
	EnvImageDigest = "SAGETRAIN_IMAGE_DIGEST" // the image reference by digest
	EnvDataDigest  = "SAGETRAIN_DATA_DIGEST"  // the training data's manifest digest, as the service computed it
)

// ManifestFile is the upload's manifest, left out of a folder's digest
// (it lists the files; it is not one of them).
const ManifestFile = "manifest.json"

// Provenance is what a job, its report and its model were made from.
// Empty fields were not known where it was written.
type Provenance struct {
	Image       string `json:"image,omitempty"`        // as the spec gave it
	ImageDigest string `json:"image_digest,omitempty"` // repo@sha256:..., what ran
	DataURI     string `json:"data_uri,omitempty"`     // the training data's folder or S3 prefix
	DataDigest  string `json:"data_digest,omitempty"`  // sha256:... of the data manifest (see Digest)
	DataFiles   int    `json:"data_files,omitempty"`
	// SubmittedBy is the sagetrain that recorded the job; Trainer the one
	// that trained (from model.json; the same binary for local jobs).
	SubmittedBy *buildinfo.Info `json:"submitted_by,omitempty"`
	Trainer     *buildinfo.Info `json:"trainer,omitempty"`
	// Hyperparameters as the trainer parsed them (defaults filled in), and
	// the seed among them.
	Hyperparameters map[string]any `json:"hyperparameters,omitempty"`
	Seed            *int64         `json:"seed,omitempty"`
}

// Entry is one file of a data manifest.
type Entry struct {
	Path   string // slash-separated, relative to the data set's root
	Size   int64
	SHA256 string // lower-case hex
}

// Digest is the digest of a data manifest: SHA-256 over one line
// "<sha256> <size> <path>\n" per file, sorted by path. It does not depend
// on how manifest.json is formatted, only on the files.
func Digest(files []Entry) string {
	sorted := append([]Entry(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s %d %s\n", strings.ToLower(f.SHA256), f.Size, f.Path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// FolderEntries lists and hashes every regular file under dir (links are
// followed, as the trainer reads through them), leaving out a top-level
// manifest.json and hidden files and folders.
func FolderEntries(dir string) ([]Entry, error) {
	var out []Entry
	var walk func(abs, rel string, depth int) error
	walk = func(abs, rel string, depth int) error {
		if depth > 32 {
			return fmt.Errorf("%s: folders nested deeper than 32 (a link loop?)", abs)
		}
		ents, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") || (depth == 0 && name == ManifestFile) {
				continue
			}
			p, r := filepath.Join(abs, name), name
			if rel != "" {
				r = rel + "/" + name
			}
			fi, err := os.Stat(p) // follows links
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir():
				if err := walk(p, r, depth+1); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				sum, err := hashFile(p)
				if err != nil {
					return err
				}
				out = append(out, Entry{Path: r, Size: fi.Size(), SHA256: sum})
			}
		}
		return nil
	}
	if err := walk(dir, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// FolderDigest is Digest of FolderEntries(dir), and the number of files.
func FolderDigest(dir string) (string, int, error) {
	es, err := FolderEntries(dir)
	if err != nil {
		return "", 0, err
	}
	return Digest(es), len(es), nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// IsDigestRef reports whether an image reference names a digest
// (repo@sha256:<64 hex>).
func IsDigestRef(ref string) bool {
	_, d, ok := strings.Cut(ref, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		return false
	}
	_, err := hex.DecodeString(d[len("sha256:"):])
	return err == nil
}
