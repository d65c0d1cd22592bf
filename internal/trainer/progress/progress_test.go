package progress

import (
	"math"
	"reflect"
	"testing"
)

// Every line Format writes comes back from Parse as the same value.
func TestFormatThenParse(t *testing.T) {
	v, eta := 0.25, 12.5
	for _, l := range []Line{
		Record{Group: "5", Epoch: 2, TotalEpochs: 10, GroupsDone: 1, GroupsTotal: 3, TrainLoss: 0.5, ValLoss: &v, ElapsedSeconds: 3.1, ETASeconds: &eta, Host: "algo-1", At: "2026-01-01T00:00:00Z"},
		Record{Group: "5", Host: "algo-1"}, // nulls
		Epoch{Epoch: 3, Group: "10-12", TrainLoss: 0.123457, ValLoss: 1.5e-07, LR: 0.001},
		Groups{Names: []string{"5", "6-8"}},
		GroupDone{Group: "5", Epochs: 8, Seconds: 1.2, SamplesPerSec: 300, BestEpoch: 6, BestValLoss: 0.0123},
		GroupDone{Group: "5", Epochs: 8, FromCheckpoint: true},
		Metric{Name: "test_auroc", Value: 0.912345},
		Metric{Name: "n_train", Value: 1234567, Int: true},
	} {
		text := Format(l)
		if got := Parse(text); !reflect.DeepEqual(got, l) {
			t.Errorf("%q parsed as %#v, want %#v", text, got, l)
		}
	}
}

// Lines as the trainer wrote them before this package, and as readers
// matched them, keep parsing.
func TestParseExistingLogLines(t *testing.T) {
	nan := Parse("epoch=1 group=5 train_loss=0.5 val_loss=NaN lr=0.001").(Epoch)
	if !math.IsNaN(nan.ValLoss) || nan.TrainLoss != 0.5 {
		t.Fatalf("NaN val_loss: %+v", nan)
	}
	for line, want := range map[string]Line{
		"epoch=1 group=5 train_loss=0.5 val_loss=0.6":                                           Epoch{Epoch: 1, Group: "5", TrainLoss: 0.5, ValLoss: 0.6},
		"2026-01-01T00:00:00Z epoch=1 group=5 train_loss=0.5 val_loss=0.6 lr=0.01":              Epoch{Epoch: 1, Group: "5", TrainLoss: 0.5, ValLoss: 0.6, LR: 0.01},
		"[trainer] age groups: 5, 6":                                                            Groups{Names: []string{"5", "6"}},
		"group a: 3 epochs in 1s":                                                               GroupDone{Group: "a", Epochs: 3},
		"[trainer] group a: already trained (checkpoint), 4 epochs":                             GroupDone{Group: "a", Epochs: 4, FromCheckpoint: true},
		"group a: already trained":                                                              GroupDone{Group: "a", FromCheckpoint: true},
		"metric: test_auroc=0.9":                                                                Metric{Name: "test_auroc", Value: 0.9},
		`progress: {"group":"5","epoch":1,"total_epochs":10,"groups_total":2,"eta_seconds":19}`: Record{Group: "5", Epoch: 1, TotalEpochs: 10, GroupsTotal: 2, ETASeconds: ptr(19)},
	} {
		if got := Parse(line); !reflect.DeepEqual(got, want) {
			t.Errorf("%q parsed as %#v, want %#v", line, got, want)
		}
	}
	for _, line := range []string{"", "progress: {not json", "[trainer] loading data", "epoch=x group=5 train_loss=0.5 val_loss=0.6", " progress: {}"} {
		if got := Parse(line); got != nil {
			t.Errorf("%q parsed as %#v, want nothing", line, got)
		}
	}
}

func ptr(f float64) *float64 { return &f }
