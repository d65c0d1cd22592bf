package storetest

// Events: the history Create and Update write.

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func testEvents(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	j := mustCreate(t, s, &store.Job{Name: "ev", StatusMessage: "queued"})
	// A change with no explicit event is recorded by the store.
	j.Status, j.SecondaryStatus = store.StatusPreparing, "Starting"
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	// A change of something else records nothing.
	j.BillableSeconds = 5
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	// Explicit events are kept as given, in order, exact to the microsecond.
	t1 := time.Date(2026, 5, 6, 7, 8, 9, 101112000, time.UTC)
	t2 := t1.Add(1500 * time.Microsecond)
	j.Status, j.SecondaryStatus = store.StatusRunning, "Training"
	if err := s.Update(ctx, j,
		store.Event{At: t1, Status: store.StatusRunning, SecondaryStatus: "Downloading", Message: "fetching data"},
		store.Event{At: t2, Status: store.StatusRunning, SecondaryStatus: "Training", Message: "training"},
	); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		st  store.Status
		sec string
		msg string
	}
	want := []ev{{store.StatusPending, "", "queued"}, {store.StatusPreparing, "Starting", "queued"}, {store.StatusRunning, "Downloading", "fetching data"}, {store.StatusRunning, "Training", "training"}}
	if len(evs) != len(want) {
		t.Fatalf("events: got %d %+v, want %d", len(evs), evs, len(want))
	}
	for i, e := range evs {
		if (ev{e.Status, e.SecondaryStatus, e.Message}) != want[i] || e.JobID != j.ID {
			t.Errorf("event %d: got %+v, want %+v", i, e, want[i])
		}
		if e.At.Location() != time.UTC {
			t.Errorf("event %d time not UTC: %v", i, e.At)
		}
	}
	if !evs[0].At.Equal(j.CreatedAt) {
		t.Errorf("first event at %v, want the creation time %v", evs[0].At, j.CreatedAt)
	}
	if !evs[2].At.Equal(t1) || !evs[3].At.Equal(t2) {
		t.Errorf("event times not kept exactly: %v %v, want %v %v", evs[2].At, evs[3].At, t1, t2)
	}
	if byRemote, err := s.Events(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Events of a missing job: want ErrNotFound, got %v %v", byRemote, err)
	}

	// GetWithEvents is Get and Events in one: by id and by remote name.
	j.RemoteName = "ev-remote-1"
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{j.ID, j.RemoteName} {
		gj, gevs, err := s.GetWithEvents(ctx, key)
		if err != nil {
			t.Fatalf("GetWithEvents(%q): %v", key, err)
		}
		assertSame(t, "GetWithEvents("+key+")", mustGet(t, s, j.ID), gj)
		if !reflect.DeepEqual(gevs, evs) {
			t.Errorf("GetWithEvents(%q) events:\n got %+v\nwant %+v", key, gevs, evs)
		}
	}
	if gj, _, err := s.GetWithEvents(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("GetWithEvents of a missing job: want ErrNotFound, got %v %v", gj, err)
	}
}
