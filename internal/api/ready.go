package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyCache runs the readiness checks at most once per ttl, so a busy
// load balancer's probes do not hammer the store or AWS.
type readyCache struct {
	mu    sync.Mutex
	check func(context.Context) map[string]string
	ttl   time.Duration
	at    time.Time
	last  map[string]string
}

func newReadyCache(check func(context.Context) map[string]string, ttl time.Duration) *readyCache {
	return &readyCache{check: check, ttl: ttl}
}

func (c *readyCache) get(ctx context.Context) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && time.Since(c.at) < c.ttl {
		return c.last
	}
	c.last = c.check(context.WithoutCancel(ctx))
	c.at = time.Now()
	return c.last
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.opt.Metrics.Registry(), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }
