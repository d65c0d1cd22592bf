package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// The display follows every age group to the end and draws the final state
// (it used to complete itself after the first group and freeze there).
func TestJobsBarShowsEveryGroupAndTheEnd(t *testing.T) {
	out := &testpeer.SyncBuffer{}
	b := newJobsBar(context.Background(), out, 160) // wide: off a terminal mpb cuts lines to this width
	log := "[trainer] age groups: 3-4, 5-6, 7-8\n"
	b.update("running (Training)", jobsParseProgress([]byte(log)))
	for i, g := range []string{"3-4", "5-6", "7-8"} {
		log += "epoch=2 group=" + g + " train_loss=0.1 val_loss=0.2\n" + "group " + g + ": 2 epochs in 0.1s\n"
		b.update("running (Training)", jobsParseProgress([]byte(log)))
		time.Sleep(250 * time.Millisecond) // a refresh per state
		if i == 0 && !strings.Contains(out.String(), "groups 1/3") {
			t.Fatalf("after the first group the display shows:\n%s", out.String())
		}
	}
	done := make(chan struct{})
	go func() {
		b.finish(&store.Job{Status: store.StatusCompleted, SecondaryStatus: "Completed"})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the display never ended")
	}
	got := out.String()
	for _, want := range []string{"groups 2/3", "groups 3/3", "completed (Completed)"} {
		if !strings.Contains(got, want) {
			t.Errorf("the display never showed %q:\n%s", want, got)
		}
	}
}

// A failed job ends the display too, with its state, and the bar not full.
func TestJobsBarEndsOnFailure(t *testing.T) {
	out := &testpeer.SyncBuffer{}
	b := newJobsBar(context.Background(), out, 160) // wide: off a terminal mpb cuts lines to this width
	b.update("running (Training)", jobsParseProgress([]byte("age groups: a, b\ngroup a: 3 epochs in 1s\n")))
	time.Sleep(250 * time.Millisecond)
	b.finish(&store.Job{Status: store.StatusFailed, SecondaryStatus: "Failed"})
	if got := out.String(); !strings.Contains(got, "failed (Failed)") || !strings.Contains(got, "groups 1/2") {
		t.Errorf("final display:\n%q", got)
	}
}
