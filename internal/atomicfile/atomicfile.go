package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile writes b to path atomically with permissions perm.
func WriteFile(path string, b []byte, perm os.FileMode) error {
	return Write(path, perm, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// Write calls fill with a temporary file next to path and, when fill and
// closing succeed, renames it to path with permissions perm. On any error
// the temporary file is removed and path is left as it was.
func Write(path string, perm os.FileMode, fill func(*os.File) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
