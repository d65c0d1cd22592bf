package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/events"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

var secret = []byte("test-secret-0123456789")

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newSender(t *testing.T, ob store.Outbox, o events.Options) *events.Sender {
	t.Helper()
	o.Outbox = ob
	if o.Secret == nil {
		o.Secret = secret
	}
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	if o.BaseBackoff == 0 {
		o.BaseBackoff = 50 * time.Millisecond
	}
	s, err := events.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lifecycle records a job through its usual statuses: four events.
func lifecycle(t *testing.T, st store.Store, name string) *store.Job {
	t.Helper()
	ctx := context.Background()
	j, _, err := st.Create(ctx, &store.Job{Name: name, Backend: "local"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Status{store.StatusPreparing, store.StatusRunning, store.StatusCompleted} {
		j.Status, j.SecondaryStatus = s, "sec-"+string(s)
		if err := st.Update(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// waitDelivered waits until no event is pending.
func waitDelivered(t *testing.T, ob store.Outbox, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, err := ob.CountOutbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n[store.OutboxPending] == 0 {
			return
		}
		if time.Now().After(deadline) {
			evs, _ := ob.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxPending, Limit: 5})
			for _, e := range evs {
				t.Logf("still pending: %s %s attempts=%d err=%s", e.ID, e.Type, e.Attempts, e.LastError)
			}
			t.Fatalf("%d events still pending after %s", n[store.OutboxPending], within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOnceInOrder checks that the receiver got every outbox event exactly
// once after de-duplication by id, signed, each job's in seq order.
func checkOnceInOrder(t *testing.T, ob store.Outbox, got []delivery, wantDuplicates bool) {
	t.Helper()
	all, err := ob.ListOutbox(context.Background(), store.OutboxFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seqOf := map[string]*store.OutboxEvent{}
	for _, e := range all {
		seqOf[e.ID] = e
		if e.State != store.OutboxDelivered {
			t.Errorf("event %s is %s (%s)", e.ID, e.State, e.LastError)
		}
	}
	count := map[string]int{}
	lastSeq := map[string]int64{}
	for _, d := range got {
		if !events.Verify(secret, d.body, d.sig) {
			t.Errorf("event %s: bad signature %q", d.id, d.sig)
		}
		var b store.EventBody
		if err := json.Unmarshal(d.body, &b); err != nil || b.ID != d.id || b.Type != d.typ {
			t.Errorf("event %s: body %s does not match its headers (%v)", d.id, d.body, err)
		}
		e, ok := seqOf[d.id]
		if !ok {
			t.Errorf("received unknown event %s", d.id)
			continue
		}
		count[d.id]++
		if count[d.id] == 1 {
			if e.Seq < lastSeq[e.JobID] {
				t.Errorf("job %s: event %d arrived after %d", e.JobID, e.Seq, lastSeq[e.JobID])
			}
			lastSeq[e.JobID] = e.Seq
		}
	}
	for _, e := range all {
		switch n := count[e.ID]; {
		case n == 0:
			t.Errorf("event %s (%s of job %s) never arrived", e.ID, e.Type, e.JobID)
		case n > 1 && !wantDuplicates:
			t.Errorf("event %s arrived %d times", e.ID, n)
		}
	}
}

// A receiver failing its first two deliveries still gets every event,
// in order; the first event took three attempts.
func TestRetriesUntilTheReceiverAccepts(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	rcv := newReceiver(t, 2)
	j := lifecycle(t, st, "retry")
	s := newSender(t, st, events.Options{Destinations: []events.Destination{{URL: rcv.url()}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitDelivered(t, st, 20*time.Second)
	checkOnceInOrder(t, st, rcv.deliveries(), false)
	evs, _ := st.ListOutbox(context.Background(), store.OutboxFilter{JobID: j.ID})
	if len(evs) != 4 || evs[0].Attempts != 3 || evs[0].Type != "job.pending" || evs[3].Type != "job.completed" {
		t.Fatalf("outbox: %d events, first had %d attempts (want 4 events, 3 attempts)", len(evs), evs[0].Attempts)
	}
	if rcv.requests() != 6 {
		t.Errorf("receiver saw %d requests, want 6 (2 refused + 4)", rcv.requests())
	}
}

// A sender killed in the middle of a delivery (its lease still held, the
// status change committed) leaves the event to the next process, which
// delivers it once the lease runs out, and then the rest in order.
func TestAKilledSenderDeliversAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	st := openSQLite(t, path)
	rcv := newReceiver(t, 0)
	rcv.setHang(true)
	lifecycle(t, st, "killed")
	first := newSender(t, st, events.Options{Destinations: []events.Destination{{URL: rcv.url()}}, Owner: "first",
		Timeout: 5 * time.Second, LeaseTTL: time.Second})
	ctx, kill := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { first.Run(ctx); close(done) }()
	for rcv.requests() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	kill() // mid-request: nothing is recorded, the lease stays
	<-done
	st.Close()
	evs, _ := openSQLite(t, path).ListOutbox(context.Background(), store.OutboxFilter{})
	if evs[0].LeaseOwner != "first" || evs[0].State != store.OutboxPending {
		t.Fatalf("after the kill the first event is %s, leased to %q", evs[0].State, evs[0].LeaseOwner)
	}

	rcv.setHang(false)
	st2 := openSQLite(t, path)
	second := newSender(t, st2, events.Options{Destinations: []events.Destination{{URL: rcv.url()}}, Owner: "second", Timeout: 200 * time.Millisecond})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	start := time.Now()
	go second.Run(ctx2)
	waitDelivered(t, st2, 20*time.Second)
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("delivered after %s, before the first sender's lease could end", time.Since(start))
	}
	checkOnceInOrder(t, st2, rcv.deliveries(), false)
}

// Two replicas on one PostgreSQL deliver each event once.
func TestTwoReplicasOnPostgresDeliverEachEventOnce(t *testing.T) {
	dsn := testpeer.PostgresDSN(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	testTwoReplicas(t, a, b)
}

// The same on one SQLite file opened twice (two processes on one machine).
func TestTwoReplicasOnSQLiteDeliverEachEventOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	testTwoReplicas(t, openSQLite(t, path), openSQLite(t, path))
}

func testTwoReplicas(t *testing.T, a, b interface {
	store.Store
	store.Outbox
}) {
	rcv := newReceiver(t, 0)
	rcv.delay = 2 * time.Millisecond
	const jobs = 30
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := store.Store(a)
			if i%2 == 1 {
				st = b
			}
			lifecycle(t, st, fmt.Sprintf("job-%d", i))
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, ob := range []store.Outbox{a, b} {
		s := newSender(t, ob, events.Options{Destinations: []events.Destination{{URL: rcv.url()}}, Owner: fmt.Sprintf("replica-%d", i)})
		go s.Run(ctx)
	}
	wg.Wait()
	waitDelivered(t, a, 60*time.Second)
	got := rcv.deliveries()
	if len(got) != jobs*4 {
		t.Errorf("receiver got %d deliveries, want %d", len(got), jobs*4)
	}
	checkOnceInOrder(t, a, got, false)
}

// A job's own notify_urls get its events; a private address is refused
// unless the operator allows it.
func TestNotifyURLsAndPrivateAddresses(t *testing.T) {
	ctx := context.Background()
	for _, allow := range []bool{false, true} {
		st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
		rcv := newReceiver(t, 0)
		raw, _ := json.Marshal(map[string]any{"job_name": "n", "notify_urls": []string{rcv.url()}})
		if _, _, err := st.Create(ctx, &store.Job{Name: "n", Backend: "local", Spec: raw}); err != nil {
			t.Fatal(err)
		}
		s := newSender(t, st, events.Options{AllowPrivateNotify: allow, MaxAttempts: 2})
		for range 50 {
			if _, err := s.Once(ctx); err != nil {
				t.Fatal(err)
			}
			n, _ := st.CountOutbox(ctx)
			if n[store.OutboxPending] == 0 {
				break
			}
			time.Sleep(30 * time.Millisecond)
		}
		evs, _ := st.ListOutbox(ctx, store.OutboxFilter{})
		if allow {
			if evs[0].State != store.OutboxDelivered || len(rcv.deliveries()) != 1 {
				t.Errorf("allowed: event %s, %d deliveries", evs[0].State, len(rcv.deliveries()))
			}
			continue
		}
		if evs[0].State != store.OutboxFailed || rcv.requests() != 0 || !strings.Contains(evs[0].LastError, "private") {
			t.Errorf("refused: event %s after %d attempts (%s), receiver saw %d", evs[0].State, evs[0].Attempts, evs[0].LastError, rcv.requests())
		}
	}
}

func TestSlackFormatAndFilters(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	rcv := newReceiver(t, 0)
	lifecycle(t, st, "a <b> & c")
	s := newSender(t, st, events.Options{Destinations: []events.Destination{{URL: rcv.url(), Format: events.FormatSlack, Events: []string{"completed", "job.failed"}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitDelivered(t, st, 10*time.Second)
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries, want only the completed one", len(got))
	}
	var body map[string]string
	if err := json.Unmarshal(got[0].body, &body); err != nil || !strings.Contains(body["text"], "a &lt;b&gt; &amp; c") || !strings.Contains(body["text"], "completed") {
		t.Errorf("slack body %s (%v)", got[0].body, err)
	}
	if !events.Verify(secret, got[0].body, got[0].sig) {
		t.Error("the slack body is not signed")
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		list []string
		typ  string
		want bool
	}{
		{nil, "job.running", true},
		{[]string{"completed"}, "job.completed", true},
		{[]string{"completed"}, "job.failed", false},
		{[]string{"job.failed"}, "job.failed", true},
		{[]string{"job.*"}, "job.pending", true},
		{[]string{"sweep.*"}, "job.pending", false},
	} {
		if got := events.Matches(c.list, c.typ); got != c.want {
			t.Errorf("Matches(%v, %s) = %v", c.list, c.typ, got)
		}
	}
}
