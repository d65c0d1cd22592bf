package events_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint on 127.0.0.1 that records every delivery.
// failFirst deliveries are answered 500; while hang is set, requests block
// until the client gives up.
type receiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	failFirst int
	hang      bool
	seen      int
	got       []delivery // the accepted ones, in arrival order
	delay     time.Duration
}

type delivery struct {
	id, typ, sig string
	body         []byte
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen++
	n, hang, delay := r.seen, r.hang, r.delay
	r.mu.Unlock()
	if hang {
		<-req.Context().Done()
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if n <= r.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, delivery{id: req.Header.Get("X-Sagetrain-Event-Id"), typ: req.Header.Get("X-Sagetrain-Event-Type"),
		sig: req.Header.Get("X-Sagetrain-Signature"), body: body})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) setHang(v bool) {
	r.mu.Lock()
	r.hang = v
	r.mu.Unlock()
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}
