package api

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultListCacheTTL is how long an encoded GET /jobs page is served from
// memory. Dashboards and the application poll the same few pages (the
// newest jobs, a status filter); one second of staleness takes almost every
// list request off the store, and this replica's own writes clear the cache.
const DefaultListCacheTTL = time.Second

// The cache's bounds: a default page is about 25 KiB, a page of 1,000 jobs
// about 500 KiB, and an authenticated client could ask for many distinct
// pages, so both the count and the bytes are capped.
const (
	maxListCacheEntries = 1024
	maxListCacheBytes   = 32 << 20
)

// listCache is a microcache of encoded list pages keyed by query string.
// Concurrent misses for one key wait for a single store read (singleflight),
// so an expiring page never sends every client to the store at once.
type listCache struct {
	ttl   time.Duration
	group singleflight.Group

	mu      sync.Mutex
	gen     uint64 // bumped by clear: a read that started before a write is not stored
	entries map[string]listCacheEntry
	bytes   int // sum of the cached bodies' sizes
}

type listCacheEntry struct {
	body    []byte
	expires time.Time
}

// newListCache returns nil (no caching) for ttl < 0, the default for 0.
func newListCache(ttl time.Duration) *listCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = DefaultListCacheTTL
	}
	return &listCache{ttl: ttl, entries: map[string]listCacheEntry{}}
}

// get returns the page for key, from memory when fresh (and useCached is
// true: hit) or from load. Errors are not cached.
func (c *listCache) get(key string, useCached bool, load func() ([]byte, error)) (body []byte, hit bool, err error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.Unlock()
	if useCached && ok && now.Before(e.expires) {
		return e.body, true, nil
	}
	// The generation is part of the flight's key: a request that comes after
	// a write never joins a read that started before it.
	v, err, _ := c.group.Do(strconv.FormatUint(gen, 10)+"\x00"+key, func() (any, error) {
		body, err := load()
		if err != nil {
			return nil, err
		}
		c.put(key, body, gen)
		return body, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.([]byte), false, nil
}

func (c *listCache) put(key string, body []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // a write happened while this page was read
	}
	now := time.Now()
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(old.body)
		delete(c.entries, key)
	}
	if len(c.entries) >= maxListCacheEntries || c.bytes+len(body) > maxListCacheBytes {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				c.bytes -= len(e.body)
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxListCacheEntries || c.bytes+len(body) > maxListCacheBytes {
			return // full of fresh pages: serve this one uncached
		}
	}
	c.entries[key] = listCacheEntry{body: body, expires: now.Add(c.ttl)}
	c.bytes += len(body)
}

// clear drops every page: called after this replica submits or cancels,
// so its own clients see their change at once.
func (c *listCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.bytes = 0
	c.mu.Unlock()
}
