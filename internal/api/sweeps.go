package api

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// SweepService is what the API needs of the sweep service (*sweep.Service).
type SweepService interface {
	Create(ctx context.Context, r sweep.Request) (*sweep.View, error)
	Get(ctx context.Context, id string) (*sweep.View, error)
	List(ctx context.Context, limit int) ([]*sweep.View, error)
	Cancel(ctx context.Context, id string) (*sweep.View, error)
}

// resumer is a JobService that can resume jobs (*jobs.Service through FromJobs).
type resumer interface {
	Resume(ctx context.Context, id string) (*store.Job, bool, error)
}

// SetSweeps gives a built server its sweep service (serve makes it after the handler).
func (s *Server) SetSweeps(sw SweepService) { s.opt.Sweeps = sw }

func (s *Server) registerSweeps() {
	p := Prefix
	s.handle("POST", p+"/sweeps", "bearer", true, s.createSweep)
	s.handle("GET", p+"/sweeps", "bearer", true, s.listSweeps)
	s.handle("GET", p+"/sweeps/{id}", "bearer", true, s.getSweep)
	s.handle("POST", p+"/sweeps/{id}/cancel", "bearer", true, s.cancelSweep)
	s.handle("POST", p+"/jobs/{id}/resume", "bearer", true, s.resumeJob)
}

// sweepRequest is the body of POST /sweeps.
type sweepRequest struct {
	Name        string              `json:"name"`
	Spec        spec.Spec           `json:"spec"`
	Environment string              `json:"environment"`
	Grid        map[string][]string `json:"grid"`
	Random      int                 `json:"random"`
	Ranges      map[string]string   `json:"ranges"`
	Objective   string              `json:"objective"`
	MaxParallel int                 `json:"max_parallel"`
	Engine      string              `json:"engine"`
	Seed        uint64              `json:"seed"`
}

// apiSweepKey reports whether a caller of the API may sweep this spec field:
// training settings only. Paths, data, images, roles and environment
// variables stay what the spec says (and is checked for) in every trial.
func apiSweepKey(k string) bool {
	if rest, ok := strings.CutPrefix(k, "hyperparameters."); ok {
		return rest != ""
	}
	switch k {
	case "instance_type", "instance_count", "volume_size_gb", "max_runtime_seconds":
		return true
	}
	return false
}

func (s *Server) sweepsOff(w http.ResponseWriter) bool {
	if s.opt.Sweeps == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this server runs no sweep scheduler; start it with 'sagetrain serve' on a SQLite or PostgreSQL store")
		return true
	}
	return false
}

func (s *Server) createSweep(w http.ResponseWriter, r *http.Request) {
	if s.sweepsOff(w) {
		return
	}
	var req sweepRequest
	if code, msg := decodeJSON(r, &req); code != 0 {
		writeError(w, code, codeName(code), msg)
		return
	}
	sp := req.Spec
	if req.Environment != "" {
		if sp.Backend != "" && sp.Backend != req.Environment {
			writeError(w, http.StatusUnprocessableEntity, "invalid_configuration", "environment "+strconv.Quote(req.Environment)+" and backend "+strconv.Quote(sp.Backend)+" disagree; give only one of them")
			return
		}
		sp.Backend = req.Environment
	}
	if msg := checkSubmit(&sp); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_configuration", msg)
		return
	}
	if sp.ResumeFrom != "" || sp.ResumedFromJob != "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_configuration", "resume_from is set by POST /jobs/{id}/resume only; leave it out of the spec")
		return
	}
	sr := sweep.Request{Name: req.Name, Spec: &sp, Random: req.Random, MaxParallel: req.MaxParallel, Engine: req.Engine, Seed: req.Seed,
		Check: s.trialCheck()}
	var err error
	if sr.Objective, err = sweep.ParseObjective(req.Objective); err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	keys := make([]string, 0, len(req.Grid)+len(req.Ranges))
	for k := range req.Grid {
		keys = append(keys, k)
	}
	for k := range req.Ranges {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !apiSweepKey(k) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_configuration",
				"sweep key "+strconv.Quote(k)+" cannot be swept through the API; sweep hyperparameters.NAME, instance_type, instance_count, volume_size_gb or max_runtime_seconds")
			return
		}
		if vals, ok := req.Grid[k]; ok {
			sr.Grid = append(sr.Grid, sweep.Axis{Key: k, Values: vals})
		}
		if rg, ok := req.Ranges[k]; ok {
			parsed, err := sweep.ParseRange(k + "=" + rg)
			if err != nil {
				writeErr(w, r, s.log, err)
				return
			}
			sr.Ranges = append(sr.Ranges, parsed)
		}
	}
	v, err := s.opt.Sweeps.Create(r.Context(), sr)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	// The scheduler (serve's reconciler) starts the trials on its next pass.
	w.Header().Set("Location", Prefix+"/sweeps/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) listSweeps(w http.ResponseWriter, r *http.Request) {
	if s.sweepsOff(w) {
		return
	}
	limit := 0
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > store.MaxListLimit {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	vs, err := s.opt.Sweeps.List(r.Context(), limit)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	if vs == nil {
		vs = []*sweep.View{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sweeps": vs, "count": len(vs)})
}

func (s *Server) getSweep(w http.ResponseWriter, r *http.Request) {
	if s.sweepsOff(w) {
		return
	}
	v, err := s.opt.Sweeps.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) cancelSweep(w http.ResponseWriter, r *http.Request) {
	if s.sweepsOff(w) {
		return
	}
	v, err := s.opt.Sweeps.Cancel(r.Context(), r.PathValue("id"))
	s.lists.clear()
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) resumeJob(w http.ResponseWriter, r *http.Request) {
	rs, ok := s.opt.Jobs.(resumer)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this server's job service cannot resume jobs")
		return
	}
	j, created, err := rs.Resume(r.Context(), r.PathValue("id"))
	s.lists.clear()
	if err != nil && j == nil {
		writeErr(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", Prefix+"/jobs/"+j.ID)
	code := http.StatusCreated
	if !created {
		code = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, code, NewJobView(j, true))
}

// trialCheck vets each trial's spec as POST /jobs vets a spec: its server
// paths must lie in a data root, its network and environment within the
// job limits.
func (s *Server) trialCheck() func(*spec.Spec) error { return s.CheckTrialSpec }

// CheckTrialSpec is submitJob's server checks for one sweep trial's spec.
func (s *Server) CheckTrialSpec(sp *spec.Spec) error {
	if e := s.checkSpecPaths(sp); e != nil {
		return errs.Configuration(e.msg, "name a folder under serve --data-root, or use s3://", nil)
	}
	if code, msg := s.checkJobLimits(sp); code != 0 {
		return errs.Configuration(msg, "lower the hyperparameters the message names", nil)
	}
	return nil
}
