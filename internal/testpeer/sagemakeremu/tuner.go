package sagemakeremu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Hyperparameter tuning jobs as botocore's model defines them: Create,
// Describe, List, Stop, and ListTrainingJobsForHyperParameterTuningJob. A
// tuning job expands its parameter ranges into training jobs (Grid: every
// combination; Random and Bayesian: MaxNumberOfTrainingJobs random draws),
// runs them through CreateTrainingJob at most MaxParallelTrainingJobs at a
// time, and ranks them on the objective metric (the training jobs' final
// metric values).

var tunerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$`)

type tunerRequest struct {
	HyperParameterTuningJobName   string
	HyperParameterTuningJobConfig *struct {
		Strategy                         string
		HyperParameterTuningJobObjective *struct{ Type, MetricName string }
		ResourceLimits                   *struct{ MaxNumberOfTrainingJobs, MaxParallelTrainingJobs int }
		ParameterRanges                  *struct {
			CategoricalParameterRanges []struct {
				Name   string
				Values []string
			}
			ContinuousParameterRanges []struct{ Name, MinValue, MaxValue, ScalingType string }
			IntegerParameterRanges    []struct{ Name, MinValue, MaxValue, ScalingType string }
		}
	}
	TrainingJobDefinition map[string]json.RawMessage
}

type tuner struct {
	srv     *Server
	name    string
	arn     string
	req     tunerRequest
	raw     map[string]json.RawMessage
	created time.Time
	trials  []map[string]string

	mu       sync.Mutex
	status   string
	ended    time.Time
	modified time.Time
	jobs     []string // training job names, in start order
	stop     bool
	failure  string
}

// tuners holds each Server's tuning jobs (the Server struct stays as it is).
var tuners sync.Map // *Server -> *tunerSet

type tunerSet struct {
	mu sync.Mutex
	m  map[string]*tuner
}

func (s *Server) tunerSet() *tunerSet {
	v, _ := tuners.LoadOrStore(s, &tunerSet{m: map[string]*tuner{}})
	return v.(*tunerSet)
}

func (s *Server) createTuner(body []byte) (any, error) {
	var req tunerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	cfg := req.HyperParameterTuningJobConfig
	switch {
	case !tunerNamePattern.MatchString(req.HyperParameterTuningJobName):
		return nil, validation("Value '%s' at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", req.HyperParameterTuningJobName)
	case cfg == nil || cfg.ResourceLimits == nil || cfg.ResourceLimits.MaxParallelTrainingJobs < 1:
		return nil, validation("HyperParameterTuningJobConfig with ResourceLimits.MaxParallelTrainingJobs >= 1 is required")
	case req.TrainingJobDefinition == nil:
		return nil, validation("TrainingJobDefinition is required")
	case cfg.HyperParameterTuningJobObjective == nil && cfg.Strategy != "Random" && cfg.Strategy != "Grid":
		return nil, validation("HyperParameterTuningJobObjective is required with the %s strategy", cfg.Strategy)
	}
	trials, err := expandRanges(&req)
	if err != nil {
		return nil, err
	}
	ts := s.tunerSet()
	ts.mu.Lock()
	if _, ok := ts.m[req.HyperParameterTuningJobName]; ok {
		ts.mu.Unlock()
		return nil, &apiError{400, "ResourceInUse", "Hyperparameter tuning job " + req.HyperParameterTuningJobName + " already exists"}
	}
	now := time.Now()
	t := &tuner{srv: s, name: req.HyperParameterTuningJobName, req: req, raw: raw, created: now, trials: trials, status: "InProgress", modified: now}
	t.arn = strings.Replace(s.arn(t.name), ":training-job/", ":hyper-parameter-tuning-job/", 1)
	ts.m[t.name] = t
	ts.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t.run()
	}()
	return map[string]string{"HyperParameterTuningJobArn": t.arn}, nil
}

// expandRanges turns the parameter ranges into the training jobs' tuned values.
func expandRanges(req *tunerRequest) ([]map[string]string, error) {
	cfg := req.HyperParameterTuningJobConfig
	pr := cfg.ParameterRanges
	if pr == nil {
		return nil, validation("ParameterRanges is required")
	}
	if cfg.Strategy == "Grid" {
		if len(pr.ContinuousParameterRanges) > 0 {
			return nil, validation("the Grid strategy takes categorical and integer ranges only")
		}
		out := []map[string]string{{}}
		for _, c := range pr.CategoricalParameterRanges {
			var next []map[string]string
			for _, p := range out {
				for _, v := range c.Values {
					q := map[string]string{c.Name: v}
					for k, x := range p {
						q[k] = x
					}
					next = append(next, q)
				}
			}
			out = next
		}
		for _, r := range pr.IntegerParameterRanges {
			lo, _ := strconv.Atoi(r.MinValue)
			hi, _ := strconv.Atoi(r.MaxValue)
			var next []map[string]string
			for _, p := range out {
				for v := lo; v <= hi; v++ {
					q := map[string]string{r.Name: strconv.Itoa(v)}
					for k, x := range p {
						q[k] = x
					}
					next = append(next, q)
				}
			}
			out = next
		}
		return out, nil
	}
	n := cfg.ResourceLimits.MaxNumberOfTrainingJobs
	if n < 1 {
		return nil, validation("MaxNumberOfTrainingJobs is required with the %s strategy", cfg.Strategy)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	draw := func(lo, hi string, scale string, integer bool) string {
		a, _ := strconv.ParseFloat(lo, 64)
		b, _ := strconv.ParseFloat(hi, 64)
		u := rng.Float64()
		v := a + u*(b-a)
		if scale == "Logarithmic" && a > 0 {
			v = math.Exp(math.Log(a) + u*(math.Log(b)-math.Log(a)))
		}
		if integer {
			return strconv.Itoa(int(math.Round(v)))
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	out := make([]map[string]string, n)
	for i := range out {
		p := map[string]string{}
		for _, c := range pr.CategoricalParameterRanges {
			p[c.Name] = c.Values[rng.IntN(len(c.Values))]
		}
		for _, r := range pr.ContinuousParameterRanges {
			p[r.Name] = draw(r.MinValue, r.MaxValue, r.ScalingType, false)
		}
		for _, r := range pr.IntegerParameterRanges {
			p[r.Name] = draw(r.MinValue, r.MaxValue, r.ScalingType, true)
		}
		out[i] = p
	}
	return out, nil
}

// run starts the training jobs, at most MaxParallel live at once.
func (t *tuner) run() {
	limit := t.req.HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs
	next := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		live := 0
		for _, n := range t.jobNames() {
			if st, _ := t.srv.jobStatus(n); st == "InProgress" || st == "Stopping" {
				live++
			}
		}
		t.mu.Lock()
		stop := t.stop
		t.mu.Unlock()
		for !stop && live < limit && next < len(t.trials) {
			if err := t.start(next); err != nil {
				t.finish("Failed", "starting a training job failed: "+err.Error())
				return
			}
			next++
			live++
		}
		if live == 0 && (stop || next == len(t.trials)) {
			if stop {
				t.finish("Stopped", "")
			} else {
				t.finish("Completed", "")
			}
			return
		}
		select {
		case <-t.srv.ctx.Done():
			t.finish("Failed", "the emulator was closed")
			return
		case <-tick.C:
		}
	}
}

func (t *tuner) jobNames() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.jobs...)
}

func (t *tuner) finish(status, failure string) {
	t.mu.Lock()
	t.status, t.failure, t.ended, t.modified = status, failure, time.Now(), time.Now()
	t.mu.Unlock()
}

// start creates the i-th training job: the definition with the static and
// tuned hyperparameters, named <tuner>-NNN-<hash> as SageMaker does.
func (t *tuner) start(i int) error {
	def := map[string]json.RawMessage{}
	for k, v := range t.req.TrainingJobDefinition {
		def[k] = v
	}
	hp := map[string]string{}
	if raw, ok := def["StaticHyperParameters"]; ok {
		_ = json.Unmarshal(raw, &hp)
	}
	for k, v := range t.trials[i] {
		hp[k] = v
	}
	delete(def, "StaticHyperParameters")
	delete(def, "DefinitionName")
	delete(def, "TuningObjective")
	delete(def, "HyperParameterRanges")
	def["HyperParameters"], _ = json.Marshal(hp)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", t.name, i)))
	name := fmt.Sprintf("%s-%03d-%s", t.name, i+1, hex.EncodeToString(sum[:4]))
	def["TrainingJobName"], _ = json.Marshal(name)
	body, _ := json.Marshal(def)
	if _, err := t.srv.create(body); err != nil {
		return err
	}
	t.mu.Lock()
	t.jobs = append(t.jobs, name)
	t.modified = time.Now()
	t.mu.Unlock()
	return nil
}

// jobStatus is a training job's status and its final metrics.
func (s *Server) jobStatus(name string) (string, map[string]metricDatum) {
	s.mu.Lock()
	j := s.jobs[name]
	s.mu.Unlock()
	if j == nil {
		return "", nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	m := make(map[string]metricDatum, len(j.metrics))
	for k, v := range j.metrics {
		m[k] = v
	}
	return j.status, m
}

type tunerJobSummary struct {
	TrainingJobName                             string
	TrainingJobArn                              string
	TuningJobName                               string
	CreationTime                                *epoch
	TrainingJobStatus                           string
	TunedHyperParameters                        map[string]string
	FinalHyperParameterTuningJobObjectiveMetric *struct {
		Type       string `json:",omitempty"`
		MetricName string
		Value      float64
	} `json:",omitempty"`
	ObjectiveStatus string `json:",omitempty"`
}

// summaries are the tuner's training jobs, with their objective values.
func (t *tuner) summaries() []tunerJobSummary {
	obj := t.req.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective
	var out []tunerJobSummary
	for i, n := range t.jobNames() {
		st, metrics := t.srv.jobStatus(n)
		s := tunerJobSummary{TrainingJobName: n, TrainingJobArn: t.srv.arn(n), TuningJobName: t.name, CreationTime: toEpoch(t.created),
			TrainingJobStatus: st, TunedHyperParameters: t.trials[i], ObjectiveStatus: "Pending"}
		if obj != nil && st == "Completed" {
			if m, ok := metrics[obj.MetricName]; ok {
				s.FinalHyperParameterTuningJobObjectiveMetric = &struct {
					Type       string `json:",omitempty"`
					MetricName string
					Value      float64
				}{obj.Type, obj.MetricName, m.Value}
				s.ObjectiveStatus = "Succeeded"
			} else {
				s.ObjectiveStatus = "Failed"
			}
		} else if st == "Failed" || st == "Stopped" {
			s.ObjectiveStatus = "Failed"
		}
		out = append(out, s)
	}
	return out
}

func (s *Server) lookupTuner(body []byte) (*tuner, error) {
	var req struct{ HyperParameterTuningJobName string }
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	ts := s.tunerSet()
	ts.mu.Lock()
	t := ts.m[req.HyperParameterTuningJobName]
	ts.mu.Unlock()
	if t == nil {
		return nil, &apiError{400, "ResourceNotFound", "Amazon SageMaker can't find a tuning job with name " + req.HyperParameterTuningJobName}
	}
	return t, nil
}

func (t *tuner) counters() (map[string]int, map[string]int, []tunerJobSummary) {
	sums := t.summaries()
	tc := map[string]int{"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
	oc := map[string]int{"Succeeded": 0, "Pending": 0, "Failed": 0}
	for _, s := range sums {
		switch s.TrainingJobStatus {
		case "Completed":
			tc["Completed"]++
		case "Failed":
			tc["NonRetryableError"]++
		case "Stopped":
			tc["Stopped"]++
		default:
			tc["InProgress"]++
		}
		oc[s.ObjectiveStatus]++
	}
	return tc, oc, sums
}

// best is the completed training job with the best objective value.
func (t *tuner) best(sums []tunerJobSummary) *tunerJobSummary {
	obj := t.req.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective
	var b *tunerJobSummary
	for i := range sums {
		s := &sums[i]
		if s.FinalHyperParameterTuningJobObjectiveMetric == nil {
			continue
		}
		v := s.FinalHyperParameterTuningJobObjectiveMetric.Value
		if b == nil || (obj.Type == "Maximize" && v > b.FinalHyperParameterTuningJobObjectiveMetric.Value) ||
			(obj.Type != "Maximize" && v < b.FinalHyperParameterTuningJobObjectiveMetric.Value) {
			b = s
		}
	}
	return b
}

func (s *Server) describeTuner(body []byte) (any, error) {
	t, err := s.lookupTuner(body)
	if err != nil {
		return nil, err
	}
	tc, oc, sums := t.counters()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]any{
		"HyperParameterTuningJobName":   t.name,
		"HyperParameterTuningJobArn":    t.arn,
		"HyperParameterTuningJobConfig": t.raw["HyperParameterTuningJobConfig"],
		"TrainingJobDefinition":         t.raw["TrainingJobDefinition"],
		"HyperParameterTuningJobStatus": t.status,
		"CreationTime":                  toEpoch(t.created),
		"LastModifiedTime":              toEpoch(t.modified),
		"TrainingJobStatusCounters":     tc,
		"ObjectiveStatusCounters":       oc,
	}
	if !t.ended.IsZero() {
		out["HyperParameterTuningEndTime"] = toEpoch(t.ended)
	}
	if t.failure != "" {
		out["FailureReason"] = t.failure
	}
	if b := t.best(sums); b != nil {
		out["BestTrainingJob"] = b
	}
	return out, nil
}

func (s *Server) listTuners(body []byte) (any, error) {
	var req struct {
		NameContains string
		StatusEquals string
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	ts := s.tunerSet()
	ts.mu.Lock()
	all := make([]*tuner, 0, len(ts.m))
	for _, t := range ts.m {
		all = append(all, t)
	}
	ts.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].created.After(all[j].created) })
	var out []map[string]any
	for _, t := range all {
		tc, oc, _ := t.counters()
		t.mu.Lock()
		st := t.status
		t.mu.Unlock()
		if (req.NameContains != "" && !strings.Contains(strings.ToLower(t.name), strings.ToLower(req.NameContains))) ||
			(req.StatusEquals != "" && st != req.StatusEquals) {
			continue
		}
		out = append(out, map[string]any{
			"HyperParameterTuningJobName": t.name, "HyperParameterTuningJobArn": t.arn, "HyperParameterTuningJobStatus": st,
			"Strategy": t.req.HyperParameterTuningJobConfig.Strategy, "CreationTime": toEpoch(t.created),
			"TrainingJobStatusCounters": tc, "ObjectiveStatusCounters": oc,
		})
	}
	return map[string]any{"HyperParameterTuningJobSummaries": out}, nil
}

func (s *Server) stopTuner(body []byte) (any, error) {
	t, err := s.lookupTuner(body)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.status != "InProgress" {
		t.mu.Unlock()
		return nil, validation("the tuning job %s is %s and cannot be stopped", t.name, t.status)
	}
	t.stop, t.status, t.modified = true, "Stopping", time.Now()
	t.mu.Unlock()
	for _, n := range t.jobNames() {
		b, _ := json.Marshal(nameRequest{TrainingJobName: n})
		_, _ = s.stopJob(b)
	}
	return struct{}{}, nil
}

func (s *Server) listTunerJobs(body []byte) (any, error) {
	t, err := s.lookupTuner(body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"TrainingJobSummaries": t.summaries()}, nil
}
