package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// Manifest lists every object of an uploaded data set. It is written last,
// at <prefix>/manifest.json, so its presence means the upload completed.
type Manifest struct {
	Version   int     `json:"version"`
	Files     []Entry `json:"files"` // sorted by path
	TotalSize int64   `json:"total_size"`
}

// Entry is one file of the manifest.
type Entry struct {
	Path   string `json:"path"` // relative to the prefix, slash-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// SameFiles reports whether m and o list the same files with the same sizes
// and digests.
func (m *Manifest) SameFiles(o *Manifest) bool {
	if m == nil || o == nil || len(m.Files) != len(o.Files) {
		return false
	}
	for i := range m.Files {
		if m.Files[i] != o.Files[i] {
			return false
		}
	}
	return true
}

// Lookup returns the manifest's files by path.
func (m *Manifest) Lookup() map[string]Entry {
	if m == nil {
		return map[string]Entry{}
	}
	out := make(map[string]Entry, len(m.Files))
	for _, e := range m.Files {
		out[e.Path] = e
	}
	return out
}

// hashCache remembers (path, size, mtime) -> SHA-256 between runs so an
// unchanged data set is not read again.
type hashCache struct {
	path    string
	Entries map[string]cacheEntry `json:"entries"`
	dirty   bool
	mu      sync.Mutex
}

type cacheEntry struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256,omitempty"`
	ImageOK bool   `json:"image_ok,omitempty"` // decoded by the trainer's rules
}

// lookup returns the entry of f if the file has not changed since.
func (c *hashCache) lookup(f File) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce, ok := c.Entries[cacheKey(f)]
	if !ok || ce.Size != f.Size || ce.ModTime != f.ModTime.UnixNano() {
		return cacheEntry{}, false
	}
	return ce, true
}

// update changes the entry of f (starting afresh if the file changed).
func (c *hashCache) update(f File, change func(*cacheEntry)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(f)
	ce, ok := c.Entries[k]
	if !ok || ce.Size != f.Size || ce.ModTime != f.ModTime.UnixNano() {
		ce = cacheEntry{Size: f.Size, ModTime: f.ModTime.UnixNano()}
	}
	change(&ce)
	c.Entries[k] = ce
	c.dirty = true
}

// forget drops the entry of f.
func (c *hashCache) forget(f File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.Entries, cacheKey(f))
	c.dirty = true
}

// cacheDir is where sagetrain keeps hash caches and upload journals.
func cacheDir(opt string) string {
	if opt != "" {
		return opt
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "sagetrain")
	}
	return filepath.Join(os.TempDir(), "sagetrain-cache")
}

func keyOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// The cache file holds one line per file: "sha256 size mtime_ns image_ok key"
// (sha256 "-" when unknown). Lines parse an order of magnitude faster than JSON.
func loadHashCache(dir, dataDir string) *hashCache {
	abs, _ := filepath.Abs(dataDir)
	c := &hashCache{path: filepath.Join(dir, "hashes", keyOf(abs)+".txt"), Entries: map[string]cacheEntry{}}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return c
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.SplitN(line, " ", 5)
		if len(f) != 5 {
			continue // a torn or corrupt line only costs a rehash
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		mtime, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ce := cacheEntry{Size: size, ModTime: mtime, ImageOK: f[3] == "1"}
		if f[0] != "-" {
			ce.SHA256 = f[0]
		}
		c.Entries[f[4]] = ce
	}
	return c
}

func (c *hashCache) save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	var b strings.Builder
	b.Grow(len(c.Entries) * 120)
	for k, ce := range c.Entries {
		if strings.ContainsAny(k, "\n") {
			continue
		}
		sum, ok := ce.SHA256, "0"
		if sum == "" {
			sum = "-"
		}
		if ce.ImageOK {
			ok = "1"
		}
		fmt.Fprintf(&b, "%s %d %d %s %s\n", sum, ce.Size, ce.ModTime, ok, k)
	}
	if err := atomicfile.WriteFile(c.path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// BuildManifest hashes files (in parallel, skipping those the cache in
// cacheDirOpt already knows) and returns their manifest.
func BuildManifest(ctx context.Context, files []File, cacheDirOpt, dataDir string) (*Manifest, error) {
	cache := loadHashCache(cacheDir(cacheDirOpt), dataDir)
	m, err := buildManifest(ctx, files, cache)
	_ = cache.save() // the cache is an optimisation; failing to save it is not an error
	return m, err
}

func buildManifest(ctx context.Context, files []File, cache *hashCache) (*Manifest, error) {
	m := &Manifest{Version: 1, Files: make([]Entry, len(files))}
	todo := []int{}
	for i, f := range files {
		m.Files[i] = Entry{Path: f.Rel, Size: f.Size}
		m.TotalSize += f.Size
		if ce, ok := cache.lookup(f); ok && ce.SHA256 != "" {
			m.Files[i].SHA256 = ce.SHA256
			continue
		}
		todo = append(todo, i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) * 2)
	for _, i := range todo {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			sum, n, err := hashFile(files[i].Abs)
			if err != nil {
				return errs.Configuration(fmt.Sprintf("cannot read %s", files[i].Abs), "check the file's permissions", err)
			}
			if n != files[i].Size {
				return errs.Configuration(fmt.Sprintf("%s changed while it was being read", files[i].Abs),
					"wait until nothing writes to the data set, then upload again", nil)
			}
			m.Files[i].SHA256 = sum
			cache.update(files[i], func(ce *cacheEntry) { ce.SHA256 = sum })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(m.Files, func(a, b int) bool { return m.Files[a].Path < m.Files[b].Path })
	return m, nil
}

func cacheKey(f File) string {
	if f.IsMetadata {
		return "\x00meta:" + f.Abs
	}
	return f.Rel
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
