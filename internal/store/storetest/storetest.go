package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
		{"ClaimOne", testClaimOne},
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

// RunAll runs every single-instance area of the contract against fresh
// stores from newStore: jobs (Run), models, sweeps and the subject events.
func RunAll(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Jobs", func(t *testing.T) { Run(t, newStore) })
	t.Run("Models", func(t *testing.T) { RunModels(t, newStore) })
	t.Run("Sweeps", func(t *testing.T) { RunSweeps(t, newStore) })
	t.Run("SubjectEvents", func(t *testing.T) { RunSubjectEvents(t, newStore) })
}
