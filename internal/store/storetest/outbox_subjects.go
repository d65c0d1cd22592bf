package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// RunSubjectEvents checks that a driver writes the outbox rows of sweep
// status changes and of deploys/undeploys in the same transaction, one per
// change and none for writes that change no status or fail, keyed by the
// sweep's or deployment's subject so each is delivered in its own order.
func RunSubjectEvents(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Sweep", func(t *testing.T) { t.Parallel(); testSweepEvents(t, open(t)) })
	t.Run("Deployment", func(t *testing.T) { t.Parallel(); testDeploymentEvents(t, open(t)) })
}

// subjectEvents returns subject's outbox rows, oldest first, decoded.
func subjectEvents(t *testing.T, ob store.Outbox, subject string) []store.SubjectEventBody {
	t.Helper()
	rows, err := ob.ListOutbox(context.Background(), store.OutboxFilter{JobID: subject})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.SubjectEventBody, 0, len(rows))
	for _, r := range rows {
		var b store.SubjectEventBody
		if err := json.Unmarshal(r.Payload, &b); err != nil {
			t.Fatalf("payload of %s: %v: %s", r.ID, err, r.Payload)
		}
		var generic map[string]json.RawMessage
		_ = json.Unmarshal(r.Payload, &generic)
		if _, ok := generic["job"]; ok {
			t.Fatalf("a %s event carries a job object: %s", r.Type, r.Payload)
		}
		if b.ID != r.ID || b.Type != r.Type || r.State != store.OutboxPending || b.OccurredAt == "" {
			t.Fatalf("row %+v does not match its body %+v", r, b)
		}
		out = append(out, b)
	}
	return out
}

func outboxOf(t *testing.T, st store.Store) store.Outbox {
	ob, ok := st.(store.Outbox)
	if !ok {
		t.Fatalf("%T has no outbox", st)
	}
	return ob
}

func testSweepEvents(t *testing.T, st store.Store) {
	ctx := context.Background()
	ss, ob := st.(store.SweepStore), outboxOf(t, st)
	sw := &store.Sweep{Name: "lr", Status: "running", Doc: []byte(`{}`)}
	if err := ss.CreateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	// Scheduler state only: no event.
	sw.Doc = []byte(`{"trials":[1]}`)
	if err := ss.UpdateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	stale := *sw
	sw.Status = "completed"
	if err := ss.UpdateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	// A lost race writes nothing, its event neither.
	stale.Status = "failed"
	if err := ss.UpdateSweep(ctx, &stale); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale UpdateSweep: %v", err)
	}
	evs := subjectEvents(t, ob, store.SubjectSweep(sw.ID))
	if len(evs) != 2 {
		t.Fatalf("want 2 events (created running, running -> completed), got %+v", evs)
	}
	for i, want := range [][2]string{{"", "running"}, {"running", "completed"}} {
		e := evs[i]
		if e.Type != store.EventSweepStatusChanged || e.Sweep == nil || e.Deployment != nil || e.Sweep.ID != sw.ID ||
			e.Sweep.Name != "lr" || e.Sweep.PreviousStatus != want[0] || e.Sweep.Status != want[1] {
			t.Fatalf("event %d: %+v (sweep %+v), want %s -> %s", i, e, e.Sweep, want[0], want[1])
		}
	}
	if !evs[1].Sweep.Terminal || evs[0].Sweep.Terminal {
		t.Fatalf("terminal flags: %+v %+v", evs[0].Sweep, evs[1].Sweep)
	}
	// The sender claims a subject's oldest pending event only.
	claimed, err := ob.ClaimOutbox(ctx, "t", 60e9, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != evs[0].ID || claimed[0].JobID != store.SubjectSweep(sw.ID) {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
}

func testDeploymentEvents(t *testing.T, st store.Store) {
	ctx := context.Background()
	ms, ob := st.(store.ModelStore), outboxOf(t, st)
	e := newExport(t, ms, "job-a")
	a := &store.Deployment{ModelID: e.ID, AgeMin: 2, AgeMax: 6, DeployedBy: "user:ann"}
	if _, err := ms.Deploy(ctx, a, false, true); err != nil {
		t.Fatal(err)
	}
	// An overlap refused: no event.
	if _, err := ms.Deploy(ctx, &store.Deployment{ModelID: e.ID, AgeMin: 5, AgeMax: 9}, false, true); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("overlapping deploy: %v", err)
	}
	b := &store.Deployment{ModelID: e.ID, AgeMin: 5, AgeMax: 9, DeployedBy: "user:bob"}
	if _, err := ms.Deploy(ctx, b, true, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ms.Undeploy(ctx, b.ID, "user:bob"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ms.Undeploy(ctx, b.ID, "user:bob"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second undeploy: %v", err)
	}
	type want struct {
		typ, reason string
		active      bool
	}
	check := func(d *store.Deployment, wants []want) {
		t.Helper()
		evs := subjectEvents(t, ob, store.SubjectDeployment(d.ID))
		if len(evs) != len(wants) {
			t.Fatalf("deployment %s: %d events, want %d: %+v", d.ID, len(evs), len(wants), evs)
		}
		for i, w := range wants {
			x := evs[i]
			if x.Type != w.typ || x.Deployment == nil || x.Sweep != nil || x.Deployment.ID != d.ID || x.Deployment.ModelID != e.ID ||
				x.Deployment.Reason != w.reason || x.Deployment.Active != w.active || x.Deployment.AgeMin != d.AgeMin {
				t.Fatalf("deployment %s event %d: %+v (%+v), want %+v", d.ID, i, x, x.Deployment, w)
			}
		}
	}
	check(a, []want{{store.EventDeploymentDeployed, "deployed", true}, {store.EventDeploymentUndeployed, "replaced", false},
		{store.EventDeploymentDeployed, "restored", true}})
	check(b, []want{{store.EventDeploymentDeployed, "deployed", true}, {store.EventDeploymentUndeployed, "undeployed", false}})
	all, err := ob.ListOutbox(ctx, store.OutboxFilter{})
	if err != nil || len(all) != 5 {
		t.Fatalf("outbox: %d rows (%v), want 5", len(all), err)
	}
	// In one transaction the replaced deployment's end comes before the new one's start.
	if all[1].JobID != store.SubjectDeployment(a.ID) || all[2].JobID != store.SubjectDeployment(b.ID) {
		t.Fatalf("order across one deploy: %s, %s", all[1].JobID, all[2].JobID)
	}
}
