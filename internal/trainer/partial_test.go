package trainer

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
)

// A run stopped in its second group writes partial.json with the first
// group (and its losses) finished and the second not trained; the run that
// then completes removes it.
func TestStopWritesPartialWithFinishedGroups(t *testing.T) {
	// one group after the other, so that "its second group" is one place
	// (on two cores the groups train side by side: grouptraining.go)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	hp := fastHP()
	root := newRoot(t, hp)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{on: func(line string) {
		if strings.HasPrefix(line, "epoch=2 group=6 ") {
			cancel()
		}
	}}
	if err := Run(ctx, root, out); err == nil {
		t.Fatal("a stopped run succeeded")
	}
	l := Layout{Root: root}
	var p Partial
	if err := json.Unmarshal(readFile(t, partialPath(l)), &p); err != nil {
		t.Fatalf("partial.json: %v", err)
	}
	if !p.Partial || !strings.Contains(p.Reason, "stopped") {
		t.Errorf("partial.json says partial=%v reason=%q", p.Partial, p.Reason)
	}
	if len(p.GroupsFinished) != 1 || p.GroupsFinished[0].Name != "5" {
		t.Fatalf("groups finished %+v, want just group 5", p.GroupsFinished)
	}
	g := p.GroupsFinished[0]
	if g.BestEpoch < 1 || g.EpochsTrained < g.BestEpoch || !(g.ValLoss > 0) || !(g.TrainLoss > 0) || g.NTrain == 0 || g.Host != "algo-1" {
		t.Errorf("finished group has implausible numbers: %+v", g)
	}
	if !contains(p.GroupsNotTrained, "6") || contains(p.GroupsNotTrained, "5") {
		t.Errorf("groups not trained %v, want 6 and not 5", p.GroupsNotTrained)
	}
	runOK(t, root)
	if _, err := os.Stat(partialPath(l)); !os.IsNotExist(err) {
		t.Fatal("partial.json left after the run completed")
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
