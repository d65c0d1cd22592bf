package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// registerEvents adds GET /events: the outbox and its delivery state.
func (s *Server) registerEvents() {
	s.handle("GET", Prefix+"/events", "bearer", true, s.listEvents)
}

// OutboxEventView is one outbox event with its delivery state.
type OutboxEventView struct {
	Seq           int64           `json:"seq"`
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	JobID         string          `json:"job_id"`
	State         string          `json:"state"` // pending, delivered, failed
	Attempts      int             `json:"attempts"`
	OccurredAt    time.Time       `json:"occurred_at"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"` // while pending
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	Delivered     int             `json:"destinations_delivered"` // destinations that answered 2xx
	Event         json.RawMessage `json:"event"`                  // the body as sent
}

// EventsResponse is the answer of GET /events.
type EventsResponse struct {
	Events     []OutboxEventView `json:"events"`
	Count      int               `json:"count"`
	NextCursor string            `json:"next_cursor"` // pass as ?after= for the next page; "" at the end
}

// NewOutboxEventView converts an outbox row.
func NewOutboxEventView(e *store.OutboxEvent) OutboxEventView {
	v := OutboxEventView{Seq: e.Seq, ID: e.ID, Type: e.Type, JobID: e.JobID, State: e.State, Attempts: e.Attempts,
		OccurredAt: e.OccurredAt, DeliveredAt: e.DeliveredAt, LastError: e.LastError, Delivered: len(e.DoneURLs)}
	if e.State == store.OutboxPending {
		t := e.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if json.Valid(e.Payload) {
		v.Event = e.Payload
	}
	return v
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	ob, ok := s.opt.Store.(store.Outbox)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this server has no events outbox; run serve with a SQLite or PostgreSQL store")
		return
	}
	q := r.URL.Query()
	f := store.OutboxFilter{JobID: strings.TrimSpace(q.Get("job_id")), State: strings.TrimSpace(q.Get("state"))}
	if len(f.JobID) > 128 {
		writeError(w, http.StatusBadRequest, "bad_request", "job_id is longer than 128 characters; give a sagetrain job id")
		return
	}
	switch f.State {
	case "", store.OutboxPending, store.OutboxDelivered, store.OutboxFailed:
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "state must be pending, delivered or failed")
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a whole number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "after must be the next_cursor of a previous page")
			return
		}
		f.AfterSeq = n
	}
	evs, err := ob.ListOutbox(r.Context(), f)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	resp := EventsResponse{Events: make([]OutboxEventView, 0, len(evs)), Count: len(evs)}
	for _, e := range evs {
		resp.Events = append(resp.Events, NewOutboxEventView(e))
	}
	if n := len(evs); n > 0 && n == store.OutboxLimit(f.Limit) {
		resp.NextCursor = strconv.FormatInt(evs[n-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}
