package sweep

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// View is a sweep as commands and the API show it: its trials ranked by
// the objective (best first; trials without a value after, in order).
type View struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	Objective       Objective   `json:"objective"`
	MaxParallel     int         `json:"max_parallel"`
	Engine          string      `json:"engine"`
	Backend         string      `json:"backend"`
	CancelRequested bool        `json:"cancel_requested,omitempty"`
	Message         string      `json:"message,omitempty"`
	Tuner           string      `json:"tuner,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	Counts          Counts      `json:"counts"`
	Trials          []TrialView `json:"trials"`
	Best            *TrialView  `json:"best"`
}

// Counts are the trials per state.
type Counts struct {
	Waiting   int `json:"waiting"`
	Live      int `json:"live"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Stopped   int `json:"stopped"`
}

// TrialView is one trial: its job (ID empty while waiting), its parameters
// and its objective value (null until completed, or when its metrics.json
// lacks the metric).
type TrialView struct {
	ID             string            `json:"id"`
	Ordinal        int               `json:"ordinal"`
	Status         string            `json:"status"`
	Params         map[string]string `json:"params"`
	ObjectiveValue *float64          `json:"objective_value"`
	Rank           int               `json:"rank,omitempty"`
	Note           string            `json:"note,omitempty"`
}

func view(sw *store.Sweep, d *doc) *View {
	v := &View{ID: sw.ID, Name: sw.Name, Status: sw.Status, Objective: d.Objective, MaxParallel: d.MaxParallel,
		Engine: d.Engine, Backend: d.Backend, CancelRequested: sw.CancelRequested, Message: d.Message, Tuner: d.Tuner,
		CreatedAt: sw.CreatedAt, UpdatedAt: sw.UpdatedAt, Trials: make([]TrialView, 0, len(d.Trials))}
	for _, t := range d.Trials {
		v.Trials = append(v.Trials, TrialView{ID: t.JobID, Ordinal: t.Ordinal, Status: t.Status, Params: t.Params,
			ObjectiveValue: t.ObjectiveValue, Note: t.Note})
		switch {
		case t.Status == TrialWaiting:
			v.Counts.Waiting++
		case t.Status == string(store.StatusCompleted):
			v.Counts.Completed++
		case t.Status == string(store.StatusFailed):
			v.Counts.Failed++
		case t.Status == string(store.StatusStopped):
			v.Counts.Stopped++
		default:
			v.Counts.Live++
		}
	}
	rank(v.Trials, d.Objective.Goal)
	if len(v.Trials) > 0 && v.Trials[0].Rank == 1 {
		b := v.Trials[0]
		v.Best = &b
	}
	return v
}

// rank orders trials best first: completed trials with a value by it
// (ties by ordinal), then the rest by ordinal. Ranked trials get 1, 2, ...
func rank(ts []TrialView, goal string) {
	valued := func(t TrialView) bool {
		return t.Status == string(store.StatusCompleted) && t.ObjectiveValue != nil
	}
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if valued(a) != valued(b) {
			return valued(a)
		}
		if valued(a) && *a.ObjectiveValue != *b.ObjectiveValue {
			if goal == "min" {
				return *a.ObjectiveValue < *b.ObjectiveValue
			}
			return *a.ObjectiveValue > *b.ObjectiveValue
		}
		return a.Ordinal < b.Ordinal
	})
	for i := range ts {
		if valued(ts[i]) {
			ts[i].Rank = i + 1
		}
	}
}

// objectiveValue reads the objective from a completed job's report: the
// metric in metrics.json (a dotted path reaches into nested objects, e.g.
// groups.6-7.val_loss), else the backend's final metric of that name.
func objectiveValue(j *store.Job, o Objective) (*float64, string) {
	if len(j.Report) == 0 {
		return nil, "the job has no report"
	}
	var r jobs.Report
	if err := json.Unmarshal(j.Report, &r); err != nil {
		return nil, "the job's report is unreadable"
	}
	if v, ok := lookup(r.Metrics, o.Metric); ok {
		return v, ""
	}
	if v, ok := r.FinalMetrics[o.Metric]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return &v, ""
	}
	return nil, "metrics.json has no number " + o.Metric
}

func lookup(m map[string]any, path string) (*float64, bool) {
	if v, ok := m[path]; ok {
		return number(v)
	}
	// Longest prefix first: group names may hold dots.
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		head := strings.Join(parts[:i], ".")
		if sub, ok := m[head].(map[string]any); ok {
			if v, ok := lookup(sub, strings.Join(parts[i:], ".")); ok {
				return v, true
			}
		}
	}
	return nil, false
}

func number(v any) (*float64, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	return &f, true
}

// paramString is "k=v, k=v" in key order.
func paramString(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	return strings.Join(parts, ", ")
}

// ParamString is a trial's parameters as "k=v, k=v" in key order.
func ParamString(p map[string]string) string { return paramString(p) }
