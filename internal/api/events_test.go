package api

import (
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

func TestEventsRouteShowsTheOutbox(t *testing.T) {
	h := newHarness(t, nil)
	var a, b JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"ev-a"}`, 201, &a)
	h.json("POST", Prefix+"/jobs", `{"job_name":"ev-b"}`, 201, &b)
	h.finish(a.ID, store.StatusCompleted, nil)

	var page EventsResponse
	h.json("GET", Prefix+"/events?job_id="+a.ID, "", 200, &page)
	var types []string
	for _, e := range page.Events {
		if e.JobID != a.ID || e.State != store.OutboxPending || e.NextAttemptAt == nil || len(e.Event) == 0 {
			t.Errorf("event %+v", e)
		}
		types = append(types, e.Type)
	}
	if len(types) != 3 || types[0] != "job.pending" || types[2] != "job.completed" {
		t.Fatalf("job a's events: %v", types)
	}

	// Pages: one event at a time, oldest first, across both jobs.
	var seen []int64
	after := ""
	for range 10 {
		var p EventsResponse
		h.json("GET", Prefix+"/events?limit=1"+after, "", 200, &p)
		if p.Count == 0 {
			break
		}
		seen = append(seen, p.Events[0].Seq)
		if p.NextCursor == "" {
			break
		}
		after = "&after=" + p.NextCursor
	}
	if len(seen) != 4 || seen[0] >= seen[3] {
		t.Errorf("paged through %v, want 4 events in order", seen)
	}

	for _, bad := range []string{"?state=lost", "?limit=0", "?limit=x", "?after=-1"} {
		code, body, _ := h.do("GET", Prefix+"/events"+bad, testToken, nil)
		if code != 400 || errorCode(t, body) != "bad_request" {
			t.Errorf("GET /events%s = %d %s", bad, code, body)
		}
	}
}
