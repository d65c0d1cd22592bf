package trainer

import (
	"os"
	"path/filepath"
)

// PartialFile is output/data/partial.json: what a run that stopped (SIGTERM)
// or failed before its end finished, so the job's output data (which
// SageMaker keeps for every job) holds the groups it did train. A run that
// completes leaves none.
const PartialFile = "partial.json"

// PartialGroup is one finished age group in partial.json.
type PartialGroup struct {
	Name          string  `json:"name"`
	Host          string  `json:"host"`
	AgeMin        int     `json:"age_min"`
	AgeMax        int     `json:"age_max"`
	NTrain        int     `json:"n_train"`
	NValidation   int     `json:"n_validation"`
	BestEpoch     int     `json:"best_epoch"`
	EpochsTrained int     `json:"epochs_trained"`
	ValLoss       float64 `json:"val_loss"`
	TrainLoss     float64 `json:"train_loss"`
}

// Partial is partial.json: this host's view (each host writes its own; the
// job's output data is algo-1's).
type Partial struct {
	Partial          bool           `json:"partial"`
	Host             string         `json:"host"`
	Reason           string         `json:"reason"`
	GroupsFinished   []PartialGroup `json:"groups_finished"`
	GroupsNotTrained []string       `json:"groups_not_trained"` // this host's groups it did not finish
	GroupsOtherHosts []string       `json:"groups_other_hosts,omitempty"`
	GroupsSkipped    []string       `json:"groups_skipped,omitempty"` // too few samples (never trained)
}

func partialPath(l Layout) string { return filepath.Join(l.OutputDataDir(), PartialFile) }

// writePartial records the groups this host finished before the run ended
// early. Best effort: the run's own error is what matters.
func (r *run) writePartial(groups, short []AgeGroup, valRows []int, assign map[string]string, own []groupResult, ctxErr, err error) {
	reason := "failed: " + err.Error()
	if ctxErr != nil {
		reason = "stopped (SIGTERM or cancellation)"
	}
	p := Partial{Partial: true, Host: r.rc.CurrentHost, Reason: reason,
		GroupsFinished: []PartialGroup{}, GroupsNotTrained: []string{}}
	done := map[string]groupResult{}
	for _, res := range own {
		done[res.Name] = res
	}
	for i, g := range groups {
		res, ok := done[g.Name]
		switch {
		case ok:
			pg := PartialGroup{Name: g.Name, Host: res.Host, AgeMin: g.Min, AgeMax: g.Max, NTrain: g.NTrain,
				NValidation: valRows[i], BestEpoch: res.BestEpoch, EpochsTrained: res.Epochs, ValLoss: res.BestVal}
			if res.BestEpoch >= 1 && res.BestEpoch <= len(res.History) {
				pg.TrainLoss = res.History[res.BestEpoch-1].TrainLoss
			}
			p.GroupsFinished = append(p.GroupsFinished, pg)
		case assign[g.Name] == r.rc.CurrentHost:
			p.GroupsNotTrained = append(p.GroupsNotTrained, g.Name)
		default:
			p.GroupsOtherHosts = append(p.GroupsOtherHosts, g.Name)
		}
	}
	for _, g := range short {
		p.GroupsSkipped = append(p.GroupsSkipped, g.Name)
	}
	if err := writeJSON(partialPath(r.l), p); err != nil {
		r.logf("cannot write %s: %v", partialPath(r.l), err)
		return
	}
	r.logf("stopped early: %d of %d groups finished here; wrote %s", len(p.GroupsFinished), len(groups), partialPath(r.l))
}

// removePartial drops a partial.json an earlier run left in this ml-root.
func removePartial(l Layout) { _ = os.Remove(partialPath(l)) }
