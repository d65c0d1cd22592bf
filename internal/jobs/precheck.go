package jobs

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/trainer"
)

// Prechecker checks, before a job is recorded or billed, what a spec refers
// to outside itself: the S3 input, the role, the image. problems block the
// submit; warnings are checks that could not be made (no permission for
// the call, a service out of reach) and do not.
type Prechecker func(ctx context.Context, sp *spec.Spec) (problems []spec.Violation, warnings []string)

// ValidateSpec is spec.Validate plus the trainer's own reading of the
// hyperparameters (unknown names, types, ranges), every problem at once,
// so a typo such as "epocs" is refused here and not inside a billed job.
// Call sp.ApplyDefaults first.
func ValidateSpec(sp *spec.Spec) error {
	var out []spec.Violation
	if err := sp.Validate(); err != nil {
		var ve *spec.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		out = append(out, ve.Violations...)
	}
	out = append(out, HyperparameterViolations(sp.Hyperparameters)...)
	if len(out) == 0 {
		return nil
	}
	return &spec.ValidationError{Violations: out}
}

// HyperparameterViolations reads each hyperparameter with the trainer's
// parser (trainer.ParseHyperparameters), one at a time so that every bad
// one is reported, not only the first.
func HyperparameterViolations(hp map[string]string) []spec.Violation {
	keys := make([]string, 0, len(hp))
	for k := range hp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []spec.Violation
	for _, k := range keys {
		_, err := trainer.ParseHyperparameters(map[string]any{k: hp[k]})
		if err == nil {
			continue
		}
		msg := err.Error()
		var se *errs.Error
		if errors.As(err, &se) {
			msg = se.Msg
			if se.Err != nil {
				msg += " (" + se.Err.Error() + ")"
			}
		}
		if strings.HasPrefix(msg, "unknown hyperparameter") {
			msg = "is not a hyperparameter of the trainer" + didYouMean(k) + "; the names are in docs/trainer.md"
		}
		out = append(out, spec.Violation{Field: "hyperparameters." + k, Message: msg})
	}
	return out
}

// hyperparameterNames are the trainer's names: the json tags of its Params.
func hyperparameterNames() []string {
	t := reflect.TypeOf(trainer.Params{})
	var out []string
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// didYouMean suggests the closest known name within two edits.
func didYouMean(k string) string {
	best, bestD := "", 3
	for _, n := range hyperparameterNames() {
		if d := editDistance(strings.ToLower(k), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
