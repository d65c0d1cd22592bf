package sweep

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// Limits on what one sweep may ask for.
const (
	MaxTrials      = 1000
	MaxParallelCap = 100
)

// Engines: trials as sagetrain jobs (local or SageMaker, as the spec says),
// or one SageMaker hyperparameter tuning job.
const (
	EngineJobs  = "jobs"
	EngineTuner = "sagemaker-tuner"
)

// Axis is one --grid KEY=V1,V2,... dimension.
type Axis struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// Range is one --range KEY=LO:HI[:log] dimension for random search. Int
// ranges (both ends written as integers) draw integers.
type Range struct {
	Key string  `json:"key"`
	Lo  float64 `json:"lo"`
	Hi  float64 `json:"hi"`
	Log bool    `json:"log,omitempty"`
	Int bool    `json:"int,omitempty"`
}

// Objective is METRIC:max|min over a key of the trainer's metrics.json.
type Objective struct {
	Metric string `json:"metric"`
	Goal   string `json:"goal"` // "max" or "min"
}

func (o Objective) String() string { return o.Metric + ":" + o.Goal }

// Request asks for a sweep.
type Request struct {
	Name        string     // default: the spec's job_name
	Spec        *spec.Spec // the base spec every trial starts from
	Grid        []Axis
	Random      int // with Ranges: this many random trials (grid axes are then drawn from too)
	Ranges      []Range
	Objective   Objective
	MaxParallel int    // default 1
	Engine      string // default EngineJobs
	Seed        uint64 // random search seed (default: fixed, so a request is reproducible)
	// Check, when set, vets every trial's spec as a submission of it would
	// be (the API passes its trust-boundary checks: data roots, job limits).
	Check func(*spec.Spec) error
}

var (
	keyPattern    = regexp.MustCompile(`^[a-z_]+(\.[A-Za-z0-9_.:/-]+)?$`)
	metricPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,254}$`)
)

// ParseAxis parses KEY=V1,V2,...
func ParseAxis(s string) (Axis, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.TrimSpace(v) == "" {
		return Axis{}, errs.Configuration(fmt.Sprintf("grid %q is not KEY=V1,V2,...", s), "write e.g. --grid hyperparameters.learning_rate=0.001,0.003", nil)
	}
	a := Axis{Key: k}
	for _, p := range strings.Split(v, ",") {
		a.Values = append(a.Values, strings.TrimSpace(p))
	}
	return a, nil
}

// ParseRange parses KEY=LO:HI[:log].
func ParseRange(s string) (Range, error) {
	bad := func(why string) (Range, error) {
		return Range{}, errs.Configuration(fmt.Sprintf("range %q %s", s, why), "write e.g. --range hyperparameters.learning_rate=0.0001:0.01:log", nil)
	}
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return bad("is not KEY=LO:HI[:log]")
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("is not KEY=LO:HI[:log]")
	}
	r := Range{Key: k}
	var err error
	if r.Lo, err = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64); err != nil {
		return bad("has a low end that is not a number")
	}
	if r.Hi, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64); err != nil {
		return bad("has a high end that is not a number")
	}
	if len(parts) == 3 {
		switch strings.TrimSpace(parts[2]) {
		case "log":
			r.Log = true
		case "linear", "":
		default:
			return bad("has a scale that is neither log nor linear")
		}
	}
	_, e1 := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
	_, e2 := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64)
	r.Int = e1 == nil && e2 == nil
	if math.IsNaN(r.Lo) || math.IsNaN(r.Hi) || math.IsInf(r.Lo, 0) || math.IsInf(r.Hi, 0) || !(r.Lo < r.Hi) {
		return bad("needs finite ends with LO < HI")
	}
	if r.Log && r.Lo <= 0 {
		return bad("is logarithmic, so LO must be above 0")
	}
	return r, nil
}

// ParseObjective parses METRIC:max|min.
func ParseObjective(s string) (Objective, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 {
		return Objective{}, errs.Configuration(fmt.Sprintf("objective %q is not METRIC:max or METRIC:min", s), "write e.g. --objective test_auroc:max or --objective val_loss:min", nil)
	}
	o := Objective{Metric: strings.TrimSpace(s[:i]), Goal: strings.ToLower(strings.TrimSpace(s[i+1:]))}
	return o, o.check()
}

func (o Objective) check() error {
	if o.Goal != "max" && o.Goal != "min" {
		return errs.Configuration(fmt.Sprintf("objective goal %q is neither max nor min", o.Goal), "write METRIC:max or METRIC:min", nil)
	}
	if !metricPattern.MatchString(o.Metric) {
		return errs.Configuration(fmt.Sprintf("objective metric %q is not a metrics.json key", o.Metric),
			"name a key of the trainer's metrics.json such as test_auroc or val_loss (groups.NAME.val_loss for one age group)", nil)
	}
	return nil
}

// expand turns the request into its trials' parameters, in order: the full
// grid product, or Random draws over the ranges (and grid values).
func expand(r *Request) ([]map[string]string, error) {
	seen := map[string]bool{}
	for _, a := range r.Grid {
		if seen[a.Key] {
			return nil, errs.Configuration("sweep key "+a.Key+" is given twice", "give each key once, in --grid or --range", nil)
		}
		seen[a.Key] = true
		if len(a.Values) == 0 {
			return nil, errs.Configuration("grid "+a.Key+" has no values", "give at least one value", nil)
		}
	}
	for _, rg := range r.Ranges {
		if seen[rg.Key] {
			return nil, errs.Configuration("sweep key "+rg.Key+" is given twice", "give each key once, in --grid or --range", nil)
		}
		seen[rg.Key] = true
	}
	for k := range seen {
		if !keyPattern.MatchString(k) || k == "job_name" || k == "backend" {
			return nil, errs.Configuration(fmt.Sprintf("sweep key %q is not a spec field path", k),
				"use a spec field such as instance_type or hyperparameters.learning_rate (not job_name or backend)", nil)
		}
	}
	if r.Random < 0 || r.Random > MaxTrials {
		return nil, errs.Configuration(fmt.Sprintf("--random %d is out of range", r.Random), fmt.Sprintf("ask for 1 to %d random trials", MaxTrials), nil)
	}
	if len(r.Ranges) > 0 && r.Random == 0 {
		return nil, errs.Configuration("--range needs --random N", "say how many random trials to draw, e.g. --random 8", nil)
	}
	if r.Random > 0 {
		if len(r.Ranges) == 0 && len(r.Grid) == 0 {
			return nil, errs.Configuration("--random needs something to draw from", "add --range KEY=LO:HI[:log] or --grid KEY=V1,V2", nil)
		}
		seed := r.Seed
		if seed == 0 {
			seed = 1
		}
		rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
		out := make([]map[string]string, r.Random)
		for i := range out {
			p := map[string]string{}
			for _, a := range r.Grid {
				p[a.Key] = a.Values[rng.IntN(len(a.Values))]
			}
			for _, rg := range r.Ranges {
				p[rg.Key] = rg.draw(rng)
			}
			out[i] = p
		}
		return out, nil
	}
	if len(r.Grid) == 0 {
		return nil, errs.Configuration("the sweep has no parameters", "add --grid KEY=V1,V2,... or --random N --range KEY=LO:HI", nil)
	}
	n := 1
	for _, a := range r.Grid {
		n *= len(a.Values)
		if n > MaxTrials {
			return nil, errs.Configuration(fmt.Sprintf("the grid has more than %d trials", MaxTrials), "use fewer values, or --random N", nil)
		}
	}
	out := make([]map[string]string, 0, n)
	// The last axis varies fastest, like nested loops in the order given.
	idx := make([]int, len(r.Grid))
	for {
		p := make(map[string]string, len(r.Grid))
		for i, a := range r.Grid {
			p[a.Key] = a.Values[idx[i]]
		}
		out = append(out, p)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(r.Grid[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

func (rg Range) draw(rng *rand.Rand) string {
	u := rng.Float64()
	var v float64
	if rg.Log {
		v = math.Exp(math.Log(rg.Lo) + u*(math.Log(rg.Hi)-math.Log(rg.Lo)))
	} else {
		v = rg.Lo + u*(rg.Hi-rg.Lo)
	}
	if rg.Int {
		n := int64(math.Floor(v))
		if rg.Log {
			n = int64(math.Round(v))
		}
		n = min(max(n, int64(rg.Lo)), int64(rg.Hi))
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// trialSpec is the base spec with one trial's parameters applied (sorted,
// so the result never depends on map order), named after the trial.
func trialSpec(base json.RawMessage, name string, ordinal int, params map[string]string) (*spec.Spec, error) {
	var sp spec.Spec
	if err := json.Unmarshal(base, &sp); err != nil {
		return nil, errs.Job("the sweep's stored spec is unreadable", "start the sweep again", err)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := sp.Override(k + "=" + params[k]); err != nil {
			return nil, err
		}
	}
	sp.JobName = fmt.Sprintf("%s-t%d", name, ordinal)
	sp.ApplyDefaults()
	return &sp, nil
}
