package storetest

// Create, Get by ID or remote name, defaults, idempotency.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func testCreateGet(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	paris := time.FixedZone("CET", 3600)
	created := time.Date(2026, 3, 4, 5, 6, 7, 123456789, paris) // nanoseconds and a zone: stored as UTC microseconds
	started := time.Date(2026, 3, 4, 5, 7, 0, 999999999, paris)
	ended := time.Date(2026, 3, 4, 6, 0, 0, 1000, time.UTC)
	spec := json.RawMessage("{ \"job_name\" : \"kids_v1\",\n  \"b\":1, \"a\": [1 , 2],\"\u00e9\":\"\\u00e9\" }") // odd spacing and key order kept
	report := json.RawMessage(`{"groups":[{"ages":"3-4","threshold":0.0123}],  "auc":0.91}`)
	in := &store.Job{
		ID: "job-roundtrip", Name: "kids_v1", RemoteName: "kids-v1-abc123",
		RemoteARN: "arn:aws:sagemaker:eu-west-1:123456789012:training-job/kids-v1-abc123",
		Backend:   "sagemaker", IdempotencyKey: "key-1", Spec: spec,
		Status: store.StatusRunning, SecondaryStatus: "Training", StatusMessage: "Training image download completed.",
		FailureReason: "", CancelRequested: true,
		CreatedAt: created, StartedAt: &started, EndedAt: &ended, BillableSeconds: 321,
		ModelArtifactURI:  "s3://b/p/kids-v1-abc123/output/model.tar.gz",
		OutputArtifactURI: "s3://b/p/kids-v1-abc123/output/output.tar.gz",
		ArtifactDir:       "/tmp/a", Report: report,
	}
	got, ok, err := s.Create(ctx, in)
	if err != nil || !ok {
		t.Fatalf("Create: created=%v err=%v", ok, err)
	}
	want := *in
	want.CreatedAt = time.Date(2026, 3, 4, 4, 6, 7, 123456000, time.UTC)
	want.UpdatedAt = want.CreatedAt
	s1 := time.Date(2026, 3, 4, 4, 7, 0, 999999000, time.UTC)
	want.StartedAt = &s1
	want.EndedAt = &ended
	want.Version = 1
	assertSame(t, "Create's result", &want, got)

	byID := mustGet(t, s, "job-roundtrip")
	assertSame(t, "Get by id", &want, byID)
	if !bytes.Equal(byID.Spec, spec) || !bytes.Equal(byID.Report, report) {
		t.Errorf("JSON not kept byte for byte: spec %q report %q", byID.Spec, byID.Report)
	}
	byRemote := mustGet(t, s, "kids-v1-abc123")
	if byRemote.ID != "job-roundtrip" {
		t.Errorf("Get by remote name returned %q", byRemote.ID)
	}
	for _, missing := range []string{"nope", "", "kids_v1"} {
		_, err := s.Get(ctx, missing)
		if !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("Get(%q): want ErrNotFound, got %v", missing, err)
		}
	}

	// Nil JSON stays nil; no times stay nil.
	bare := mustCreate(t, s, &store.Job{Name: "bare"})
	g := mustGet(t, s, bare.ID)
	if g.Spec != nil || g.Report != nil || g.StartedAt != nil || g.EndedAt != nil || !g.LeaseExpires.IsZero() {
		t.Errorf("empty fields not kept empty: %+v", g)
	}
}

func testCreateDefaults(t *testing.T, s store.Store) {
	before := time.Now().UTC().Add(-time.Second)
	var prev string
	for i := 0; i < 50; i++ {
		j := mustCreate(t, s, sampleJob(fmt.Sprintf("d%d", i)))
		if _, err := ulid.ParseStrict(j.ID); err != nil {
			t.Fatalf("id %q is not a ULID: %v", j.ID, err)
		}
		if j.ID <= prev {
			t.Fatalf("ids not monotonic: %q after %q", j.ID, prev)
		}
		prev = j.ID
		if j.Status != store.StatusPending || j.Version != 1 {
			t.Fatalf("defaults: status %q version %d, want pending 1", j.Status, j.Version)
		}
		if j.CreatedAt.Before(before) || j.CreatedAt.After(time.Now().Add(time.Second)) || !j.UpdatedAt.Equal(j.CreatedAt) {
			t.Fatalf("created_at %v / updated_at %v not set to now", j.CreatedAt, j.UpdatedAt)
		}
		if j.CreatedAt.Nanosecond()%1000 != 0 || j.CreatedAt.Location() != time.UTC {
			t.Fatalf("created_at %v not UTC microseconds", j.CreatedAt)
		}
		assertSame(t, "Get after Create", j, mustGet(t, s, j.ID))
	}
	_, _, err := s.Create(ctxT(t), &store.Job{Name: "bad", Status: "sleeping"})
	if !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("Create with status sleeping: want a configuration error, got %v", err)
	}
}

func testCreateDuplicateID(t *testing.T, s store.Store) {
	mustCreate(t, s, &store.Job{ID: "same", Name: "one"})
	_, _, err := s.Create(ctxT(t), &store.Job{ID: "same", Name: "two"})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second Create with id 'same': want ErrConflict, got %v", err)
	}
	if got := mustGet(t, s, "same"); got.Name != "one" {
		t.Errorf("first job overwritten: name %q", got.Name)
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := sampleJob("first")
	a.IdempotencyKey = "k"
	first := mustCreate(t, s, a)
	b := sampleJob("second")
	b.IdempotencyKey = "k"
	got, created, err := s.Create(ctx, b)
	if err != nil || created {
		t.Fatalf("second Create with the same key: created=%v err=%v, want false nil", created, err)
	}
	if got.ID != first.ID || got.Name != "first" {
		t.Errorf("second Create returned %q (%s), want the first job %q", got.ID, got.Name, first.ID)
	}
	// Jobs without a key never collide.
	mustCreate(t, s, sampleJob("nokey1"))
	mustCreate(t, s, sampleJob("nokey2"))
	jobs, _, err := s.List(ctx, store.ListFilter{})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("List: %d jobs, err %v; want 3", len(jobs), err)
	}
	evs, err := s.Events(ctx, first.ID)
	if err != nil || len(evs) != 1 {
		t.Errorf("the idempotent replay added events: %v %v", evs, err)
	}
}

func testIdempotencyConcurrent(t *testing.T, s store.Store) {
	idempotentRace(t, []store.Store{s}, 24)
}

// idempotentRace creates the same keyed job from n goroutines spread over
// stores: exactly one is created, and everyone gets that one.
func idempotentRace(t *testing.T, stores []store.Store, n int) {
	ctx := ctxT(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]int{}
		created int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			j := sampleJob(fmt.Sprintf("racer-%d", i))
			j.IdempotencyKey = "race"
			got, ok, err := stores[i%len(stores)].Create(ctx, j)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("Create #%d: %v", i, err)
				return
			}
			ids[got.ID]++
			if ok {
				created++
			}
		}(i)
	}
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d concurrent Creates with one key: %d created, %d distinct ids; want 1 and 1", n, created, len(ids))
	}
	jobs, _, err := stores[0].List(ctx, store.ListFilter{Limit: 1000})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("rows after the race: %d (err %v), want 1", len(jobs), err)
	}
}
