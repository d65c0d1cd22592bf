package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerFile is one entry of a layer we build. Exactly one of Data, Src, Dir
// or Link says what it is.
type layerFile struct {
	Path string      // absolute path in the image, e.g. /usr/local/bin/sagetrain
	Mode fs.FileMode // permission bits (and sticky) only
	Data []byte      // contents of a regular file
	Src  string      // or: a regular file on disk to copy
	Dir  bool        // or: a directory
	Link string      // or: a symbolic link to this target
}

// buildLayer writes files into a gzip-compressed tar in a reproducible way:
// entries sorted by path, parents created, owner 0:0 with no names, every
// time set to mtime. The same files and mtime give the same digest on any
// machine (for one version of the compressor, pinned in go.mod).
func buildLayer(files []layerFile, mtime time.Time, mt types.MediaType) (v1.Layer, error) {
	entries := map[string]layerFile{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" {
			continue
		}
		f.Path = p
		entries[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = layerFile{Path: d, Dir: true, Mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	diff := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, diff))
	for _, n := range names {
		if err := writeEntry(tw, entries[n], mtime); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(compressed.Bytes())
	return &memLayer{
		mt:     mt,
		gz:     compressed.Bytes(),
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))},
	}, nil
}

func writeEntry(tw *tar.Writer, f layerFile, mtime time.Time) error {
	h := &tar.Header{
		Name:    strings.TrimPrefix(f.Path, "/"),
		Mode:    int64(f.Mode.Perm()),
		ModTime: mtime,
	}
	if f.Mode&fs.ModeSticky != 0 {
		h.Mode |= 0o1000
	}
	var body io.Reader
	switch {
	case f.Dir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case f.Link != "":
		h.Typeflag = tar.TypeSymlink
		h.Linkname = f.Link
		h.Mode = 0o777
	case f.Src != "":
		fh, err := os.Open(f.Src)
		if err != nil {
			return err
		}
		defer fh.Close()
		st, err := fh.Stat()
		if err != nil {
			return err
		}
		h.Typeflag = tar.TypeReg
		h.Size = st.Size()
		body = fh
	default:
		h.Typeflag = tar.TypeReg
		h.Size = int64(len(f.Data))
		body = bytes.NewReader(f.Data)
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("layer entry %s: %w", f.Path, err)
	}
	if body != nil {
		if _, err := io.Copy(tw, body); err != nil {
			return fmt.Errorf("layer entry %s: %w", f.Path, err)
		}
	}
	return nil
}

// filesFromDisk lists what `--add SRC:DST` adds: a file, or a directory's
// tree under DST. Modes are normalised (0755 if any execute bit, else 0644)
// so that a different umask on another machine does not change the digest.
func filesFromDisk(src, dst string) ([]layerFile, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(dst, "/") {
		return nil, fmt.Errorf("destination %q is not an absolute path in the image", dst)
	}
	if !st.IsDir() {
		if strings.HasSuffix(dst, "/") {
			dst = path.Join(dst, filepath.Base(src))
		}
		return []layerFile{{Path: dst, Src: src, Mode: normMode(st.Mode())}}, nil
	}
	var out []layerFile
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			out = append(out, layerFile{Path: target, Dir: true, Mode: 0o755})
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, layerFile{Path: target, Link: link})
		case info.Mode().IsRegular():
			out = append(out, layerFile{Path: target, Src: p, Mode: normMode(info.Mode())})
		default:
			return fmt.Errorf("%s: only regular files, directories and symlinks can be added", p)
		}
		return nil
	})
	return out, err
}

func normMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// memLayer is a compressed layer held in memory, with both digests computed
// while it was written (so nothing is compressed twice).
type memLayer struct {
	mt             types.MediaType
	gz             []byte
	digest, diffID v1.Hash
}

func (l *memLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.gz))
}
