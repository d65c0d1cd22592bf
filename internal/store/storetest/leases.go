package storetest

// Claim and Release: leases.

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func claimIDs(t *testing.T, s store.Store, owner string, ttl time.Duration, limit int) map[string]bool {
	t.Helper()
	jobs, err := s.Claim(ctxT(t), owner, ttl, limit)
	if err != nil {
		t.Fatalf("Claim(%s): %v", owner, err)
	}
	out := map[string]bool{}
	for _, j := range jobs {
		if j.LeaseOwner != owner || !j.LeaseExpires.After(time.Now().Add(-time.Second)) {
			t.Errorf("claimed job %s has lease %q until %v", j.ID, j.LeaseOwner, j.LeaseExpires)
		}
		out[j.ID] = true
	}
	return out
}

func testClaimRelease(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	live := map[string]bool{}
	for i, st := range store.AllStatuses {
		j := mustCreate(t, s, &store.Job{Name: fmt.Sprintf("c%d", i), Status: st})
		if !st.Terminal() {
			live[j.ID] = true
		}
	}
	a := claimIDs(t, s, "A", time.Hour, 100)
	if !reflect.DeepEqual(a, live) {
		t.Fatalf("A claimed %v, want exactly the live jobs %v", a, live)
	}
	if b := claimIDs(t, s, "B", time.Hour, 100); len(b) != 0 {
		t.Fatalf("B got jobs leased to A: %v", b)
	}
	if again := claimIDs(t, s, "A", time.Hour, 100); !reflect.DeepEqual(again, live) {
		t.Fatalf("A renewing its leases got %v", again)
	}
	if two := claimIDs(t, s, "A", time.Hour, 2); len(two) != 2 {
		t.Fatalf("limit 2 returned %d jobs", len(two))
	}
	var one string
	for id := range live {
		one = id
		break
	}
	if err := s.Release(ctx, one, "B"); err != nil {
		t.Fatal(err)
	}
	if b := claimIDs(t, s, "B", time.Hour, 100); len(b) != 0 {
		t.Fatalf("B's Release freed A's lease: B got %v", b)
	}
	if err := s.Release(ctx, one, "A"); err != nil {
		t.Fatal(err)
	}
	if g := mustGet(t, s, one); g.LeaseOwner != "" || !g.LeaseExpires.IsZero() {
		t.Errorf("after Release: lease %q until %v", g.LeaseOwner, g.LeaseExpires)
	}
	if b := claimIDs(t, s, "B", time.Hour, 100); !reflect.DeepEqual(b, map[string]bool{one: true}) {
		t.Fatalf("after A released %s, B got %v", one, b)
	}
	// A job that ends is no longer claimed, even by its owner.
	j := mustGet(t, s, one)
	j.Status = store.StatusCompleted
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	if b := claimIDs(t, s, "B", time.Hour, 100); len(b) != 0 {
		t.Fatalf("B claimed a completed job: %v", b)
	}
	if _, err := s.Claim(ctx, "", time.Hour, 1); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("Claim without owner: want a configuration error, got %v", err)
	}
}

func testClaimExpiry(t *testing.T, s store.Store) {
	j := mustCreate(t, s, sampleJob("lease"))
	if a := claimIDs(t, s, "A", 300*time.Millisecond, 10); !a[j.ID] {
		t.Fatal("A did not get the job")
	}
	if b := claimIDs(t, s, "B", time.Hour, 10); len(b) != 0 {
		t.Fatal("B got the job while A's lease is live")
	}
	time.Sleep(400 * time.Millisecond)
	if b := claimIDs(t, s, "B", time.Hour, 10); !b[j.ID] {
		t.Fatal("B did not get the job after A's lease expired")
	}
	if a := claimIDs(t, s, "A", time.Hour, 10); len(a) != 0 {
		t.Fatal("A got the job back while B holds it")
	}
}

// testClaimOne: ClaimOne leases that job under Claim's rules and touches no
// other job's lease.
func testClaimOne(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := mustCreate(t, s, sampleJob("one-a"))
	b := mustCreate(t, s, sampleJob("one-b"))
	got, err := s.ClaimOne(ctx, a.ID, "A", time.Hour)
	if err != nil || got == nil || got.ID != a.ID || got.LeaseOwner != "A" {
		t.Fatalf("ClaimOne(a, A) = %+v, %v; want job a leased to A", got, err)
	}
	if g := mustGet(t, s, b.ID); g.LeaseOwner != "" {
		t.Fatalf("ClaimOne(a) leased b too, to %q", g.LeaseOwner)
	}
	if got, err := s.ClaimOne(ctx, a.ID, "B", time.Hour); err != nil || got != nil {
		t.Fatalf("ClaimOne(a, B) while A holds it = %+v, %v; want nil, nil", got, err)
	}
	if got, err := s.ClaimOne(ctx, a.ID, "A", time.Hour); err != nil || got == nil {
		t.Fatalf("A renewing its own lease with ClaimOne = %+v, %v", got, err)
	}
	if got, err := s.ClaimOne(ctx, "no-such-job", "A", time.Hour); err != nil || got != nil {
		t.Fatalf("ClaimOne(unknown) = %+v, %v; want nil, nil", got, err)
	}
	j := mustGet(t, s, b.ID)
	j.Status = store.StatusCompleted
	if err := s.Update(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimOne(ctx, b.ID, "A", time.Hour); err != nil || got != nil {
		t.Fatalf("ClaimOne(completed) = %+v, %v; want nil, nil", got, err)
	}
	if _, err := s.ClaimOne(ctx, a.ID, "", time.Hour); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("ClaimOne without owner: want a configuration error, got %v", err)
	}
}
