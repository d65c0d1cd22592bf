package storetest

// List: filters, summaries, keyset pagination.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

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
