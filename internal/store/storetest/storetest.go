package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// Run runs the single-instance contract. newStore must return a store on a
// fresh, empty database, closed by the test's cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGetRoundTrip", testCreateGet},
		{"CreateDefaultsAndULIDs", testCreateDefaults},
		{"CreateDuplicateID", testCreateDuplicateID},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"ListFilters", testListFilters},
		{"ListPagination", testListPagination},
		{"ListBadCursor", testListBadCursor},
		{"ListSummary", testListSummary},
		{"Update", testUpdate},
		{"UpdateConflict", testUpdateConflict},
		{"UpdateNoLostIncrement", testUpdateNoLostIncrement},
		{"Events", testEvents},
		{"ClaimAndRelease", testClaimRelease},
		{"ClaimLeaseExpiry", testClaimExpiry},
		{"CountAndPing", testCountPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// RunShared runs the multi-instance contract: newPair returns two
// independent store instances (own connection pools, as two processes would
// have) on one fresh database.
func RunShared(t *testing.T, newPair func(t *testing.T) (a, b store.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"ClaimExclusive", testSharedClaim},
		{"UpdateOneWinnerPerVersion", testSharedUpdate},
		{"IdempotentCreate", testSharedIdempotency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := newPair(t)
			tc.fn(t, a, b)
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t *testing.T, s store.Store, j *store.Job) *store.Job {
	t.Helper()
	got, created, err := s.Create(ctxT(t), j)
	if err != nil {
		t.Fatalf("Create(%q): %v", j.Name, err)
	}
	if !created {
		t.Fatalf("Create(%q): created=false for a new job", j.Name)
	}
	return got
}

func mustGet(t *testing.T, s store.Store, id string) *store.Job {
	t.Helper()
	j, err := s.Get(ctxT(t), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return j
}

// diff lists the fields where two jobs differ (times compared exactly,
// JSON byte for byte).
func diff(want, got *store.Job) []string {
	var out []string
	wv, gv := reflect.ValueOf(*want), reflect.ValueOf(*got)
	for i := 0; i < wv.NumField(); i++ {
		name := wv.Type().Field(i).Name
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		same := false
		switch wt := w.(type) {
		case time.Time:
			gt := g.(time.Time)
			same = wt.Equal(gt) && (wt.IsZero() || gt.Location() == time.UTC)
		case *time.Time:
			gt := g.(*time.Time)
			same = (wt == nil) == (gt == nil) && (wt == nil || (wt.Equal(*gt) && gt.Location() == time.UTC))
		case json.RawMessage:
			gr := g.(json.RawMessage)
			same = bytes.Equal(wt, gr) && (wt == nil) == (gr == nil)
		default:
			same = reflect.DeepEqual(w, g)
		}
		if !same {
			out = append(out, fmt.Sprintf("%s: want %v, got %v", name, fmtVal(w), fmtVal(g)))
		}
	}
	return out
}

func fmtVal(v any) string {
	switch x := v.(type) {
	case json.RawMessage:
		if x == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", string(x))
	case *time.Time:
		if x == nil {
			return "nil"
		}
		return x.Format(time.RFC3339Nano) + " " + x.Location().String()
	case time.Time:
		return x.Format(time.RFC3339Nano) + " " + x.Location().String()
	}
	return fmt.Sprintf("%#v", v)
}

func assertSame(t *testing.T, what string, want, got *store.Job) {
	t.Helper()
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%s differs:\n  %s", what, strings.Join(d, "\n  "))
	}
}

func sampleJob(name string) *store.Job {
	return &store.Job{
		Name:    name,
		Backend: "local",
		Spec:    json.RawMessage(`{"job_name":"` + name + `"}`),
	}
}

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

func testListFilters(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, name, remote, backend string, st store.Status) *store.Job {
		return mustCreate(t, s, &store.Job{Name: name, RemoteName: remote, Backend: backend, Status: st,
			CreatedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	j0 := mk(0, "kids_v1", "kids-v1-aaa", "local", store.StatusCompleted)
	j1 := mk(1, "kids_v2", "kids-v2-bbb", "sagemaker", store.StatusRunning)
	j2 := mk(2, "adults", "adults-ccc", "sagemaker", store.StatusFailed)
	j3 := mk(3, "50%_off", "", "local", store.StatusPending)
	j4 := mk(4, "other", "remote-KIDS-zzz", "local", store.StatusRunning)
	ids := func(jobs []*store.Job) []string {
		out := []string{}
		for _, j := range jobs {
			out = append(out, j.ID)
		}
		return out
	}
	cases := []struct {
		name string
		f    store.ListFilter
		want []*store.Job
	}{
		{"all newest first", store.ListFilter{}, []*store.Job{j4, j3, j2, j1, j0}},
		{"one status", store.ListFilter{Statuses: []store.Status{store.StatusRunning}}, []*store.Job{j4, j1}},
		{"repeated status", store.ListFilter{Statuses: []store.Status{store.StatusRunning, store.StatusRunning}}, []*store.Job{j4, j1}},
		{"query case ignored", store.ListFilter{NameContains: "KiDs_V"}, []*store.Job{j1, j0}},
		{"two statuses", store.ListFilter{Statuses: []store.Status{store.StatusFailed, store.StatusCompleted}}, []*store.Job{j2, j0}},
		{"backend", store.ListFilter{Backend: "sagemaker"}, []*store.Job{j2, j1}},
		{"name in name or remote name, any case", store.ListFilter{NameContains: "kids"}, []*store.Job{j4, j1, j0}},
		{"remote name only", store.ListFilter{NameContains: "ccc"}, []*store.Job{j2}},
		{"% and _ are literal", store.ListFilter{NameContains: "%_"}, []*store.Job{j3}},
		{"underscore literal", store.ListFilter{NameContains: "s_v"}, []*store.Job{j1, j0}},
		{"combined", store.ListFilter{Statuses: []store.Status{store.StatusRunning}, Backend: "local", NameContains: "kids"}, []*store.Job{j4}},
		{"nothing", store.ListFilter{Backend: "nowhere"}, nil},
	}
	for _, c := range cases {
		got, next, err := s.List(ctx, c.f)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if next != "" {
			t.Errorf("%s: next cursor %q on the only page", c.name, next)
		}
		if !reflect.DeepEqual(ids(got), ids(c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, ids(got), ids(c.want))
		}
	}
	if _, _, err := s.List(ctx, store.ListFilter{Statuses: []store.Status{"bogus"}}); !errors.Is(err, errs.ErrConfiguration) {
		t.Errorf("List with an unknown status: want a configuration error, got %v", err)
	}
}

// testListSummary: a summary list holds the same jobs, every field but the
// spec and the report, through each query shape (one status, several, a name).
func testListSummary(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var made []*store.Job
	for i, st := range []store.Status{store.StatusCompleted, store.StatusRunning, store.StatusFailed} {
		j := sampleJob(fmt.Sprintf("summary-%d", i))
		j.Status, j.CreatedAt = st, base.Add(time.Duration(i)*time.Minute)
		j.Report = json.RawMessage(`{"metrics":{"test_auroc":0.9}}`)
		made = append([]*store.Job{mustGet(t, s, mustCreate(t, s, j).ID)}, made...) // newest first
	}
	for _, f := range []store.ListFilter{
		{},
		{Statuses: []store.Status{store.StatusRunning}},
		{Statuses: []store.Status{store.StatusRunning, store.StatusFailed, store.StatusCompleted}},
		{NameContains: "summary"},
		{Limit: 2},
	} {
		full, _, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		f.Summary = true
		sum, _, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		if len(full) == 0 || len(sum) != len(full) {
			t.Fatalf("List(%+v): %d summary jobs, %d full ones", f, len(sum), len(full))
		}
		for i := range full {
			if len(full[i].Spec) == 0 || len(full[i].Report) == 0 {
				t.Errorf("List(%+v) without Summary: job %s lost its spec or report", f, full[i].ID)
			}
			if sum[i].Spec != nil || sum[i].Report != nil {
				t.Errorf("List(%+v): summary job %s carries spec %q, report %q", f, sum[i].ID, sum[i].Spec, sum[i].Report)
			}
			want := *full[i]
			want.Spec, want.Report = nil, nil
			assertSame(t, fmt.Sprintf("summary of %s", full[i].ID), &want, sum[i])
		}
	}
	all, _, err := s.List(ctx, store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range made {
		assertSame(t, "listed job "+j.ID, j, all[i])
	}
}

func testListPagination(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// 137 jobs, several sharing a created_at (the id breaks the tie).
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	const n = 137
	var want []string // newest first
	for i := 0; i < n; i++ {
		st := store.StatusCompleted
		if i%3 == 0 {
			st = store.StatusRunning
		}
		j := mustCreate(t, s, &store.Job{ID: fmt.Sprintf("p%03d", i), Name: "page", Status: st,
			CreatedAt: base.Add(time.Duration(i/4) * time.Second)})
		want = append([]string{j.ID}, want...)
	}
	walk := func(f store.ListFilter) []string {
		var got []string
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("pagination does not end")
			}
			jobs, next, err := s.List(ctx, f)
			if err != nil {
				t.Fatalf("List page %d: %v", pages, err)
			}
			if len(jobs) > store.ListLimit(f.Limit) {
				t.Fatalf("page of %d jobs, limit %d", len(jobs), f.Limit)
			}
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if next == "" {
				return got
			}
			f.Cursor = next
		}
	}
	for _, limit := range []int{1, 10, 50, 136, 137, 1000} {
		if got := walk(store.ListFilter{Limit: limit}); !reflect.DeepEqual(got, want) {
			t.Fatalf("limit %d: pages joined = %d ids, not the %d jobs newest first without gaps or duplicates:\n%v", limit, len(got), n, got)
		}
	}
	var wantRunning []string
	for _, id := range want {
		var i int
		fmt.Sscanf(id, "p%d", &i)
		if i%3 == 0 {
			wantRunning = append(wantRunning, id)
		}
	}
	if got := walk(store.ListFilter{Limit: 7, Statuses: []store.Status{store.StatusRunning}}); !reflect.DeepEqual(got, wantRunning) {
		t.Fatalf("filtered pagination: %v, want %v", got, wantRunning)
	}
	page, next, err := s.List(ctx, store.ListFilter{})
	if err != nil || len(page) != store.DefaultListLimit || next == "" {
		t.Fatalf("default limit: %d jobs, next %q, err %v; want %d and a cursor", len(page), next, err, store.DefaultListLimit)
	}
	// A job created after the first page was read does not shift later pages.
	mustCreate(t, s, &store.Job{ID: "late", Name: "page", CreatedAt: base.Add(time.Hour)})
	rest, _, err := s.List(ctx, store.ListFilter{Cursor: next, Limit: 1000})
	if err != nil || len(rest) != n-store.DefaultListLimit || rest[0].ID != want[store.DefaultListLimit] {
		t.Fatalf("second page after an insert: %d jobs (err %v)", len(rest), err)
	}
}

func testListBadCursor(t *testing.T, s store.Store) {
	for _, c := range []string{"!!!", "bm90LWEtY3Vyc29y", "eHl6OmlkMQ"} {
		_, _, err := s.List(ctxT(t), store.ListFilter{Cursor: c})
		if !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("List with cursor %q: want a configuration error, got %v", c, err)
		}
	}
}

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
