package storetest

// The injectable clock (store.WithClock): the rules take their times from it.

import (
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// RunClock checks that a store opened with store.WithClock stamps
// creations, updates and their events with that clock's time. open must
// return a store on a fresh database, configured with opts.
func RunClock(t *testing.T, open func(t *testing.T, opts ...store.Option) store.Store) {
	var mu sync.Mutex
	now := time.Date(2031, 3, 4, 5, 6, 7, 891011000, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	step := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	s := open(t, store.WithClock(clock))
	ctx := ctxT(t)
	j := mustCreate(t, s, &store.Job{Name: "clocked"})
	if want := clock(); !j.CreatedAt.Equal(want) || !j.UpdatedAt.Equal(want) {
		t.Fatalf("Create stamped %v/%v, want the clock's %v", j.CreatedAt, j.UpdatedAt, want)
	}
	step(time.Minute)
	j.Status = store.StatusRunning
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	if want := clock(); !j.UpdatedAt.Equal(want) {
		t.Fatalf("Update stamped %v, want the clock's %v", j.UpdatedAt, want)
	}
	got := mustGet(t, s, j.ID)
	if !got.UpdatedAt.Equal(j.UpdatedAt) || !got.CreatedAt.Equal(j.CreatedAt) {
		t.Fatalf("stored times %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, j.CreatedAt, j.UpdatedAt)
	}
	evs, err := s.Events(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !evs[0].At.Equal(j.CreatedAt) || !evs[1].At.Equal(j.UpdatedAt) {
		t.Fatalf("events %+v, want one at creation and one at the update", evs)
	}
}
