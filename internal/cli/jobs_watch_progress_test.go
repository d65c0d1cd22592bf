package cli

import (
	"strings"
	"testing"
)

func TestWatchReadsTheProgressRecord(t *testing.T) {
	log := strings.Join([]string{
		"[trainer] age groups: 5, 6",
		"epoch=1 group=5 train_loss=0.5 val_loss=0.6 lr=0.001",
		`progress: {"group":"5","epoch":1,"total_epochs":10,"groups_done":0,"groups_total":2,"train_loss":0.5,"val_loss":0.6,"elapsed_seconds":1,"eta_seconds":19,"host":"algo-1","at":"2026-01-01T00:00:00Z"}`,
		"progress: {not json",
	}, "\n")
	p := jobsParseProgress([]byte(log))
	if p.record == nil || p.record.GroupsTotal != 2 || p.eta() != " eta 19s" || p.lastLine != "epoch=1 group=5 train_loss=0.5 val_loss=0.6 lr=0.001" {
		t.Fatalf("parsed %+v (record %+v)", p, p.record)
	}
}
