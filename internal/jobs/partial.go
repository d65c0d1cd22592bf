package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockPartial holds an flock on a collection's .partial-* folder while it
// is filled, so RemovePartial can tell a live collection (of any process
// on this host) from one a killed process left behind.
func lockPartial(dir string) func() {
	f, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return func() {}
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}

// RemovePartial removes the .partial-* folders under the artifact root
// that no live collection holds: what a collection killed half-way left
// (serve calls it at start-up). It returns how many it removed.
func (s *Service) RemovePartial() int {
	entries, err := os.ReadDir(s.artRoot)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.Contains(e.Name(), ".partial-") {
			continue
		}
		p := filepath.Join(s.artRoot, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			if os.RemoveAll(p) == nil {
				n++
			}
		}
		f.Close()
	}
	return n
}
