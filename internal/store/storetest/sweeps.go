package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// RunSweeps checks a driver's SweepStore: create, get, optimistic update,
// live listing, and the trial mark that List's SweepID and NoTrials filter on.
func RunSweeps(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	ss, ok := st.(store.SweepStore)
	if !ok {
		t.Fatalf("%T does not keep sweeps", st)
	}
	sw := &store.Sweep{Name: "lr", Status: "running", Doc: []byte(`{"trials":[]}`)}
	if err := ss.CreateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	got, err := ss.GetSweep(ctx, sw.ID)
	if err != nil || got.Name != "lr" || string(got.Doc) != `{"trials":[]}` || got.Version != 1 || !got.CreatedAt.Equal(sw.CreatedAt) {
		t.Fatalf("GetSweep: %+v, %v", got, err)
	}
	if _, err := ss.GetSweep(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("GetSweep of nothing: %v", err)
	}
	stale := *got
	got.Doc, got.CancelRequested = []byte(`{"trials":[1]}`), true
	if err := ss.UpdateSweep(ctx, got); err != nil || got.Version != 2 {
		t.Fatalf("UpdateSweep: %v (version %d)", err, got.Version)
	}
	if err := ss.UpdateSweep(ctx, &stale); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("UpdateSweep of a stale copy: %v", err)
	}
	done := &store.Sweep{Name: "old", Status: "completed", Doc: []byte(`{}`)}
	if err := ss.CreateSweep(ctx, done); err != nil {
		t.Fatal(err)
	}
	live, err := ss.ListSweeps(ctx, true, 10)
	if err != nil || len(live) != 1 || live[0].ID != sw.ID || !live[0].CancelRequested {
		t.Fatalf("ListSweeps(live): %v, %v", live, err)
	}
	all, err := ss.ListSweeps(ctx, false, 10)
	if err != nil || len(all) != 2 || all[0].ID != done.ID {
		t.Fatalf("ListSweeps(all) newest first: %v, %v", all, err)
	}

	trial, _, err := st.Create(ctx, &store.Job{Name: "lr-t1", Backend: "local"})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := st.Create(ctx, &store.Job{Name: "plain", Backend: "local"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.SetJobSweep(ctx, trial.ID, sw.ID); err != nil {
		t.Fatal(err)
	}
	if err := ss.SetJobSweep(ctx, "nope", sw.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("SetJobSweep of nothing: %v", err)
	}
	for _, c := range []struct {
		f    store.ListFilter
		want []string
	}{
		{store.ListFilter{SweepID: sw.ID}, []string{trial.ID}},
		{store.ListFilter{NoTrials: true}, []string{plain.ID}},
		{store.ListFilter{NoTrials: true, NameContains: "LR"}, nil},
		{store.ListFilter{}, []string{plain.ID, trial.ID}},
	} {
		js, _, err := st.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range js {
			ids = append(ids, j.ID)
		}
		if len(ids) != len(c.want) || (len(ids) > 0 && (ids[0] != c.want[0] || ids[len(ids)-1] != c.want[len(c.want)-1])) {
			t.Fatalf("List(%+v) = %v, want %v", c.f, ids, c.want)
		}
	}
	// SetJobSweep leaves the job's version alone: no update of it is lost.
	j, _ := st.Get(ctx, trial.ID)
	if j.Version != trial.Version {
		t.Fatalf("SetJobSweep bumped the job's version: %d -> %d", trial.Version, j.Version)
	}
}
