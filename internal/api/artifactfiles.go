package api

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// errNotServable is a file the artifact routes will not serve.
var errNotServable = errors.New("not a regular file inside the job's artifact folder")

// openArtifact opens p for serving only if it is a regular file inside the
// job's artifact folder dir, reached without following any link: each
// folder on the way and the file itself are checked with Lstat inside an
// os.Root of dir, and the file is opened O_NOFOLLOW and checked again on
// the open descriptor. A link planted by an archive is never served.
func openArtifact(dir, p string) (*os.File, fs.FileInfo, error) {
	if dir == "" {
		return nil, nil, errNotServable
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, nil, errNotServable
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	parts := strings.Split(rel, string(filepath.Separator))
	for i := range parts {
		st, err := root.Lstat(filepath.Join(parts[:i+1]...))
		if err != nil {
			return nil, nil, err
		}
		last := i == len(parts)-1
		if st.Mode()&fs.ModeSymlink != 0 || (last && !st.Mode().IsRegular()) || (!last && !st.IsDir()) {
			return nil, nil, errNotServable
		}
	}
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotServable
	}
	return f, st, nil
}
