package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// Sweep statuses. A trial that never got a slot is "waiting".
const (
	StatusRunning   = "running"
	StatusStopping  = "stopping"
	StatusStopped   = "stopped"
	StatusCompleted = "completed"
	StatusFailed    = "failed"

	TrialWaiting = "waiting"
)

// doc is what store.Sweep.Doc holds: the definition and the scheduler state.
type doc struct {
	Spec        json.RawMessage `json:"spec"` // the base spec, defaults applied
	Grid        []Axis          `json:"grid,omitempty"`
	Random      int             `json:"random,omitempty"`
	Ranges      []Range         `json:"ranges,omitempty"`
	Seed        uint64          `json:"seed,omitempty"`
	Objective   Objective       `json:"objective"`
	MaxParallel int             `json:"max_parallel"`
	Engine      string          `json:"engine"`
	Backend     string          `json:"backend"`
	Trials      []trial         `json:"trials"`
	Message     string          `json:"message,omitempty"`
	// Tuner is the SageMaker tuning job's name (engine sagemaker-tuner).
	Tuner string `json:"tuner,omitempty"`
}

// trial is one point of the sweep. Key is set when the trial is given a
// slot (written before the job is submitted, under the sweep's version
// check, so two processes never fill one slot twice); JobID once the job
// exists. Submitting again with Key returns the same job.
type trial struct {
	Ordinal        int               `json:"ordinal"`
	Params         map[string]string `json:"params"`
	Key            string            `json:"key,omitempty"`
	JobID          string            `json:"job_id,omitempty"`
	Status         string            `json:"status"`
	ObjectiveValue *float64          `json:"objective_value,omitempty"`
	Note           string            `json:"note,omitempty"`
}

// Service runs sweeps on a job service.
type Service struct {
	jobs *jobs.Service
	st   store.SweepStore
	// OnSubmit, when set, is told of every trial job this process submits.
	OnSubmit func(sweepID string, j *store.Job)
}

// New returns a sweep service on js; its store must keep sweeps.
func New(js *jobs.Service) (*Service, error) {
	ss, ok := js.Store().(store.SweepStore)
	if !ok {
		return nil, errs.Configuration("this job store cannot keep sweeps", "use the SQLite or PostgreSQL store", nil)
	}
	return &Service{jobs: js, st: ss}, nil
}

// Create validates the request, expands its trials, checks every trial's
// spec, and records the sweep. Its trials start with the next Step.
func (s *Service) Create(ctx context.Context, r Request) (*View, error) {
	if r.Spec == nil {
		return nil, errs.Configuration("no job spec for the sweep", "pass the spec every trial starts from", nil)
	}
	if err := r.Objective.check(); err != nil {
		return nil, err
	}
	if r.MaxParallel == 0 {
		r.MaxParallel = 1
	}
	if r.MaxParallel < 1 || r.MaxParallel > MaxParallelCap {
		return nil, errs.Configuration(fmt.Sprintf("max parallel %d is out of range", r.MaxParallel), fmt.Sprintf("use 1 to %d", MaxParallelCap), nil)
	}
	if r.Engine == "" {
		r.Engine = EngineJobs
	}
	if r.Engine != EngineJobs && r.Engine != EngineTuner {
		return nil, errs.Configuration(fmt.Sprintf("sweep engine %q is unknown", r.Engine), "use jobs (the default) or sagemaker-tuner", nil)
	}
	r.Spec.ApplyDefaults()
	if err := r.Spec.Validate(); err != nil {
		return nil, err
	}
	if r.Engine == EngineTuner && r.Spec.Backend != spec.BackendSageMaker {
		return nil, errs.Configuration("the sagemaker-tuner engine runs on SageMaker, and the spec's backend is "+r.Spec.Backend,
			"set backend: sagemaker (or --backend sagemaker), or drop --engine to sweep with sagetrain's own scheduler", nil)
	}
	if r.Name == "" {
		r.Name = r.Spec.JobName
	}
	points, err := expand(&r)
	if err != nil {
		return nil, err
	}
	base, err := json.Marshal(r.Spec)
	if err != nil {
		return nil, errs.Configuration("cannot encode the sweep's spec", "check the spec", err)
	}
	d := doc{Spec: base, Grid: r.Grid, Random: r.Random, Ranges: r.Ranges, Seed: r.Seed, Objective: r.Objective,
		MaxParallel: r.MaxParallel, Engine: r.Engine, Backend: r.Spec.Backend}
	if r.Engine == EngineTuner {
		// SageMaker picks the trials; they appear as its training jobs run.
		if err := checkTuner(&r); err != nil {
			return nil, err
		}
		if r.Check != nil {
			if err := r.Check(r.Spec); err != nil {
				return nil, err
			}
		}
		points = nil
	}
	for i, p := range points {
		sp, err := trialSpec(base, r.Name, i+1, p)
		if err != nil {
			return nil, fmt.Errorf("trial %d (%s): %w", i+1, paramString(p), err)
		}
		if err := sp.Validate(); err != nil {
			return nil, fmt.Errorf("trial %d (%s): %w", i+1, paramString(p), err)
		}
		if r.Check != nil {
			if err := r.Check(sp); err != nil {
				return nil, fmt.Errorf("trial %d (%s): %w", i+1, paramString(p), err)
			}
		}
		d.Trials = append(d.Trials, trial{Ordinal: i + 1, Params: p, Status: TrialWaiting})
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	sw := &store.Sweep{Name: r.Name, Status: StatusRunning, Doc: raw}
	if err := s.st.CreateSweep(ctx, sw); err != nil {
		return nil, err
	}
	return view(sw, &d), nil
}

// Get returns a sweep's view as recorded (Step brings it up to date).
func (s *Service) Get(ctx context.Context, id string) (*View, error) {
	sw, d, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return view(sw, d), nil
}

// List returns the newest sweeps.
func (s *Service) List(ctx context.Context, limit int) ([]*View, error) {
	sws, err := s.st.ListSweeps(ctx, false, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*View, 0, len(sws))
	for _, sw := range sws {
		var d doc
		if err := json.Unmarshal(sw.Doc, &d); err != nil {
			continue
		}
		out = append(out, view(sw, &d))
	}
	return out, nil
}

// IsSweep reports whether id names a sweep (for commands that take a job or a sweep).
func (s *Service) IsSweep(ctx context.Context, id string) bool {
	_, err := s.st.GetSweep(ctx, id)
	return err == nil
}

func (s *Service) load(ctx context.Context, id string) (*store.Sweep, *doc, error) {
	sw, err := s.st.GetSweep(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var d doc
	if err := json.Unmarshal(sw.Doc, &d); err != nil {
		return nil, nil, errs.Job("the stored state of sweep "+id+" is unreadable", "start the sweep again", err)
	}
	return sw, &d, nil
}

// Cancel records a cancel request and stops every live trial at once; no
// waiting trial starts any more. errs.ErrConflict if the sweep has ended.
func (s *Service) Cancel(ctx context.Context, id string) (*View, error) {
	for attempt := 0; ; attempt++ {
		sw, d, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if store.SweepTerminal(sw.Status) {
			return nil, &errs.Error{Family: errs.ErrConflict, Msg: fmt.Sprintf("sweep %s has already ended (%s)", sw.ID, sw.Status),
				Fix: "only running sweeps can be cancelled"}
		}
		if !sw.CancelRequested {
			sw.CancelRequested, sw.Status = true, StatusStopping
			if err := s.save(ctx, sw, d); err != nil {
				if errors.Is(err, errs.ErrConflict) && attempt < 20 {
					continue
				}
				return nil, err
			}
		}
		if err := s.advance(ctx, sw.ID); err != nil && !errors.Is(err, errs.ErrConflict) {
			return nil, err
		}
		return s.Get(ctx, id)
	}
}

func (s *Service) save(ctx context.Context, sw *store.Sweep, d *doc) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	sw.Doc = raw
	return s.st.UpdateSweep(ctx, sw)
}

// Step advances every live sweep once: it records its trials' progress,
// fills free slots, passes a cancel on, and ends sweeps whose trials all
// ended. Sweeps another process changed meanwhile are left to the next Step.
func (s *Service) Step(ctx context.Context) error {
	sws, err := s.st.ListSweeps(ctx, true, store.MaxListLimit)
	if err != nil {
		return err
	}
	var problems []error
	for _, sw := range sws {
		if err := s.advance(ctx, sw.ID); err != nil && !errors.Is(err, errs.ErrConflict) {
			problems = append(problems, fmt.Errorf("sweep %s: %w", sw.ID, err))
		}
	}
	return errors.Join(problems...)
}

// StepOne advances one sweep (see Step).
func (s *Service) StepOne(ctx context.Context, id string) error {
	err := s.advance(ctx, id)
	if errors.Is(err, errs.ErrConflict) {
		return nil
	}
	return err
}

// advance is one scheduler round of one sweep. Order matters for crash
// safety: a slot is reserved (Key written) before its job is submitted, and
// a reserved slot without a job is submitted again with the same key.
func (s *Service) advance(ctx context.Context, id string) error {
	sw, d, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if store.SweepTerminal(sw.Status) {
		return nil
	}
	if d.Engine == EngineTuner {
		return s.advanceTuner(ctx, sw, d)
	}
	changed := false
	// 1. Trials in flight: their jobs' status and objective values.
	for i := range d.Trials {
		t := &d.Trials[i]
		if t.Key == "" {
			continue
		}
		if t.JobID == "" {
			// Reserved, and maybe submitted by a process that died before
			// recording the job: the key finds it, or starts it now (a
			// cancel below then stops it), so no job goes unfollowed.
			j, err := s.submit(ctx, sw, d, t)
			if err != nil {
				return err
			}
			t.JobID, t.Status, changed = j.ID, string(j.Status), true
		}
		j, err := s.jobs.Get(ctx, t.JobID)
		if err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				t.Status, t.Note, changed = StatusFailed, "its job is gone from the store", true
				continue
			}
			return err
		}
		if sw.CancelRequested && !j.Status.Terminal() && !j.CancelRequested {
			if _, err := s.jobs.Cancel(ctx, j.ID); err != nil && !errors.Is(err, errs.ErrConflict) {
				return err
			}
		}
		if string(j.Status) != t.Status {
			t.Status, changed = string(j.Status), true
		}
		if j.Status == store.StatusCompleted && t.ObjectiveValue == nil && t.Note == "" {
			v, note := objectiveValue(j, d.Objective)
			t.ObjectiveValue, t.Note, changed = v, note, true
		}
	}
	// 2. Free slots go to waiting trials, in order (unless cancelled).
	if !sw.CancelRequested {
		live := 0
		for _, t := range d.Trials {
			if t.Key != "" && !jobTerminal(t.Status) {
				live++
			}
		}
		var reserved []int
		for i := range d.Trials {
			if live >= d.MaxParallel {
				break
			}
			t := &d.Trials[i]
			if t.Key == "" && t.Status == TrialWaiting {
				t.Key = "sweep-" + sw.ID + "-" + strconv.Itoa(t.Ordinal)
				t.Status = string(store.StatusPending)
				reserved = append(reserved, i)
				live++
			}
		}
		if len(reserved) > 0 {
			if err := s.save(ctx, sw, d); err != nil {
				return err // a conflict: another process holds this round
			}
			changed = false
			for _, i := range reserved {
				t := &d.Trials[i]
				j, err := s.submit(ctx, sw, d, t)
				if err != nil {
					_ = s.save(ctx, sw, d)
					return err
				}
				t.JobID, t.Status, changed = j.ID, string(j.Status), true
			}
		}
	} else {
		for i := range d.Trials {
			if t := &d.Trials[i]; t.Key == "" && t.Status == TrialWaiting {
				t.Status, changed = StatusStopped, true
			}
		}
	}
	// 3. The end: every trial has ended.
	if st := sweepStatus(sw, d); st != sw.Status {
		sw.Status, changed = st, true
		d.Message = endMessage(d, st)
	}
	if !changed {
		return nil
	}
	return s.save(ctx, sw, d)
}

// submit starts (or, with the same key, finds) a trial's job and marks it
// as the sweep's.
func (s *Service) submit(ctx context.Context, sw *store.Sweep, d *doc, t *trial) (*store.Job, error) {
	sp, err := trialSpec(d.Spec, sw.Name, t.Ordinal, t.Params)
	if err != nil {
		return nil, err
	}
	j, created, err := s.jobs.Submit(ctx, sp, jobs.SubmitOptions{IdempotencyKey: t.Key})
	if j == nil {
		if err == nil {
			err = errors.New("no job")
		}
		return nil, fmt.Errorf("trial %d: %w", t.Ordinal, err)
	}
	// A launch error leaves the job recorded (pending or failed): the
	// trial follows it like any other.
	if err := s.st.SetJobSweep(ctx, j.ID, sw.ID); err != nil {
		return nil, err
	}
	if created && s.OnSubmit != nil {
		s.OnSubmit(sw.ID, j)
	}
	return j, nil
}

func jobTerminal(status string) bool {
	return store.Status(status).Terminal()
}

// sweepStatus is what the trials say of the sweep.
func sweepStatus(sw *store.Sweep, d *doc) string {
	completed := 0
	for _, t := range d.Trials {
		if !jobTerminal(t.Status) {
			if sw.CancelRequested {
				return StatusStopping
			}
			return StatusRunning
		}
		if t.Status == string(store.StatusCompleted) {
			completed++
		}
	}
	switch {
	case sw.CancelRequested:
		return StatusStopped
	case completed == 0:
		return StatusFailed
	}
	return StatusCompleted
}

func endMessage(d *doc, st string) string {
	switch st {
	case StatusStopped:
		return "cancelled"
	case StatusFailed:
		return "no trial completed"
	case StatusCompleted:
		n := 0
		for _, t := range d.Trials {
			if t.Status == string(store.StatusCompleted) {
				n++
			}
		}
		return fmt.Sprintf("%d of %d trials completed", n, len(d.Trials))
	}
	return d.Message
}

// Wait advances the sweep (and, through reconcile, its jobs) every interval
// until it ends or ctx does; progress is called after each round.
func (s *Service) Wait(ctx context.Context, id string, every time.Duration, reconcile func(context.Context) error, progress func(*View)) (*View, error) {
	for {
		if reconcile != nil {
			_ = reconcile(ctx) // a failed round is retried by the next one
		}
		if err := s.StepOne(ctx, id); err != nil && ctx.Err() == nil {
			return nil, err
		}
		v, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(v)
		}
		if store.SweepTerminal(v.Status) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(every):
		}
	}
}
