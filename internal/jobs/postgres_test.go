package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func openPostgres(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Two reconcilers (two services, two store connections: two processes, in
// effect) on one PostgreSQL follow the same jobs: each job is created once
// and its artifacts fetched once, and a cancel made by a third client while
// they update the jobs is not lost.
func TestTwoReconcilersOnOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := testpeer.PostgresDSN(t)
	dir := t.TempDir()
	root, art := filepath.Join(dir, "local"), filepath.Join(dir, "art")
	a := newEnv(t, openPostgres(t, dsn), root, art, "reconciler-a")
	b := newEnv(t, openPostgres(t, dsn), root, art, "reconciler-b")
	client := newEnv(t, openPostgres(t, dsn), root, art, "client")
	ctx := context.Background()

	// Rows as a crashed submit leaves them (pending, not yet created), so
	// the reconcilers race for the Create too.
	const n = 4
	ids := make([]string, n)
	names := make([]string, n)
	for i := range n {
		sp := quickSpec(fmt.Sprintf("pair-%d", i))
		if i == n-1 {
			sp = slowSpec("pair-cancelled")
		}
		sp.ApplyDefaults()
		raw, _ := json.Marshal(sp)
		j, _, err := client.st.Create(ctx, &store.Job{Name: sp.JobName, RemoteName: spec.RemoteName(sp.JobName, spec.NewSuffix()),
			Backend: "local", Spec: raw, Status: store.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		ids[i], names[i] = j.ID, j.RemoteName
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, e := range []*env{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.svc.RunWithErrors(runCtx, func(err error) { t.Logf("%s: %v", e.svc.Owner(), err) })
		}()
	}
	// Cancel the slow one once it runs, while both reconcilers write to it.
	cancelled := ids[n-1]
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := client.svc.Get(ctx, cancelled)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == store.StatusRunning {
			break
		}
		if time.Now().After(deadline) || j.Status.Terminal() {
			stop()
			wg.Wait()
			t.Fatalf("slow job is %s", j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := client.svc.Cancel(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	// Wait for every job to end, as recorded by the reconcilers.
	deadline = time.Now().Add(150 * time.Second)
	for _, id := range ids {
		for {
			j, err := client.svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status.Terminal() {
				break
			}
			if time.Now().After(deadline) {
				stop()
				wg.Wait()
				t.Fatalf("job %s still %s", id, j.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A few more rounds must change nothing.
	time.Sleep(600 * time.Millisecond)
	stop()
	wg.Wait()

	for i, id := range ids {
		j, err := client.svc.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ca, fa := a.be.counts(names[i])
		cb, fb := b.be.counts(names[i])
		if ca+cb != 1 {
			t.Errorf("job %s created %d+%d times", id, ca, cb)
		}
		terminalEvents := 0
		evs, _ := client.svc.Events(ctx, id)
		for _, e := range evs {
			if e.Status.Terminal() {
				terminalEvents++
			}
		}
		if terminalEvents != 1 {
			t.Errorf("job %s has %d terminal events", id, terminalEvents)
		}
		if id == cancelled {
			if j.Status != store.StatusStopped || !j.CancelRequested {
				t.Errorf("cancelled job: %s, cancel_requested=%v (the cancel was lost)", j.Status, j.CancelRequested)
			}
			continue
		}
		if j.Status != store.StatusCompleted {
			t.Errorf("job %s: %s %s", id, j.Status, j.FailureReason)
			continue
		}
		if fa+fb != 1 {
			t.Errorf("job %s artifacts fetched %d+%d times", id, fa, fb)
		}
		checkReport(t, client.svc, j)
	}
}
