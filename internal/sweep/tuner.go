package sweep

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// tunerAPI is the SageMaker backend's tuning job calls.
type tunerAPI interface {
	CreateTuner(ctx context.Context, in *sm.CreateHyperParameterTuningJobInput) error
	DescribeTuner(ctx context.Context, name string) (status, failure string, err error)
	TunerJobs(ctx context.Context, name string) ([]backend.TunerJob, error)
	StopTuner(ctx context.Context, name string) error
}

func (s *Service) tuner() (tunerAPI, error) {
	if t, ok := s.jobs.Backend(spec.BackendSageMaker).(tunerAPI); ok {
		return t, nil
	}
	return nil, errs.Configuration("the sagemaker-tuner engine needs the SageMaker backend, which is not configured in this process",
		"configure AWS (sagetrain setup, AWS_PROFILE or AWS_REGION)", nil)
}

// checkTuner refuses what a tuning job cannot do, before anything is recorded.
func checkTuner(r *Request) error {
	for _, k := range axisKeys(r) {
		if !strings.HasPrefix(k, "hyperparameters.") {
			return errs.Configuration("the sagemaker-tuner engine tunes hyperparameters only, not "+k,
				"sweep hyperparameters.NAME keys, or drop --engine to sweep any spec field with sagetrain's scheduler", nil)
		}
	}
	if r.Spec.DatasetFolder != "" {
		return errs.Configuration("a tuning job reads its data from S3, and the spec has a local dataset_folder",
			"run 'sagetrain upload' and set input_data_s3_uri (and s3:// channels)", nil)
	}
	for n, p := range r.Spec.Channels {
		if !strings.HasPrefix(p, "s3://") {
			return errs.Configuration("channels."+n+" is not an s3:// URI; a tuning job reads its data from S3", "upload it and give its s3:// URI", nil)
		}
	}
	if len(r.Grid) == 0 && r.Random == 0 {
		return errs.Configuration("the sweep has no parameters", "add --grid or --random N --range", nil)
	}
	return nil
}

func axisKeys(r *Request) []string {
	var ks []string
	for _, a := range r.Grid {
		ks = append(ks, a.Key)
	}
	for _, rg := range r.Ranges {
		ks = append(ks, rg.Key)
	}
	return ks
}

// tuningFor is the sweep's definition as SageMaker's: grid axes become
// categorical ranges (the Grid strategy when there is no --random), --range
// becomes continuous or integer ranges with the Bayesian strategy.
func tuningFor(d *doc) spec.Tuning {
	tn := spec.Tuning{Categorical: map[string][]string{}, Metric: d.Objective.Metric, Maximize: d.Objective.Goal == "max",
		Strategy: "Grid", MaxParallel: int32(d.MaxParallel)}
	for _, a := range d.Grid {
		tn.Categorical[strings.TrimPrefix(a.Key, "hyperparameters.")] = a.Values
	}
	if d.Random > 0 {
		tn.Strategy, tn.MaxJobs = "Bayesian", int32(d.Random)
	}
	for _, rg := range d.Ranges {
		tr := spec.TuningRange{Name: strings.TrimPrefix(rg.Key, "hyperparameters."), Lo: rg.Lo, Hi: rg.Hi, Log: rg.Log, Integer: rg.Int}
		if rg.Int {
			tn.Integer = append(tn.Integer, tr)
		} else {
			tn.Continuous = append(tn.Continuous, tr)
		}
	}
	return tn
}

// advanceTuner follows a sweep run as one SageMaker tuning job: it creates
// the tuning job (its name is recorded first, so a crash never makes two),
// adopts each of its training jobs as a trial job (followed like any job,
// report included), passes a cancel on, and ends with the tuner.
func (s *Service) advanceTuner(ctx context.Context, sw *store.Sweep, d *doc) error {
	api, err := s.tuner()
	if err != nil {
		return err
	}
	if d.Tuner == "" {
		d.Tuner = spec.TunerName(sw.Name, strings.ToLower(sw.ID[len(sw.ID)-8:]))
		if err := s.save(ctx, sw, d); err != nil {
			return err
		}
	}
	status, failure, err := api.DescribeTuner(ctx, d.Tuner)
	if errors.Is(err, errs.ErrNotFound) {
		if sw.CancelRequested {
			sw.Status, d.Message = StatusStopped, "cancelled before the tuning job was created"
			return s.save(ctx, sw, d)
		}
		in, err := s.tunerRequest(d)
		if err != nil {
			return err
		}
		if err := api.CreateTuner(ctx, in); err != nil {
			return err
		}
		d.Message = "tuning job " + d.Tuner + " created"
		return s.save(ctx, sw, d)
	}
	if err != nil {
		return err
	}
	if sw.CancelRequested && (status == "InProgress") {
		if err := api.StopTuner(ctx, d.Tuner); err != nil {
			return err
		}
	}
	tjs, err := api.TunerJobs(ctx, d.Tuner)
	if err != nil {
		return err
	}
	known := map[string]int{}
	for i, t := range d.Trials {
		known[t.Key] = i
	}
	for _, tj := range tjs {
		i, ok := known[tj.Name]
		if !ok {
			j, _, err := s.jobs.Attach(ctx, tj.Name)
			if err != nil {
				return err
			}
			if err := s.st.SetJobSweep(ctx, j.ID, sw.ID); err != nil {
				return err
			}
			params := map[string]string{}
			for k, v := range tj.Params {
				params["hyperparameters."+k] = v
			}
			d.Trials = append(d.Trials, trial{Ordinal: len(d.Trials) + 1, Params: params, Key: tj.Name, JobID: j.ID, Status: string(j.Status)})
			i = len(d.Trials) - 1
		}
		t := &d.Trials[i]
		j, err := s.jobs.Get(ctx, t.JobID)
		if err != nil {
			return err
		}
		t.Status = string(j.Status)
		if j.Status == store.StatusCompleted && t.ObjectiveValue == nil {
			v, note := objectiveValue(j, d.Objective)
			if v == nil && tj.Objective != nil {
				v, note = tj.Objective, ""
			}
			t.ObjectiveValue, t.Note = v, note
		}
	}
	allEnded := true
	for _, t := range d.Trials {
		allEnded = allEnded && jobTerminal(t.Status)
	}
	switch {
	case status == "InProgress" || status == "Stopping" || !allEnded:
		if sw.CancelRequested {
			sw.Status = StatusStopping
		}
		d.Message = fmt.Sprintf("tuning job %s: %s", d.Tuner, status)
	case status == "Completed":
		sw.Status = sweepStatus(sw, d)
		d.Message = endMessage(d, sw.Status)
	case status == "Stopped":
		sw.Status, d.Message = StatusStopped, "tuning job "+d.Tuner+" stopped"
	default:
		sw.Status, d.Message = StatusFailed, "tuning job "+d.Tuner+" "+strings.ToLower(status)+": "+failure
	}
	return s.save(ctx, sw, d)
}

func (s *Service) tunerRequest(d *doc) (*sm.CreateHyperParameterTuningJobInput, error) {
	sp, err := trialSpec(d.Spec, "tuner", 0, nil)
	if err != nil {
		return nil, err
	}
	channels := map[string]string{"training": sp.InputDataS3URI}
	for k, v := range sp.Channels {
		channels[k] = v
	}
	return sp.CreateHyperParameterTuningJobInput(d.Tuner, channels, tuningFor(d))
}
