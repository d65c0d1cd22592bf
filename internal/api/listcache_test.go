package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// listed returns the names on the first page of GET /jobs.
func (h *harness) listed(hdr ...string) []string {
	h.t.Helper()
	var lr ListResponse
	h.json("GET", Prefix+"/jobs", "", http.StatusOK, &lr, hdr...)
	var names []string
	for _, j := range lr.Jobs {
		names = append(names, j.JobName)
	}
	return names
}

func TestListCacheServesPagesUntilAWriteOrTheTTL(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ListCacheTTL = time.Minute })
	ctx := context.Background()
	h.json("POST", Prefix+"/jobs", `{"job_name":"first"}`, http.StatusCreated, nil)
	if got := h.listed(); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("first list: %v", got)
	}

	// A job written behind this replica's back (another replica, the
	// reconciler) is not seen while the page is cached...
	if _, _, err := h.st.Create(ctx, &store.Job{Name: "elsewhere", Backend: "local", Status: store.StatusPending}); err != nil {
		t.Fatal(err)
	}
	if got := h.listed(); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("cached list: got %v, want the cached page [first]", got)
	}
	// ...unless the client asks for a fresh answer,
	if got := h.listed("Cache-Control", "no-cache"); !slices.Equal(got, []string{"elsewhere", "first"}) {
		t.Fatalf("no-cache list: %v", got)
	}
	// and this replica's own writes clear the cache.
	if _, _, err := h.st.Create(ctx, &store.Job{Name: "elsewhere-2", Backend: "local", Status: store.StatusPending}); err != nil {
		t.Fatal(err)
	}
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"second"}`, http.StatusCreated, &j)
	if got := h.listed(); !slices.Equal(got, []string{"second", "elsewhere-2", "elsewhere", "first"}) {
		t.Fatalf("list after a submit: %v", got)
	}
	h.finish(j.ID, store.StatusRunning, nil)
	h.json("POST", Prefix+"/jobs/"+j.ID+"/cancel", "", http.StatusAccepted, nil)
	var lr ListResponse
	h.json("GET", Prefix+"/jobs", "", http.StatusOK, &lr)
	if !lr.Jobs[0].CancelRequested {
		t.Fatalf("list after a cancel still shows the job without cancel_requested: %+v", lr.Jobs[0])
	}
	// /metrics counts how each page was answered.
	code, metrics, _ := h.do("GET", "/metrics", testToken, nil)
	for _, want := range []string{`sagetrain_list_cache_requests_total{result="hit"} 1`, `sagetrain_list_cache_requests_total{result="bypass"} 1`, `sagetrain_list_cache_requests_total{result="miss"} 3`} {
		if code != http.StatusOK || !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
	// Filters are pages of their own.
	var none ListResponse
	h.json("GET", Prefix+"/jobs?status=failed", "", http.StatusOK, &none)
	if none.Count != 0 {
		t.Fatalf("status=failed: %d jobs", none.Count)
	}
}

func TestListCacheExpires(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ListCacheTTL = 50 * time.Millisecond })
	if got := h.listed(); len(got) != 0 {
		t.Fatalf("empty store lists %v", got)
	}
	if _, _, err := h.st.Create(context.Background(), &store.Job{Name: "later", Backend: "local", Status: store.StatusPending}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.listed()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cached empty page was still served 10 s after its 50 ms TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countingService counts store reads behind the cache and holds each read
// until released, so concurrent misses can be seen waiting on one read.
type countingService struct {
	*storeService
	lists   atomic.Int64
	release chan struct{}
}

func (c *countingService) List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error) {
	c.lists.Add(1)
	<-c.release
	return c.storeService.List(ctx, f)
}

func TestListCacheConcurrentMissesReadOnce(t *testing.T) {
	var cs *countingService
	h := newHarness(t, func(o *Options) {
		cs = &countingService{storeService: o.Jobs.(*storeService), release: make(chan struct{})}
		o.Jobs = cs
		o.ListCacheTTL = time.Minute
	})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.listed()
		}()
	}
	// Let the requests arrive and queue behind the first read.
	for cs.lists.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(cs.release)
	wg.Wait()
	if n := cs.lists.Load(); n != 1 {
		t.Fatalf("20 concurrent requests for one page read the store %d times, want 1", n)
	}
}

func TestListSummaryLeavesSpecOut(t *testing.T) {
	h := newHarness(t, nil)
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"with-spec"}`, http.StatusCreated, &j)
	if len(j.Spec) == 0 {
		t.Fatal("submit answer has no spec")
	}
	var lr ListResponse
	h.json("GET", Prefix+"/jobs", "", http.StatusOK, &lr)
	if lr.Count != 1 || lr.Jobs[0].Spec != nil || lr.Jobs[0].JobName != "with-spec" {
		t.Fatalf("list: %+v", lr)
	}
}

func TestListCacheStaysWithinItsBounds(t *testing.T) {
	c := newListCache(time.Minute)
	page := make([]byte, 1<<20) // 1 MiB pages: the byte cap is reached first
	for i := 0; i < 100; i++ {
		body, hit, err := c.get(strconv.Itoa(i), true, func() ([]byte, error) { return page, nil })
		if err != nil || hit || len(body) != len(page) {
			t.Fatalf("page %d: %d bytes, hit %v, %v", i, len(body), hit, err)
		}
	}
	if c.bytes > maxListCacheBytes || len(c.entries) != maxListCacheBytes/len(page) {
		t.Fatalf("cache holds %d pages, %d bytes; want %d pages within %d bytes", len(c.entries), c.bytes, maxListCacheBytes/len(page), maxListCacheBytes)
	}
	// A page that did not fit is read again, and one that did is a hit.
	if _, hit, _ := c.get("99", true, func() ([]byte, error) { return page, nil }); hit {
		t.Error("page 99 should not have been kept")
	}
	if _, hit, _ := c.get("0", true, func() ([]byte, error) { return page, nil }); !hit {
		t.Error("page 0 should have been kept")
	}
	// Storing a key again replaces its bytes rather than adding them.
	before := c.bytes
	c.put("0", page[:10], c.gen)
	if c.bytes != before-len(page)+10 {
		t.Errorf("bytes after replacing page 0: %d, want %d", c.bytes, before-len(page)+10)
	}
	c.clear()
	if c.bytes != 0 || len(c.entries) != 0 {
		t.Errorf("after clear: %d pages, %d bytes", len(c.entries), c.bytes)
	}
}
