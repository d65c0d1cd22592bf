package trainer

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
)

func ages(counts map[int]int) []float64 {
	var a []float64
	for y := 2; y <= 18; y++ {
		for i := 0; i < counts[y]; i++ {
			a = append(a, float64(y)+0.5)
		}
	}
	return a
}

func TestBuildAgeGroups(t *testing.T) {
	cases := []struct {
		name      string
		counts    map[int]int
		ok, short []string
	}{
		{"each year big enough", map[int]int{5: 60, 6: 50, 7: 80}, []string{"5", "6", "7"}, nil},
		{"small years merge", map[int]int{4: 20, 5: 20, 6: 20, 7: 60}, []string{"4-6", "7"}, nil},
		{"short tail folds into its neighbour", map[int]int{5: 60, 6: 60, 7: 10}, []string{"5", "6-7"}, nil},
		{"never more than 4 years: reported", map[int]int{2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 10: 70}, []string{"10"}, []string{"2-5", "6"}},
		{"gaps count as years", map[int]int{3: 30, 8: 30}, nil, []string{"3", "8"}},
	}
	for _, c := range cases {
		ok, short := BuildAgeGroups(ages(c.counts), 50, 4)
		var okN, shortN []string
		for _, g := range ok {
			okN = append(okN, g.Name)
			if g.NTrain < 50 || g.Max-g.Min+1 > 4 {
				t.Errorf("%s: group %+v breaks the rules", c.name, g)
			}
		}
		for _, g := range short {
			shortN = append(shortN, g.Name)
		}
		if !reflect.DeepEqual(okN, c.ok) || !reflect.DeepEqual(shortN, c.short) {
			t.Errorf("%s: got %v short %v, want %v short %v", c.name, okN, shortN, c.ok, c.short)
		}
	}
	ok, _ := BuildAgeGroups(ages(map[int]int{5: 60, 8: 60}), 50, 4)
	if i, exact := nearestGroup(ok, 6.2); i != 0 || exact {
		t.Errorf("6.2 -> group %d exact %v, want the nearer group 5", i, exact)
	}
	if i, exact := nearestGroup(ok, 8.99); i != 1 || !exact {
		t.Errorf("8.99 -> group %d exact %v", i, exact)
	}
}

func TestRankingMetrics(t *testing.T) {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	pos := []bool{false, false, true, true}
	// scikit-learn: roc_auc_score -> 0.75, average_precision_score -> 0.8333
	if got := rocAUC(scores, pos); math.Abs(got-0.75) > 1e-12 {
		t.Errorf("auc %v", got)
	}
	if got := averagePrecision(scores, pos); math.Abs(got-0.8333333333333333) > 1e-12 {
		t.Errorf("ap %v", got)
	}
	if got := rocAUC([]float64{1, 1, 1}, []bool{true, false, false}); got != 0.5 {
		t.Errorf("ties: auc %v", got)
	}
	if !math.IsNaN(rocAUC([]float64{1, 2}, []bool{false, false})) {
		t.Error("auc without positives should be NaN")
	}
	if got := percentile([]float64{1, 2, 3, 4}, 95); math.Abs(got-3.85) > 1e-12 {
		t.Errorf("p95 %v (numpy: 3.85)", got)
	}
	e := evaluate([]float64{1, 2, 3, 4}, []float64{0.5, 1.5, 0.9, 2}, []bool{false, false, true, true})
	if *e.Precision != 0.5 || *e.Recall != 0.5 || *e.F1 != 0.5 || *e.FalsePositiveRate != 0.5 || e.NAnomalies != 2 {
		t.Errorf("evaluation %+v", e)
	}
}

func TestParseHyperparameters(t *testing.T) {
	p, err := ParseHyperparameters(map[string]any{"hidden_sizes": "[128, 64]", "learning_rate": "\"0.01\"", "epochs": 5,
		"sagemaker_program": "x", "min_samples": "20", "ae_augment": "0.25"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.HiddenSizes, []int{128, 64}) || p.LearningRate != 0.01 || p.Epochs != 5 || p.MinSamples != 20 || p.BatchSize != 32 || p.AEAugment != 0.25 {
		t.Fatalf("%+v", p)
	}
	for _, bad := range []map[string]any{{"epochs": "ten"}, {"dropout": "1.5"}, {"hidden_sizes": ""}, {"lerning_rate": "0.1"}, {"ae_augment": "1.5"}} {
		if _, err := ParseHyperparameters(bad); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}

func TestAssignGroupsBalances(t *testing.T) {
	gs := []AgeGroup{{Name: "a", NTrain: 100}, {Name: "b", NTrain: 90}, {Name: "c", NTrain: 60}, {Name: "d", NTrain: 40}, {Name: "e", NTrain: 10}}
	a := assignGroups(gs, []string{"algo-1", "algo-2"})
	load := map[string]int{}
	for _, g := range gs {
		load[a[g.Name]] += g.NTrain
	}
	if load["algo-1"] != 150 || load["algo-2"] != 150 {
		t.Fatalf("loads %v (assignment %v)", load, a)
	}
	if b := assignGroups(gs, []string{"algo-1", "algo-2"}); !reflect.DeepEqual(a, b) {
		t.Fatal("assignment is not deterministic")
	}
}
