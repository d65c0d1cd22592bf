package storetest

// The multi-instance contract (RunShared): two pools on one database.

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// testSharedClaim: owners spread over two instances claim, use and release
// the same jobs concurrently; no job is ever held by two owners at once, and
// every job is served.
func testSharedClaim(t *testing.T, a, b store.Store) {
	ctx := ctxT(t)
	const jobs = 30
	for i := 0; i < jobs; i++ {
		mustCreate(t, a, &store.Job{Name: fmt.Sprintf("shared-%d", i), Status: store.StatusRunning})
	}
	var (
		mu     sync.Mutex
		holder = map[string]string{}
		served = map[string]int{}
		wg     sync.WaitGroup
	)
	stores := []store.Store{a, b}
	// Each worker runs at least 5 rounds and goes on until every job was
	// served (the least recently claimed go first, so that happens soon),
	// with a generous cap for slow machines.
	deadline := time.Now().Add(30 * time.Second)
	allServed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(served) == jobs
	}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := stores[w%2]
			owner := fmt.Sprintf("owner-%d", w)
			for round := 0; round < 5 || (!allServed() && time.Now().Before(deadline)); round++ {
				got, err := s.Claim(ctx, owner, 30*time.Second, 4)
				if err != nil {
					t.Errorf("%s Claim: %v", owner, err)
					return
				}
				mu.Lock()
				for _, j := range got {
					if h, ok := holder[j.ID]; ok && h != owner {
						t.Errorf("job %s leased to %s while %s holds it", j.ID, owner, h)
					}
					holder[j.ID] = owner
					served[j.ID]++
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				for _, j := range got {
					delete(holder, j.ID)
				}
				mu.Unlock()
				for _, j := range got {
					if err := s.Release(ctx, j.ID, owner); err != nil {
						t.Errorf("Release: %v", err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	if len(served) != jobs {
		t.Errorf("only %d of %d jobs were ever claimed", len(served), jobs)
	}
	// Long leases, capacity for exactly all jobs: 6 owners taking 5 each
	// get 30 distinct jobs only if no job is handed out twice.
	var (
		cmu   sync.Mutex
		owner = map[string]string{}
		per   = map[string]int{}
		cw    sync.WaitGroup
	)
	for w := 0; w < 6; w++ {
		cw.Add(1)
		go func(w int) {
			defer cw.Done()
			name := fmt.Sprintf("final-%d", w)
			got, err := stores[w%2].Claim(ctx, name, time.Hour, jobs/6)
			if err != nil {
				t.Errorf("Claim: %v", err)
				return
			}
			cmu.Lock()
			defer cmu.Unlock()
			for _, j := range got {
				if o, ok := owner[j.ID]; ok {
					t.Errorf("job %s given to %s and %s", j.ID, o, name)
				}
				owner[j.ID] = name
				per[name]++
			}
		}(w)
	}
	cw.Wait()
	if len(owner) != jobs {
		t.Errorf("%d of %d jobs claimed in the long-lease pass (per owner %v)", len(owner), jobs, per)
	}
}

// testSharedUpdate: the same version updated from both instances at once:
// exactly one wins every round, and a counter loses no increment.
func testSharedUpdate(t *testing.T, a, b store.Store) {
	ctx := ctxT(t)
	j := mustCreate(t, a, sampleJob("duel"))
	for round := 0; round < 15; round++ {
		ja, jb := mustGet(t, a, j.ID), mustGet(t, b, j.ID)
		ja.StatusMessage, jb.StatusMessage = fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
		var errA, errB error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); errA = a.Update(ctx, ja) }()
		go func() { defer wg.Done(); errB = b.Update(ctx, jb) }()
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: both or neither won: %v / %v", round, errA, errB)
		}
		loser, winner := errA, jb
		if errA == nil {
			loser, winner = errB, ja
		}
		if !errors.Is(loser, errs.ErrConflict) {
			t.Fatalf("round %d: loser got %v, want ErrConflict", round, loser)
		}
		if got := mustGet(t, b, j.ID); got.StatusMessage != winner.StatusMessage || got.Version != int64(round+2) {
			t.Fatalf("round %d: stored %q v%d, winner wrote %q", round, got.StatusMessage, got.Version, winner.StatusMessage)
		}
	}
	incrementRace(t, []store.Store{a, b}, 6, 5)
}

func testSharedIdempotency(t *testing.T, a, b store.Store) {
	idempotentRace(t, []store.Store{a, b}, 16)
}
