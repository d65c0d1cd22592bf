package events_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/events"
	"github.com/sagetrain/sagetrain/internal/store"
)

// sweepAndDeployments records a sweep going running -> completed and a
// deploy, a replacing deploy and an undeploy: 2 sweep events and 5
// deployment events (a deployed, a replaced, b deployed, b undeployed,
// a restored).
func sweepAndDeployments(t *testing.T, st interface {
	store.SweepStore
	store.ModelStore
}) {
	t.Helper()
	ctx := context.Background()
	sw := &store.Sweep{Name: "lr <grid>", Status: "running", Doc: []byte(`{}`)}
	if err := st.CreateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	sw.Status = "completed"
	if err := st.UpdateSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	e := &store.Export{JobID: "job-x", Format: "sagetrain", AgeMin: 2, AgeMax: 18, SHA256: "ab", Metrics: json.RawMessage(`{}`)}
	if err := st.CreateExport(ctx, e); err != nil {
		t.Fatal(err)
	}
	a := &store.Deployment{ModelID: e.ID, AgeMin: 2, AgeMax: 6}
	b := &store.Deployment{ModelID: e.ID, AgeMin: 4, AgeMax: 9}
	if _, err := st.Deploy(ctx, a, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deploy(ctx, b, true, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Undeploy(ctx, b.ID, "user:t"); err != nil {
		t.Fatal(err)
	}
}

// Sweep and deployment events go out like job events: every one exactly
// once, signed, in order per sweep and per deployment, through the same
// retries; --webhook-events filters them by type, and the Slack body
// describes them.
func TestSweepAndDeploymentEventsAreDelivered(t *testing.T) {
	st := openSQLite(t, filepath.Join(t.TempDir(), "jobs.db"))
	all := newReceiver(t, 2)
	some := newReceiver(t, 0)
	slack := newReceiver(t, 0)
	lifecycle(t, st, "job")
	sweepAndDeployments(t, st)
	s := newSender(t, st, events.Options{Destinations: []events.Destination{
		{URL: all.url()},
		{URL: some.url(), Events: []string{"sweep.*", "deployed"}},
		{URL: slack.url(), Format: events.FormatSlack, Events: []string{"deployment.undeployed"}},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitDelivered(t, st, 20*time.Second)
	checkOnceInOrder(t, st, all.deliveries(), false)
	if n := len(all.deliveries()); n != 4+2+5 {
		t.Fatalf("the unfiltered receiver got %d events, want 11", n)
	}

	var types []string
	for _, d := range some.deliveries() {
		var b store.SubjectEventBody
		if err := json.Unmarshal(d.body, &b); err != nil || !events.Verify(secret, d.body, d.sig) {
			t.Fatalf("filtered delivery %s: %v", d.body, err)
		}
		types = append(types, b.Type)
		if strings.HasPrefix(b.Type, "sweep.") && (b.Sweep == nil || b.Sweep.Name != "lr <grid>") {
			t.Fatalf("sweep event without its sweep: %s", d.body)
		}
		if strings.HasPrefix(b.Type, "deployment.") && b.Deployment == nil {
			t.Fatalf("deployment event without its deployment: %s", d.body)
		}
	}
	var nSweep, nDeployed int
	for _, typ := range types {
		switch typ {
		case store.EventSweepStatusChanged:
			nSweep++
		case store.EventDeploymentDeployed:
			nDeployed++
		default:
			t.Errorf("filtered receiver got a %s event", typ)
		}
	}
	if nSweep != 2 || nDeployed != 3 {
		t.Errorf("filtered receiver: %d sweep and %d deployed events, want 2 and 3 (%v)", nSweep, nDeployed, types)
	}

	got := slack.deliveries()
	if len(got) != 2 {
		t.Fatalf("slack receiver got %d, want the 2 undeployed events", len(got))
	}
	var texts []string
	for _, d := range got {
		var body map[string]string
		if err := json.Unmarshal(d.body, &body); err != nil || !strings.Contains(body["text"], "undeployed for ages") {
			t.Errorf("slack body %s (%v)", d.body, err)
		}
		texts = append(texts, body["text"])
	}
	if !strings.Contains(strings.Join(texts, "\n"), "replaced") {
		t.Errorf("no slack text says a deployment was replaced: %q", texts)
	}
}

func TestKnownSubjectFilter(t *testing.T) {
	for e, want := range map[string]bool{"sweep.status_changed": true, "deployment.deployed": true, "undeployed": true,
		"deployment.created": false, "sweep.completed": false} {
		if got := events.KnownSubjectFilter(e); got != want {
			t.Errorf("KnownSubjectFilter(%q) = %v", e, got)
		}
	}
}
