package metrics

import (
	"encoding/json"
	"testing"
)

// A metrics.json as the trainer writes it reads into the types; nulls and
// missing fields read as nil.
func TestFromMap(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"test_auroc":0.9,"groups":{"5":{"age_min":5,"age_max":5.99,"n_train":40,"n_validation":10,
		"threshold":0.02,"threshold_source":"validation","best_epoch":7,"test":{"n":12,"n_anomalies":3,"auroc":null,"f1":0.5}},"6":null}}`), &m); err != nil {
		t.Fatal(err)
	}
	g := FromMap(m).Groups
	five := g["5"]
	if len(g) != 2 || *five.AgeMax != 5.99 || *five.ThresholdSource != "validation" || *five.Test.N != 12 || five.Test.AUROC != nil || *five.Test.F1 != 0.5 || five.Host != nil {
		t.Fatalf("groups %+v", g)
	}
	if g["6"].AgeMin != nil || g["6"].AgeMinOr0() != 0 {
		t.Fatalf("null group %+v", g["6"])
	}
}
