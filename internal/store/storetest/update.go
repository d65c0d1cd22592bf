package storetest

// Update: optimistic versions, no lost update.

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func testUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	j := mustCreate(t, s, sampleJob("upd"))
	if _, err := s.Claim(ctx, "owner-1", time.Hour, 10); err != nil {
		t.Fatal(err)
	}
	j = mustGet(t, s, j.ID)
	before := j.UpdatedAt
	time.Sleep(2 * time.Millisecond)
	started := time.Now().Add(-time.Minute)
	j.RemoteName, j.RemoteARN = "upd-xyz", "arn:aws:sagemaker:us-east-1:1:training-job/upd-xyz"
	j.Status, j.SecondaryStatus, j.StatusMessage = store.StatusRunning, "Training", "training"
	j.StartedAt = &started
	j.BillableSeconds = 42
	j.CancelRequested = true
	j.Report = json.RawMessage(`{"auc": 0.5}`)
	j.LeaseOwner, j.LeaseExpires = "someone-else", time.Time{} // Update must not touch the lease
	if err := s.Update(ctx, j); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if j.Version != 2 || !j.UpdatedAt.After(before) {
		t.Errorf("after Update: version %d (want 2), updated_at %v (was %v)", j.Version, j.UpdatedAt, before)
	}
	got := mustGet(t, s, j.ID)
	want := *j
	want.LeaseOwner, want.LeaseExpires = got.LeaseOwner, got.LeaseExpires
	assertSame(t, "Get after Update", &want, got)
	if got.LeaseOwner != "owner-1" || got.LeaseExpires.Before(time.Now()) {
		t.Errorf("Update changed the lease: owner %q expires %v", got.LeaseOwner, got.LeaseExpires)
	}
	// The name filter follows renames.
	names := func(q string) int {
		jobs, _, err := s.List(ctx, store.ListFilter{NameContains: q})
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	if names("upd-xyz") != 1 {
		t.Errorf("the new remote name is not found by List")
	}
	got.RemoteName = "renamed-abc"
	if err := s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if names("upd-xyz") != 0 || names("RENAMED-a") != 1 || names("upd") != 1 {
		t.Errorf("after a rename, List finds the old name %d times, the new one %d times", names("upd-xyz"), names("renamed-a"))
	}
	if err := s.Update(ctx, &store.Job{ID: "missing", Status: store.StatusRunning, Version: 1}); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Update of a missing job: want ErrNotFound, got %v", err)
	}
	got.Status = "weird"
	if err := s.Update(ctx, got); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("Update to an unknown status: want a configuration error, got %v", err)
	}
}

func testUpdateConflict(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	j := mustCreate(t, s, sampleJob("conflict"))
	a, b := mustGet(t, s, j.ID), mustGet(t, s, j.ID)
	a.StatusMessage = "from a"
	if err := s.Update(ctx, a); err != nil {
		t.Fatalf("first Update: %v", err)
	}
	b.StatusMessage = "from b"
	b.Status = store.StatusFailed
	err := s.Update(ctx, b, store.Event{Status: store.StatusFailed, Message: "should not be kept"})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale Update: want ErrConflict, got %v", err)
	}
	if b.Version != 1 {
		t.Errorf("a failed Update bumped the caller's version to %d", b.Version)
	}
	got := mustGet(t, s, j.ID)
	if got.StatusMessage != "from a" || got.Status != store.StatusPending || got.Version != 2 {
		t.Errorf("after the conflict: message %q status %q version %d", got.StatusMessage, got.Status, got.Version)
	}
	evs, err := s.Events(ctx, j.ID)
	if err != nil || len(evs) != 1 {
		t.Errorf("the rejected Update's event was kept: %+v (err %v)", evs, err)
	}
}

func testUpdateNoLostIncrement(t *testing.T, s store.Store) {
	incrementRace(t, []store.Store{s}, 8, 5)
}

// incrementRace has workers spread over stores each add 1 to a job's
// BillableSeconds rounds times, re-reading on conflict: the total is exact.
func incrementRace(t *testing.T, stores []store.Store, workers, rounds int) {
	ctx := ctxT(t)
	j := mustCreate(t, stores[0], sampleJob("counter"))
	var wg sync.WaitGroup
	conflicts := make([]int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := stores[w%len(stores)]
			for r := 0; r < rounds; r++ {
				for {
					cur, err := s.Get(ctx, j.ID)
					if err != nil {
						t.Error(err)
						return
					}
					cur.BillableSeconds++
					err = s.Update(ctx, cur)
					if err == nil {
						break
					}
					if !errors.Is(err, errs.ErrConflict) {
						t.Errorf("Update: %v", err)
						return
					}
					conflicts[w]++
				}
			}
		}(w)
	}
	wg.Wait()
	got := mustGet(t, stores[len(stores)-1], j.ID)
	if want := int64(workers * rounds); got.BillableSeconds != want || got.Version != want+1 {
		t.Fatalf("%d increments gave %d (version %d): updates were lost", want, got.BillableSeconds, got.Version)
	}
}
