package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// LinkTree makes dst a real folder tree mirroring src, each file a hard link
// to the source file (a copy when src is on another file system). Symbolic
// links in src are followed. The trainer sees ordinary folders and files, as
// in a SageMaker container, and nothing is copied when it need not be; the
// trainer only reads its input, so the links are safe.
func LinkTree(src, dst string) error {
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(real)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return linkOrCopy(real, dst)
	}
	return linkDir(real, dst, map[string]bool{}, 0)
}

func linkDir(src, dst string, seen map[string]bool, depth int) error {
	if seen[src] || depth > 64 {
		return fmt.Errorf("link loop at %s", src)
	}
	seen[src] = true
	defer delete(seen, src)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		mode := e.Type()
		if mode&os.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(s)
			if err != nil {
				continue // a dangling link: the trainer could not read it either
			}
			st, err := os.Stat(real)
			if err != nil {
				continue
			}
			s, mode = real, st.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if err := linkDir(s, d, seen, depth+1); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := linkOrCopy(s, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, os.ErrExist) {
		return nil
	}
	var le *os.LinkError
	if !errors.As(err, &le) || !(errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.EPERM) || errors.Is(le.Err, syscall.EMLINK)) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
