package dataset

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// journal records each object this machine has finished sending to one
// destination, so an interrupted upload resumes without re-sending or
// re-checking them. It is removed once the manifest is written.
type journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	done map[string]Entry
}

func openJournal(cache, dataDir string, loc S3Location) (*journal, error) {
	abs, _ := filepath.Abs(dataDir)
	j := &journal{path: filepath.Join(cache, "uploads", keyOf(abs, loc.Bucket, loc.Prefix)+".journal"), done: map[string]Entry{}}
	if b, err := os.ReadFile(j.path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			// "<sha256> <size> <path>"; a torn last line is skipped.
			parts := strings.SplitN(line, " ", 3)
			if len(parts) != 3 || len(parts[0]) != 64 {
				continue
			}
			size, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				continue
			}
			j.done[parts[2]] = Entry{Path: parts[2], Size: size, SHA256: parts[0]}
		}
	}
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return nil, errs.Configuration("cannot create the upload journal folder "+filepath.Dir(j.path), "check the cache folder's permissions or set --cache-dir", err)
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, errs.Configuration("cannot open the upload journal "+j.path, "check the cache folder's permissions or set --cache-dir", err)
	}
	j.f, j.w = f, bufio.NewWriter(f)
	return j, nil
}

// Add records a finished object. Lines are flushed at once so that a
// killed process loses at most the object in flight.
func (j *journal) Add(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fmt.Fprintf(j.w, "%s %d %s\n", e.SHA256, e.Size, e.Path)
	_ = j.w.Flush()
}

func (j *journal) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		_ = j.w.Flush()
		_ = j.f.Close()
		j.f = nil
	}
}

// Finish closes and removes the journal: the remote manifest now says it all.
func (j *journal) Finish() {
	j.Close()
	_ = os.Remove(j.path)
}
