package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// Prefix is the root of the REST API.
const Prefix = "/api/v1/training"

// MaxBodyBytes is the largest request body accepted (413 beyond it).
const MaxBodyBytes = 1 << 20

// JobService is what the API needs of the job service (*jobs.Service).
type JobService interface {
	Submit(ctx context.Context, sp *spec.Spec, idempotencyKey string) (job *store.Job, created bool, err error)
	Get(ctx context.Context, id string) (*store.Job, error)
	Events(ctx context.Context, id string) ([]store.Event, error)
	List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error)
	Cancel(ctx context.Context, id string) (*store.Job, error)
	// Report is errs.ErrConflict while the job is not completed.
	Report(ctx context.Context, id string) (*Report, error)
	Logs(ctx context.Context, id string, follow bool, w io.Writer) error
}

// Report is a completed job's training report (the job service's own).
// The API lists its PNG plots as URLs under /jobs/{id}/plots/{name}.
type Report = jobs.Report

// Environments answers /environments/status and /sagemaker/setup. Methods
// return an errs.ErrConfiguration error when AWS is not configured; the API
// turns that into a 503 with the error's message.
type Environments interface {
	SageMakerStatus(ctx context.Context) (any, error)
	SetupSageMaker(ctx context.Context, req SetupRequest) (any, error)
}

// SetupRequest is the body of POST /sagemaker/setup (all optional).
type SetupRequest struct {
	RoleName  string `json:"role_name,omitempty"`
	Bucket    string `json:"bucket,omitempty"`
	Region    string `json:"region,omitempty"`
	CreateECR bool   `json:"create_ecr_repository,omitempty"`
	ECRRepo   string `json:"ecr_repository,omitempty"`
}

// Options configures a Handler.
type Options struct {
	Jobs   JobService
	Store  store.Store  // for /readyz; may be nil
	Sweeps SweepService // may be nil: the sweep routes then answer 503
	// Environments may be nil: SageMaker then reports "not configured".
	Environments Environments
	Metrics      *Metrics // may be nil: /metrics then serves an empty registry
	Tokens       []string // bearer tokens; empty requires Insecure
	Insecure     bool     // no authentication (loopback only; checked by the caller)
	// ReadyChecks run on /readyz besides the store ping, e.g. "aws".
	ReadyChecks map[string]func(context.Context) error
	Logger      *slog.Logger
	// SecureCookies marks dashboard cookies Secure (set behind TLS).
	SecureCookies bool
	// ListCacheTTL is how long GET /jobs pages are served from memory:
	// 0 means DefaultListCacheTTL, a negative value turns the cache off.
	ListCacheTTL time.Duration
	// DataRoots are the server folders requests may name (serve
	// --data-root, see ResolveDataRoots); none: no server path at all.
	DataRoots []string
	// MaxJobMemory caps a job's estimated training memory in bytes (0:
	// spec.DefaultMaxJobMemory).
	MaxJobMemory int64
	// Models exports, deploys and scores; nil answers 503 on those routes.
	Models *models.Service
	// ListenAddr is the address served (host:port): in no-auth mode its
	// host joins the loopback names the Host header may carry.
	ListenAddr string
}

// Server is the HTTP handler of the service.
type Server struct {
	opt    Options
	auth   *authenticator
	mux    *http.ServeMux
	log    *slog.Logger
	routes []Route
	ready  *readyCache
	lists  *listCache // nil when off
	// dataRoots are Options.DataRoots, absolute and symlink-free.
	dataRoots []string
	guard     *browserGuard
	revoker   SessionRevoker
}

// Route is one registered route; the OpenAPI test walks them.
type Route struct {
	Method  string
	Pattern string // ServeMux path pattern, e.g. /api/v1/training/jobs/{id}
	Auth    string // "bearer", "session" (dashboard cookie) or "none"
	API     bool   // part of the documented REST API
}

// New builds the service's handler.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(opt.Store)
	}
	s := &Server{opt: opt, auth: newAuthenticator(opt.Tokens, opt.Insecure), mux: http.NewServeMux(), log: opt.Logger,
		lists: newListCache(opt.ListCacheTTL)}
	s.ready = newReadyCache(s.readyChecks, 2*time.Second)
	s.dataRoots = cleanRoots(opt.DataRoots)
	s.guard = newBrowserGuard(opt.Insecure, opt.ListenAddr)
	s.revoker = &memRevoked{}
	if rv, ok := opt.Store.(SessionRevoker); ok {
		s.revoker = rv
	}
	s.registerAPI()
	s.registerModels()
	s.registerDashboard()
	return s
}

// Routes lists every registered route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

func (s *Server) handle(method, pattern, auth string, api bool, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern, Auth: auth, API: api})
	var hh http.Handler = h
	if auth == "bearer" {
		hh = s.auth.requireBearer(hh)
	}
	mp := pattern
	if method != "" {
		mp = method + " " + pattern
	}
	s.mux.Handle(mp, hh)
}

// ServeHTTP adds recovery, the body limit, security headers and metrics
// around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("panic while serving", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal", "internal error while handling the request; the server log has the details, retry or report it")
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.opt.Metrics.observeRequest(route, rec.code, time.Since(start))
	}()
	if r.Body != nil {
		limit := int64(MaxBodyBytes)
		if r.URL.Path == ScorePath {
			limit = MaxScoreBodyBytes // images of drawings
		}
		r.Body = http.MaxBytesReader(rec, r.Body, limit)
	}
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if s.guard.check(rec, r) {
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// statusRecorder remembers the status code; it keeps Flush and deadlines
// reachable through Unwrap (for http.ResponseController).
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// NewHTTPServer wraps h with the timeouts every listener should have. Log
// streams extend their own write deadline as they go.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

func decodeJSON(r *http.Request, v any) (status int, msg string) {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			return http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB; send a smaller job spec"
		}
		if err == io.EOF {
			return http.StatusBadRequest, "request body is empty; send a JSON object"
		}
		return http.StatusBadRequest, "request body is not valid JSON for this route: " + err.Error() + "; see /api/v1/openapi.json"
	}
	if dec.More() {
		return http.StatusBadRequest, "request body has data after the JSON object; send exactly one object"
	}
	return 0, ""
}
