package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// RunModels runs the exports and deployments contract. newStore must
// return a fresh store that also implements store.ModelStore.
func RunModels(t *testing.T, newStore func(t *testing.T) store.Store) {
	ms := func(t *testing.T) store.ModelStore {
		s, ok := newStore(t).(store.ModelStore)
		if !ok {
			t.Fatal("the store does not implement store.ModelStore")
		}
		return s
	}
	t.Run("ExportRoundTrip", func(t *testing.T) { t.Parallel(); testExportRoundTrip(t, ms(t)) })
	t.Run("DeployReplaceUndeploy", func(t *testing.T) { t.Parallel(); testDeployReplaceUndeploy(t, ms(t)) })
	t.Run("DeployConcurrent", func(t *testing.T) { t.Parallel(); testDeployConcurrent(t, ms(t)) })
}

func newExport(t *testing.T, s store.ModelStore, job string) *store.Export {
	t.Helper()
	e := &store.Export{JobID: job, Format: "sagetrain", AgeMin: 2, AgeMax: 18, Groups: []string{"3-4", "5"},
		SHA256: "ab12", SizeBytes: 42, Location: "/x/" + job, TrainerVersion: "v1", Metrics: json.RawMessage(`{"test_auroc":0.9}`)}
	if err := s.CreateExport(context.Background(), e); err != nil {
		t.Fatalf("CreateExport: %v", err)
	}
	return e
}

func testExportRoundTrip(t *testing.T, s store.ModelStore) {
	ctx := context.Background()
	a := newExport(t, s, "job-a")
	newExport(t, s, "job-b")
	got, err := s.GetExport(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.JobID != "job-a" || got.SHA256 != "ab12" || len(got.Groups) != 2 || got.Groups[1] != "5" || got.AgeMax != 18 ||
		!got.CreatedAt.Equal(a.CreatedAt) || string(got.Metrics) != `{"test_auroc":0.9}` {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := s.GetExport(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing export: %v", err)
	}
	all, err := s.ListExports(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("ListExports: %d %v", len(all), err)
	}
	one, err := s.ListExports(ctx, "job-a")
	if err != nil || len(one) != 1 || one[0].ID != a.ID {
		t.Fatalf("ListExports(job-a): %v %v", one, err)
	}
}

func testDeployReplaceUndeploy(t *testing.T, s store.ModelStore) {
	ctx := context.Background()
	m1, m2 := newExport(t, s, "j1"), newExport(t, s, "j2")
	if _, err := s.Deploy(ctx, &store.Deployment{ModelID: "missing", AgeMin: 2, AgeMax: 5}, false, false); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deploy of a missing model: %v", err)
	}
	d1 := &store.Deployment{ModelID: m1.ID, AgeMin: 2, AgeMax: 18, DeployedBy: "alice"}
	if _, err := s.Deploy(ctx, d1, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deploy(ctx, &store.Deployment{ModelID: m2.ID, AgeMin: 18, AgeMax: 20}, false, false); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("overlapping deploy without replace: %v", err)
	}
	d2 := &store.Deployment{ModelID: m2.ID, AgeMin: 5, AgeMax: 9, DeployedBy: "bob"}
	rep, err := s.Deploy(ctx, d2, true, true)
	if err != nil || len(rep) != 1 || rep[0].ID != d1.ID {
		t.Fatalf("replace: %v %v", rep, err)
	}
	act, _ := s.ListDeployments(ctx, true)
	if len(act) != 1 || act[0].ID != d2.ID || act[0].DeployedBy != "bob" {
		t.Fatalf("active after replace: %+v", act)
	}
	old, _ := s.GetDeployment(ctx, d1.ID)
	if old.Active || old.EndReason != "replaced" || old.SupersededBy != d2.ID || old.EndedAt == nil {
		t.Fatalf("replaced deployment: %+v", old)
	}
	ended, restored, err := s.Undeploy(ctx, d2.ID, "carol")
	if err != nil || ended.Active || len(restored) != 1 || restored[0].ID != d1.ID {
		t.Fatalf("undeploy: %+v %v %v", ended, restored, err)
	}
	act, _ = s.ListDeployments(ctx, true)
	if len(act) != 1 || act[0].ID != d1.ID || !act[0].Active || act[0].EndedAt != nil {
		t.Fatalf("active after undeploy: %+v", act)
	}
	if _, _, err := s.Undeploy(ctx, d2.ID, "carol"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second undeploy: %v", err)
	}
	if _, _, err := s.Undeploy(ctx, d1.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	act, _ = s.ListDeployments(ctx, true)
	all, _ := s.ListDeployments(ctx, false)
	if len(act) != 0 || len(all) != 2 {
		t.Fatalf("after undeploying all: %d active, %d in history", len(act), len(all))
	}
	// Without backup the replaced one does not come back.
	d3 := &store.Deployment{ModelID: m1.ID, AgeMin: 2, AgeMax: 4}
	if _, err := s.Deploy(ctx, d3, false, false); err != nil {
		t.Fatal(err)
	}
	d4 := &store.Deployment{ModelID: m2.ID, AgeMin: 3, AgeMax: 3}
	if _, err := s.Deploy(ctx, d4, true, false); err != nil {
		t.Fatal(err)
	}
	if _, restored, err := s.Undeploy(ctx, d4.ID, ""); err != nil || len(restored) != 0 {
		t.Fatalf("undeploy without backup restored %v (%v)", restored, err)
	}
}

// Many concurrent deploys of one range: exactly one wins without replace.
func testDeployConcurrent(t *testing.T, s store.ModelStore) {
	ctx := context.Background()
	m := newExport(t, s, "j")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Deploy(ctx, &store.Deployment{ModelID: m.ID, AgeMin: 4, AgeMax: 6}, false, false)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, errs.ErrConflict):
				conflicts++
			default:
				t.Errorf("deploy: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Fatalf("%d deploys won and %d conflicted; want 1 and 7", wins, conflicts)
	}
}
