package storetest

// CountByStatus and Ping.

import (
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

func testCountPing(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	counts, err := s.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range store.AllStatuses {
		if counts[st] != 0 {
			t.Fatalf("empty store counts %v", counts)
		}
	}
	want := map[store.Status]int64{store.StatusRunning: 3, store.StatusFailed: 1, store.StatusPending: 2}
	for st, n := range want {
		for i := int64(0); i < n; i++ {
			mustCreate(t, s, &store.Job{Name: "n", Status: st})
		}
	}
	counts, err = s.CountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range store.AllStatuses {
		if counts[st] != want[st] {
			t.Errorf("count of %s: %d, want %d", st, counts[st], want[st])
		}
	}
}
