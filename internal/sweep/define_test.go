package sweep

import (
	"errors"
	"strconv"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func TestGridExpansionOrder(t *testing.T) {
	r := &Request{Grid: []Axis{{Key: "hyperparameters.learning_rate", Values: []string{"0.001", "0.003"}}, {Key: "instance_type", Values: []string{"a", "b", "c"}}}}
	got, err := expand(r)
	if err != nil || len(got) != 6 {
		t.Fatalf("%d points, %v", len(got), err)
	}
	// The last axis varies fastest.
	if got[0]["instance_type"] != "a" || got[1]["instance_type"] != "b" || got[3]["hyperparameters.learning_rate"] != "0.003" {
		t.Fatalf("order: %v", got)
	}
}

func TestRandomDrawsStayInRange(t *testing.T) {
	lr, err := ParseRange("hyperparameters.learning_rate=0.0001:0.01:log")
	if err != nil || !lr.Log || lr.Int {
		t.Fatalf("%+v %v", lr, err)
	}
	ep, err := ParseRange("hyperparameters.epochs=5:20")
	if err != nil || !ep.Int {
		t.Fatalf("%+v %v", ep, err)
	}
	r := &Request{Random: 200, Ranges: []Range{lr, ep}, Grid: []Axis{{Key: "hyperparameters.dropout", Values: []string{"0.0", "0.1"}}}, Seed: 3}
	got, err := expand(r)
	if err != nil || len(got) != 200 {
		t.Fatal(err)
	}
	seenDrop := map[string]bool{}
	for _, p := range got {
		v, _ := strconv.ParseFloat(p["hyperparameters.learning_rate"], 64)
		n, err := strconv.Atoi(p["hyperparameters.epochs"])
		if v < 0.0001 || v > 0.01 || err != nil || n < 5 || n > 20 {
			t.Fatalf("draw out of range: %v", p)
		}
		seenDrop[p["hyperparameters.dropout"]] = true
	}
	if len(seenDrop) != 2 {
		t.Fatalf("grid values not drawn from: %v", seenDrop)
	}
	again, _ := expand(r)
	if again[17]["hyperparameters.learning_rate"] != got[17]["hyperparameters.learning_rate"] {
		t.Fatal("the same request drew other trials")
	}
}

func TestBadDefinitions(t *testing.T) {
	for _, s := range []string{"x", "k=", "k=1", "k=a:b", "k=2:1", "k=0:1:log", "k=1:2:cubic"} {
		if _, err := ParseRange(s); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("range %q: %v", s, err)
		}
	}
	for _, s := range []string{"test_auroc", "test_auroc:up", ":max", "a b:max"} {
		if _, err := ParseObjective(s); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("objective %q: %v", s, err)
		}
	}
	for _, r := range []*Request{
		{},
		{Grid: []Axis{{Key: "job_name", Values: []string{"x"}}}},
		{Grid: []Axis{{Key: "hyperparameters.a", Values: []string{"1"}}, {Key: "hyperparameters.a", Values: []string{"2"}}}},
		{Ranges: []Range{{Key: "hyperparameters.a", Lo: 0, Hi: 1}}},
		{Grid: []Axis{{Key: "Bad Key", Values: []string{"1"}}}},
	} {
		if _, err := expand(r); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func TestRanking(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	done := string(store.StatusCompleted)
	ts := []TrialView{
		{Ordinal: 1, Status: done, ObjectiveValue: f(0.5)},
		{Ordinal: 2, Status: "running"},
		{Ordinal: 3, Status: done, ObjectiveValue: f(0.9)},
		{Ordinal: 4, Status: done}, // no value
		{Ordinal: 5, Status: done, ObjectiveValue: f(0.5)},
	}
	max := append([]TrialView(nil), ts...)
	rank(max, "max")
	if max[0].Ordinal != 3 || max[1].Ordinal != 1 || max[2].Ordinal != 5 || max[3].Ordinal != 2 || max[0].Rank != 1 || max[3].Rank != 0 {
		t.Fatalf("max: %+v", max)
	}
	min := append([]TrialView(nil), ts...)
	rank(min, "min")
	if min[0].Ordinal != 1 || min[2].Ordinal != 3 {
		t.Fatalf("min: %+v", min)
	}
	m := map[string]any{"groups": map[string]any{"6.5-7": map[string]any{"val_loss": 0.25}}, "test_auroc": 0.75, "nan": "x"}
	if v, ok := lookup(m, "groups.6.5-7.val_loss"); !ok || *v != 0.25 {
		t.Fatalf("dotted group path: %v %v", v, ok)
	}
	if _, ok := lookup(m, "nan"); ok {
		t.Fatal("a string counted as a number")
	}
}
