package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// Comparison sets jobs side by side: the settings that differ, the overall
// metrics and each age group's, with a value per job (nil where a job has
// none, e.g. a group it did not train).
type Comparison struct {
	Jobs     []ComparedJob                    `json:"jobs"`
	Differs  map[string][]string              `json:"differs"` // setting -> value per job ("" = not set)
	Metrics  map[string][]*float64            `json:"metrics"`
	Groups   map[string]map[string][]*float64 `json:"groups"` // age group -> metric -> value per job
	Settings []string                         `json:"-"`      // Differs' keys in order
	Names    []string                         `json:"-"`      // Metrics' keys in order
}

// ComparedJob is one compared job.
type ComparedJob struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// CostUSD and Cost as list and report show them (compare_cost.go).
	CostUSD *float64   `json:"cost_usd"`
	Cost    *cost.Cost `json:"cost,omitempty"`
}

// groupMetrics are the per-group numbers compared; test.X comes from the
// group's evaluation on the test split.
var groupMetrics = []string{"val_loss", "train_loss", "best_epoch", "epochs_trained", "threshold", "test.auroc", "test.average_precision", "test.f1"}

// Compare reads the jobs' specs and reports. Every job must have completed.
// With metrics given, only those are compared (overall names such as
// test_auroc; per group, val_loss or test.auroc).
func (s *Service) Compare(ctx context.Context, ids []string, metrics []string) (*Comparison, error) {
	if len(ids) < 2 {
		return nil, errs.Configuration("compare needs at least two jobs", "name two or more job ids", nil)
	}
	c := &Comparison{Differs: map[string][]string{}, Metrics: map[string][]*float64{}, Groups: map[string]map[string][]*float64{}}
	var (
		settings []map[string]string
		reports  []*Report
	)
	for _, id := range ids {
		r, err := s.Report(ctx, id)
		if err != nil {
			return nil, err
		}
		j, err := s.st.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		sp, err := jobSpec(j)
		if err != nil {
			return nil, err
		}
		c.Jobs = append(c.Jobs, comparedJob(ctx, j))
		settings = append(settings, compareSettings(sp))
		reports = append(reports, r)
	}
	keys := map[string]bool{}
	for _, m := range settings {
		for k := range m {
			keys[k] = true
		}
	}
	for k := range keys {
		vals := make([]string, len(settings))
		same := true
		for i, m := range settings {
			vals[i] = m[k]
			same = same && vals[i] == vals[0]
		}
		if !same {
			c.Differs[k] = vals
			c.Settings = append(c.Settings, k)
		}
	}
	sort.Strings(c.Settings)

	names := metrics
	if len(names) == 0 {
		seen := map[string]bool{}
		for _, r := range reports {
			for k, v := range r.Metrics {
				if _, ok := v.(float64); ok && !seen[k] {
					seen[k] = true
					names = append(names, k)
				}
			}
		}
		sort.Strings(names)
	}
	for _, k := range names {
		vals := make([]*float64, len(reports))
		any := false
		for i, r := range reports {
			vals[i] = num(r.Metrics[k])
			any = any || vals[i] != nil
		}
		if any {
			c.Metrics[k] = vals
			c.Names = append(c.Names, k)
		}
	}
	gm := groupMetrics
	if len(metrics) > 0 {
		gm = metrics
	}
	for i, r := range reports {
		groups, _ := r.Metrics["groups"].(map[string]any)
		for g, raw := range groups {
			gmap, _ := raw.(map[string]any)
			for _, m := range gm {
				v := num(dig(gmap, m))
				if v == nil {
					continue
				}
				if c.Groups[g] == nil {
					c.Groups[g] = map[string][]*float64{}
				}
				if c.Groups[g][m] == nil {
					c.Groups[g][m] = make([]*float64, len(reports))
				}
				c.Groups[g][m][i] = v
			}
		}
	}
	if len(metrics) > 0 && len(c.Metrics) == 0 && len(c.Groups) == 0 {
		return nil, errs.Configuration(fmt.Sprintf("no compared job has the metric %s", strings.Join(metrics, ", ")),
			"name keys of metrics.json such as test_auroc or val_loss (per age group: val_loss, test.auroc)", nil)
	}
	return c, nil
}

// compareSettings are the spec fields a comparison looks at: every
// hyperparameter and the instance settings.
func compareSettings(sp *spec.Spec) map[string]string {
	m := map[string]string{
		"instance_type":  sp.InstanceType,
		"instance_count": strconv.Itoa(int(sp.InstanceCount)),
		"backend":        sp.Backend,
	}
	for k, v := range sp.Hyperparameters {
		m["hyperparameters."+k] = v
	}
	return m
}

// dig follows a dotted path into nested objects (test.auroc).
func dig(m map[string]any, path string) any {
	if v, ok := m[path]; ok {
		return v
	}
	head, rest, ok := strings.Cut(path, ".")
	if !ok {
		return nil
	}
	sub, _ := m[head].(map[string]any)
	return dig(sub, rest)
}

func num(v any) *float64 {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return &f
		}
	}
	return nil
}
