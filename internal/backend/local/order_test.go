package local

import (
	"context"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
)

// An early cancel: every observation's history is in time order, and once
// a stop was asked the history shows Stopping (so a reconciler that
// recorded "stopping" never replays earlier steps after it).
func TestEarlyStopKeepsTheHistoryInOrder(t *testing.T) {
	t.Parallel()
	b := newBackend(t, time.Second)
	ctx := context.Background()
	if _, err := b.Create(ctx, request("early", dataset(t), "", "sleep", 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	check := func(o backend.Observation) {
		t.Helper()
		seen := false
		for i, tr := range o.Transitions {
			if i > 0 && tr.StartTime.Before(o.Transitions[i-1].StartTime) {
				t.Fatalf("transitions out of time order: %+v", o.Transitions)
			}
			if tr.Status == "Stopping" {
				seen = true
			}
			if seen && (tr.Status == "Downloading" || tr.Status == "Training" || tr.Status == "Starting") {
				t.Fatalf("%s after Stopping: %+v", tr.Status, o.Transitions)
			}
		}
		if !seen {
			t.Fatalf("a stopped job's history has no Stopping: %+v", o.Transitions)
		}
	}
	for {
		o, err := b.Describe(ctx, "early")
		if err != nil {
			t.Fatal(err)
		}
		check(o)
		if o.Status.Terminal() {
			if o.Transitions[len(o.Transitions)-1].Status != "Stopped" {
				t.Fatalf("ends %+v", o.Transitions)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
