package api

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sagetrain/sagetrain/internal/spec"
)

// originalTraining is the original application's TrainingConfigRequest
// training fields, given at the top level of POST /jobs. They map onto the
// trainer's hyperparameters (instance_type and instance_count are spec
// fields already). Pointers: absent is not zero.
type originalTraining struct {
	Epochs          *float64 `json:"epochs,omitempty"`
	LearningRate    *float64 `json:"learning_rate,omitempty"`
	BatchSize       *float64 `json:"batch_size,omitempty"`
	TrainSplit      *float64 `json:"train_split,omitempty"`
	ValidationSplit *float64 `json:"validation_split,omitempty"`
	TestSplit       *float64 `json:"test_split,omitempty"`
}

// apply writes the fields into sp.Hyperparameters; a field that disagrees
// with a hyperparameter of the same name given as well is an error, and so
// are splits that do not add up to 1.
func (o originalTraining) apply(sp *spec.Spec) string {
	set := func(key string, v *float64, integer bool, lo, hi float64) string {
		if v == nil {
			return ""
		}
		if math.IsNaN(*v) || *v < lo || *v > hi || (integer && *v != math.Trunc(*v)) {
			kind := "a number"
			if integer {
				kind = "a whole number"
			}
			return fmt.Sprintf("%s %v is out of range; give %s from %g to %g", key, *v, kind, lo, hi)
		}
		s := strconv.FormatFloat(*v, 'g', -1, 64)
		if old, ok := sp.Hyperparameters[key]; ok && old != s {
			return fmt.Sprintf("%s is %s at the top level and %q in hyperparameters; give it once", key, s, old)
		}
		if sp.Hyperparameters == nil {
			sp.Hyperparameters = map[string]string{}
		}
		sp.Hyperparameters[key] = s
		return ""
	}
	for _, f := range []struct {
		key     string
		v       *float64
		integer bool
		lo, hi  float64
	}{
		{"epochs", o.Epochs, true, 1, 100000},
		{"learning_rate", o.LearningRate, false, 1e-12, 10},
		{"batch_size", o.BatchSize, true, 1, 1 << 20},
		{"validation_split", o.ValidationSplit, false, 0, 0.5},
		{"test_split", o.TestSplit, false, 0, 0.5},
	} {
		if msg := set(f.key, f.v, f.integer, f.lo, f.hi); msg != "" {
			return msg
		}
	}
	if o.TrainSplit != nil {
		// The trainer trains on what the validation and test splits leave.
		val, test := 0.15, 0.15
		if o.ValidationSplit != nil {
			val = *o.ValidationSplit
		}
		if o.TestSplit != nil {
			test = *o.TestSplit
		}
		if math.IsNaN(*o.TrainSplit) || math.Abs(*o.TrainSplit+val+test-1) > 1e-6 {
			return fmt.Sprintf("train_split %v, validation_split %v and test_split %v do not add up to 1; the trainer trains on 1 - validation_split - test_split, so give splits that sum to 1 (or leave train_split out)", *o.TrainSplit, val, test)
		}
	}
	return ""
}
