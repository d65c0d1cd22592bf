package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

func (s *Server) registerAPI() {
	p := Prefix
	s.handle("POST", p+"/jobs", "bearer", true, s.submitJob)
	s.handle("GET", p+"/jobs", "bearer", true, s.listJobs)
	s.handle("GET", p+"/jobs/{id}", "bearer", true, s.getJob)
	s.handle("POST", p+"/jobs/{id}/cancel", "bearer", true, s.cancelJob)
	s.handle("GET", p+"/jobs/{id}/reports", "bearer", true, s.getReport)
	s.handle("GET", p+"/jobs/{id}/logs", "bearer", true, s.getLogs)
	s.handle("GET", p+"/jobs/{id}/plots/{name}", "bearer", true, s.getPlot)
	s.handle("GET", p+"/environments/status", "bearer", true, s.envStatus)
	s.handle("POST", p+"/sagemaker/setup", "bearer", true, s.sagemakerSetup)
	s.registerEvents()
	s.handle("GET", "/api/v1/openapi.json", "none", true, serveOpenAPI)
	s.handle("GET", "/healthz", "none", true, s.healthz)
	s.handle("GET", "/readyz", "none", true, s.readyz)
	s.handle("GET", "/metrics", "bearer", true, s.metrics)
	s.registerSweeps()
	// Anything else under the API prefix is a JSON 404, not the dashboard's.
	s.handle("", "/api/", "none", false, s.apiNotFound)
}

// JobView is a job as the API shows it: the fields the application reads
// (id, job_name, environment, status, start_timestamp, end_timestamp,
// sagemaker_job_arn) and sagetrain's own beside them.
type JobView struct {
	ID              string     `json:"id"`
	JobName         string     `json:"job_name"`
	Environment     string     `json:"environment"`
	Status          string     `json:"status"`
	StartTimestamp  time.Time  `json:"start_timestamp"` // when the job was submitted
	EndTimestamp    *time.Time `json:"end_timestamp"`   // when it reached a terminal status
	SageMakerJobARN *string    `json:"sagemaker_job_arn"`

	RemoteName        string          `json:"remote_name,omitempty"`
	RemoteARN         string          `json:"remote_arn,omitempty"`
	SecondaryStatus   string          `json:"secondary_status,omitempty"`
	StatusMessage     string          `json:"status_message,omitempty"`
	FailureReason     string          `json:"failure_reason,omitempty"`
	CancelRequested   bool            `json:"cancel_requested"`
	TrainingStartedAt *time.Time      `json:"training_started_at,omitempty"`
	UpdatedAt         time.Time       `json:"updated_at"`
	BillableSeconds   int64           `json:"billable_seconds"`
	ModelArtifactURI  string          `json:"model_artifact_uri,omitempty"`
	OutputArtifactURI string          `json:"output_artifact_uri,omitempty"`
	Metrics           json.RawMessage `json:"metrics,omitempty"`
	Spec              json.RawMessage `json:"spec,omitempty"`
	Events            []EventView     `json:"events,omitempty"`
	Progress          json.RawMessage `json:"progress,omitempty"` // a live job's last progress record
	Version           int64           `json:"version"`
	// CostUSD is estimated while the job runs and final once it ended
	// (Cost says which, the price and its source); null for local jobs,
	// whose Cost gives CPU-seconds.
	CostUSD *float64   `json:"cost_usd"`
	Cost    *cost.Cost `json:"cost,omitempty"`
}

// EventView is one entry of a job's status history.
type EventView struct {
	At              time.Time `json:"at"`
	Status          string    `json:"status"`
	SecondaryStatus string    `json:"secondary_status,omitempty"`
	Message         string    `json:"message,omitempty"`
}

// NewJobView converts a stored job; full adds the spec and the metrics.
func NewJobView(j *store.Job, full bool) JobView {
	v := JobView{
		ID: j.ID, JobName: j.Name, Environment: j.Backend, Status: string(j.Status),
		StartTimestamp: j.CreatedAt, EndTimestamp: j.EndedAt,
		RemoteName: j.RemoteName, RemoteARN: j.RemoteARN, SecondaryStatus: j.SecondaryStatus,
		StatusMessage: j.StatusMessage, FailureReason: j.FailureReason, CancelRequested: j.CancelRequested,
		TrainingStartedAt: j.StartedAt, UpdatedAt: j.UpdatedAt, BillableSeconds: j.BillableSeconds,
		ModelArtifactURI: j.ModelArtifactURI, OutputArtifactURI: j.OutputArtifactURI, Version: j.Version,
	}
	if j.Backend == "sagemaker" && j.RemoteARN != "" {
		arn := j.RemoteARN
		v.SageMakerJobARN = &arn
	}
	if c := cost.For(context.Background(), j); c != nil {
		v.Cost, v.CostUSD = c, c.USD
	}
	// The list leaves the heavy parts out: pages stay small and fast.
	if full {
		v.Metrics = reportMetrics(j.Report)
		if len(j.Spec) > 0 && json.Valid(j.Spec) {
			v.Spec = j.Spec
		}
	}
	return v
}

func eventViews(evs []store.Event) []EventView {
	out := make([]EventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, EventView{At: e.At, Status: string(e.Status), SecondaryStatus: e.SecondaryStatus, Message: e.Message})
	}
	return out
}

// submitRequest is a job spec; "environment" is accepted as the
// application's name for "backend".
type submitRequest struct {
	spec.Spec
	originalTraining
	Environment string `json:"environment,omitempty"`
}

func (s *Server) submitJob(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
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
	if msg := req.originalTraining.apply(&sp); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_configuration", msg)
		return
	}
	if msg := checkSubmit(&sp); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_configuration", msg)
		return
	}
	if e := s.checkSpecPaths(&sp); e != nil {
		writePathError(w, e)
		return
	}
	if code, msg := s.checkJobLimits(&sp); code != 0 {
		writeError(w, code, "invalid_configuration", msg)
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > 255 {
		writeError(w, http.StatusBadRequest, "bad_request", "Idempotency-Key is longer than 255 characters; use a UUID or similar")
		return
	}
	job, created, err := s.opt.Jobs.Submit(r.Context(), &sp, key)
	s.lists.clear()
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", Prefix+"/jobs/"+job.ID)
	code := http.StatusCreated
	if !created {
		code = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, code, NewJobView(job, true))
}

// checkSubmit catches what needs no backend to check; the job service
// validates the rest.
func checkSubmit(sp *spec.Spec) string {
	if strings.TrimSpace(sp.JobName) == "" {
		return "job_name is required; give the job a name (letters, digits and hyphens, up to 63 characters)"
	}
	if sp.ResumeFrom != "" || sp.ResumedFromJob != "" {
		return "resume_from is set by POST /jobs/{id}/resume only; leave it out of the spec"
	}
	switch sp.Backend {
	case "", "local", "sagemaker":
	default:
		return "environment/backend " + strconv.Quote(sp.Backend) + " is unknown; use local or sagemaker"
	}
	return ""
}

func codeName(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusBadRequest:
		return "bad_request"
	default:
		return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
}

// ListResponse is the answer of GET /jobs.
type ListResponse struct {
	Jobs       []JobView `json:"jobs"`
	Count      int       `json:"count"`
	NextCursor string    `json:"next_cursor"`
	// Sweeps are listed as one row each in place of their trials (list_sweeps.go).
	Sweeps []*sweep.View `json:"sweeps,omitempty"`
}

// parseListFilter reads environment, status (comma-separated or repeated),
// name, limit and cursor.
func parseListFilter(q map[string][]string) (store.ListFilter, string) {
	var f store.ListFilter
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	switch env := get("environment"); env {
	case "", "local", "sagemaker":
		f.Backend = env
	default:
		return f, "environment " + strconv.Quote(env) + " is unknown; use local or sagemaker"
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if st == "" {
				continue
			}
			if !store.Status(st).Valid() {
				return f, "status " + strconv.Quote(st) + " is unknown; use one of pending, preparing, running, stopping, stopped, completed, failed"
			}
			f.Statuses = append(f.Statuses, store.Status(st))
		}
	}
	f.NameContains = get("name")
	if l := get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return f, "limit " + strconv.Quote(l) + " is not a number from 1 to 1000"
		}
		f.Limit = n
	}
	f.Cursor = get("cursor")
	return f, parseTrialsFilter(q, &f) // list_sweeps.go
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	f, msg := parseListFilter(r.URL.Query())
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	f.Summary = true // the job views of a list carry neither spec nor metrics
	load := func(ctx context.Context) ([]byte, error) {
		jobs, next, err := s.opt.Jobs.List(ctx, f)
		if err != nil {
			return nil, err
		}
		resp := ListResponse{Jobs: make([]JobView, 0, len(jobs)), NextCursor: next}
		for _, j := range jobs {
			resp.Jobs = append(resp.Jobs, NewJobView(j, false))
		}
		resp.Count = len(resp.Jobs)
		resp.Sweeps = s.sweepRows(ctx, f)
		return encodeJSON(resp)
	}
	var body []byte
	var err error
	if s.lists == nil {
		body, err = load(r.Context())
	} else {
		// Shared by every request waiting on this page, so not cut short
		// when the first of them goes away.
		fresh := wantsFresh(r)
		var hit bool
		body, hit, err = s.lists.get(r.URL.RawQuery, !fresh, func() ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
			defer cancel()
			return load(ctx)
		})
		switch {
		case fresh:
			s.opt.Metrics.observeListCache("bypass")
		case hit:
			s.opt.Metrics.observeListCache("hit")
		default:
			s.opt.Metrics.observeListCache("miss")
		}
	}
	if err != nil {
		if errors.Is(err, errs.ErrConfiguration) {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		writeErr(w, r, s.log, err)
		return
	}
	writeBody(w, http.StatusOK, body)
}

// wantsFresh is true when the client asks to bypass caches
// (Cache-Control: no-cache or no-store).
func wantsFresh(r *http.Request) bool {
	cc := strings.ToLower(r.Header.Get("Cache-Control"))
	return strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store")
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, evs, err := s.jobWithEvents(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	v := NewJobView(j, true)
	v.Events = eventViews(evs)
	v.Progress = s.liveProgress(r.Context(), j)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) jobWithEvents(ctx context.Context, id string) (*store.Job, []store.Event, error) {
	// Straight from the store when we have it: one round trip for both.
	if s.opt.Store != nil {
		return s.opt.Store.GetWithEvents(ctx, id)
	}
	j, err := s.opt.Jobs.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.opt.Jobs.Events(ctx, j.ID)
	if err != nil {
		return nil, nil, err
	}
	return j, evs, nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.opt.Jobs.Cancel(r.Context(), r.PathValue("id"))
	s.lists.clear()
	if err != nil {
		if errors.Is(err, errs.ErrConflict) {
			writeError(w, http.StatusConflict, "conflict", err.Error())
			return
		}
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, NewJobView(j, false))
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := s.opt.Jobs.Report(r.Context(), id)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	out := *rep
	out.Plots = make([]string, 0, len(rep.Plots))
	for _, p := range pngPlots(rep.Plots) {
		out.Plots = append(out.Plots, Prefix+"/jobs/"+rep.JobID+"/plots/"+filepath.Base(p))
	}
	if out.Metrics == nil {
		out.Metrics = map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// pngPlots keeps the PNG files among a report's plots (the ones the API
// serves), the first of each base name.
func pngPlots(plots []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range plots {
		b := filepath.Base(p)
		if strings.EqualFold(filepath.Ext(b), ".png") && !seen[b] {
			seen[b] = true
			out = append(out, p)
		}
	}
	return out
}

// plotPath finds the plot called name among the report's plots; only
// files the report lists are ever served.
func (s *Server) plotPath(ctx context.Context, id, name string) (dir, p string, err error) {
	if !strings.HasSuffix(name, ".png") || strings.ContainsAny(name, `/\`) {
		return "", "", errs.NotFound("plot " + name)
	}
	rep, err := s.opt.Jobs.Report(ctx, id)
	if err != nil {
		return "", "", err
	}
	for _, p := range pngPlots(rep.Plots) {
		if filepath.Base(p) == name {
			return rep.ArtifactDir, p, nil
		}
	}
	return "", "", &errs.Error{Family: errs.ErrNotFound, Msg: "plot " + name + " not found for job " + id, Fix: "take a name from the report's plots list"}
}

func (s *Server) servePlot(w http.ResponseWriter, r *http.Request) {
	dir, p, err := s.plotPath(r.Context(), r.PathValue("id"), r.PathValue("name"))
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	f, st, err := openArtifact(dir, p)
	if err != nil {
		if errors.Is(err, errNotServable) {
			s.log.Warn("refused to serve an artifact file", "job", r.PathValue("id"), "file", filepath.Base(p), "reason", err)
		}
		writeErr(w, r, s.log, &errs.Error{Family: errs.ErrNotFound, Msg: "plot file " + filepath.Base(p) + " is missing on this server or is not a regular file of the job's artifacts", Fix: "fetch the job's artifacts again"})
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=300")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) getPlot(w http.ResponseWriter, r *http.Request) { s.servePlot(w, r) }

func (s *Server) getLogs(w http.ResponseWriter, r *http.Request) { s.streamLogs(w, r) }

// streamLogs writes the job's log as text. With ?follow=true it keeps
// writing until the job ends, flushing each chunk and pushing the write
// deadline forward so the server's WriteTimeout does not cut it.
func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.opt.Jobs.Get(r.Context(), id); err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	follow := r.URL.Query().Get("follow") == "true" || r.URL.Query().Get("follow") == "1"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := s.opt.Jobs.Logs(r.Context(), id, follow, fw); err != nil {
		if !fw.wrote {
			writeErr(w, r, s.log, err)
			return
		}
		_, _ = io.WriteString(fw, "\n[sagetrain: log stream ended: "+err.Error()+"]\n")
	}
}

type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	if !f.wrote {
		f.w.WriteHeader(http.StatusOK)
		f.wrote = true
	}
	_ = f.rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
	n, err := f.w.Write(p)
	if err == nil {
		_ = f.rc.Flush()
	}
	return n, err
}

// envStatus reports each environment. Without ?environment it always
// answers 200 (local works without AWS); with ?environment=sagemaker it
// answers 503 when AWS is not configured.
func (s *Server) envStatus(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("environment")
	switch only {
	case "", "local", "sagemaker":
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "environment "+strconv.Quote(only)+" is unknown; use local or sagemaker")
		return
	}
	local := map[string]any{"available": true, "message": "local training runs on this server"}
	if only == "local" {
		writeJSON(w, http.StatusOK, map[string]any{"local": local})
		return
	}
	sm, err := s.sagemakerStatus(r.Context())
	if only == "sagemaker" {
		if err != nil {
			writeUnavailable(w, r, s, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sagemaker": sm})
		return
	}
	if err != nil {
		sm = map[string]any{"available": false, "configured": false, "message": err.Error()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"local": local, "sagemaker": sm})
}

func (s *Server) sagemakerStatus(ctx context.Context) (any, error) {
	if s.opt.Environments == nil {
		return nil, errNotConfigured
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return s.opt.Environments.SageMakerStatus(ctx)
}

var errNotConfigured = AWSUnavailable(errs.Configuration("SageMaker is not configured on this server",
	"give the server AWS credentials and a region (AWS_REGION, AWS_PROFILE or an instance role) and restart it", nil))

// writeUnavailable answers 503 when AWS is not configured or not reachable
// and maps other errors as usual (a bad request is still a 422).
func writeUnavailable(w http.ResponseWriter, r *http.Request, s *Server, err error) {
	if errors.Is(err, ErrAWSUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "aws_not_configured", err.Error())
		return
	}
	writeErr(w, r, s.log, err)
}

func (s *Server) sagemakerSetup(w http.ResponseWriter, r *http.Request) {
	var req SetupRequest
	if r.ContentLength != 0 {
		if code, msg := decodeJSON(r, &req); code != 0 && !(code == http.StatusBadRequest && msg == "request body is empty; send a JSON object") {
			writeError(w, code, codeName(code), msg)
			return
		}
	}
	if s.opt.Environments == nil {
		writeUnavailable(w, r, s, errNotConfigured)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 45*time.Second)
	defer cancel()
	out, err := s.opt.Environments.SetupSageMaker(ctx, req)
	if err != nil {
		writeUnavailable(w, r, s, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	res := s.ready.get(r.Context())
	code := http.StatusOK
	status := "ready"
	for _, v := range res {
		if v != "ok" {
			code, status = http.StatusServiceUnavailable, "not ready"
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": res})
}

func (s *Server) readyChecks(ctx context.Context) map[string]string {
	out := map[string]string{}
	run := func(name string, f func(context.Context) error) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := f(c); err != nil {
			out[name] = err.Error()
		} else {
			out[name] = "ok"
		}
	}
	if s.opt.Store != nil {
		run("store", s.opt.Store.Ping)
	}
	for name, f := range s.opt.ReadyChecks {
		run(name, f)
	}
	return out
}

// apiNotFound answers unknown API paths with a JSON 404, and known paths
// asked with the wrong method with a JSON 405 and Allow.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := s.mux.Handler(r2); pat != "" && pat != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, " or "))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path+"; see /api/v1/openapi.json for the routes")
}

// reportMetrics picks the trainer's metrics out of a stored report (which
// also holds server-side paths the job view does not need).
func reportMetrics(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var r struct {
		Metrics json.RawMessage `json:"metrics"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.Metrics) == 0 || string(r.Metrics) == "null" {
		return nil
	}
	return r.Metrics
}
