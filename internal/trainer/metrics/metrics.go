package metrics

import "encoding/json"

// Metrics is the part of metrics.json its readers show: the per-group table.
// The test-set totals are flat "test_*"/"n_*" keys, read by name.
type Metrics struct {
	Groups map[string]Group `json:"groups"`
}

// Group is one age group's entry under "groups".
type Group struct {
	AgeMin          *float64 `json:"age_min"`
	AgeMax          *float64 `json:"age_max"`
	NTrain          *float64 `json:"n_train"`
	NValidation     *float64 `json:"n_validation"`
	Threshold       *float64 `json:"threshold"`
	ThresholdSource *string  `json:"threshold_source"`
	BestEpoch       *float64 `json:"best_epoch"`
	EpochsTrained   *float64 `json:"epochs_trained"`
	ValLoss         *float64 `json:"val_loss"`
	TrainLoss       *float64 `json:"train_loss"`
	Host            *string  `json:"host"`
	Test            Test     `json:"test"`
}

// Test is a group's test-split evaluation (the trainer's Evaluation).
type Test struct {
	N                 *float64 `json:"n"`
	NAnomalies        *float64 `json:"n_anomalies"`
	AUROC             *float64 `json:"auroc"`
	AP                *float64 `json:"average_precision"`
	Precision         *float64 `json:"precision"`
	Recall            *float64 `json:"recall"`
	F1                *float64 `json:"f1"`
	FalsePositiveRate *float64 `json:"false_positive_rate"`
}

// FromMap reads the typed part of a decoded metrics.json (a report's
// Metrics); what does not fit the types reads as nil.
func FromMap(m map[string]any) Metrics {
	var out Metrics
	if b, err := json.Marshal(m); err == nil {
		_ = json.Unmarshal(b, &out) // best effort, as the untyped readers were
	}
	return out
}

// AgeMinOr0 is the group's lower age, 0 when unknown: the order of tables.
func (g Group) AgeMinOr0() float64 {
	if g.AgeMin == nil {
		return 0
	}
	return *g.AgeMin
}
