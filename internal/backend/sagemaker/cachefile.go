package sagemaker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/backend"
)

// cacheFileVersion changes when the file's shape does; other versions are ignored.
const cacheFileVersion = 1

type cacheFile struct {
	Version int                   `json:"version"`
	Jobs    map[string]cachedSeen `json:"jobs"`
}

type cachedSeen struct {
	Obs        backend.Observation `json:"obs"`
	ObservedAt time.Time           `json:"observed_at"`
	Status     string              `json:"status"`
}

// loadCache reads Options.CachePath into the cache. A missing, unreadable
// or foreign file just means a cold cache: the file only saves API calls.
//
// Stale entries are safe: a change after an entry's observedAt has a
// modification time after observedAt less the margin, so Refresh lists it
// and describes the job again.
func (b *Backend) loadCache() {
	if b.opt.CachePath == "" {
		return
	}
	raw, err := os.ReadFile(b.opt.CachePath)
	if err != nil {
		return
	}
	var f cacheFile
	if json.Unmarshal(raw, &f) != nil || f.Version != cacheFileVersion {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, s := range f.Jobs {
		if _, ok := b.cache[n]; !ok {
			b.cache[n] = seen{obs: s.Obs, observedAt: s.ObservedAt, status: s.Status}
		}
	}
}

// saveCache writes the cache to Options.CachePath atomically (temp file and
// rename), so concurrent processes never read half a file; the last writer
// wins, which is safe (see loadCache).
func (b *Backend) saveCache() {
	if b.opt.CachePath == "" {
		return
	}
	b.mu.Lock()
	f := cacheFile{Version: cacheFileVersion, Jobs: make(map[string]cachedSeen, len(b.cache))}
	for n, s := range b.cache {
		f.Jobs[n] = cachedSeen{Obs: s.obs, ObservedAt: s.observedAt, Status: s.status}
	}
	b.mu.Unlock()
	raw, err := json.Marshal(f)
	if err != nil {
		return
	}
	dir := filepath.Dir(b.opt.CachePath)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	_ = atomicfile.WriteFile(b.opt.CachePath, raw, 0o600) // a cache: losing a write costs one describe
}
