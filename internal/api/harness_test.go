package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

const testToken = "test-token-0123456789abcdef"

// storeService is a JobService straight on a store, for handler tests
// that need jobs in exact states (a completed job with plots, a failed
// one) without running training. The real jobs.Service is exercised by
// the replica and browser tests.
type storeService struct {
	st   store.Store
	logs string // folder of <id>.log files
}

func (s *storeService) Submit(ctx context.Context, sp *spec.Spec, key string) (*store.Job, bool, error) {
	if sp.Backend == "" {
		sp.Backend = "local"
	}
	raw, _ := json.Marshal(sp)
	return s.st.Create(ctx, &store.Job{Name: sp.JobName, RemoteName: sp.JobName, Backend: sp.Backend, IdempotencyKey: key, Spec: raw, Status: store.StatusPending})
}
func (s *storeService) Get(ctx context.Context, id string) (*store.Job, error) {
	return s.st.Get(ctx, id)
}
func (s *storeService) Events(ctx context.Context, id string) ([]store.Event, error) {
	return s.st.Events(ctx, id)
}
func (s *storeService) List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error) {
	return s.st.List(ctx, f)
}
func (s *storeService) Cancel(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Status.Terminal() {
		return nil, &errs.Error{Family: errs.ErrConflict, Msg: "job " + j.ID + " already ended (" + string(j.Status) + ")", Fix: "nothing to cancel"}
	}
	j.CancelRequested = true
	return j, s.st.Update(ctx, j)
}

// testReport is what the test jobs keep in Job.Report.
type testReport struct {
	Metrics map[string]any `json:"metrics"`
	Plots   []string       `json:"plots"`
	Dir     string         `json:"artifact_dir"`
}

func (s *storeService) Report(ctx context.Context, id string) (*Report, error) {
	j, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Status != store.StatusCompleted {
		return nil, &errs.Error{Family: errs.ErrConflict, Msg: "job " + j.ID + " is " + string(j.Status) + ", not completed", Fix: "wait for it to complete"}
	}
	var tr testReport
	_ = json.Unmarshal(j.Report, &tr)
	return &Report{JobID: j.ID, JobName: j.Name, Status: j.Status, Metrics: tr.Metrics, Plots: tr.Plots, ArtifactDir: tr.Dir}, nil
}
func (s *storeService) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	j, err := s.st.Get(ctx, id)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(s.logs, j.ID+".log"))
	if err != nil {
		return errs.NotFound("log of job " + j.ID)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

type harness struct {
	t   *testing.T
	st  *sqlite.Store
	svc *storeService
	srv *Server
	ts  *httptest.Server
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &storeService{st: st, logs: dir}
	// No list cache unless a test asks: most tests change the store
	// directly and list at once (listcache_test.go covers the cache).
	opt := Options{Jobs: svc, Store: st, Tokens: []string{testToken}, ListCacheTTL: -1,
		Models: models.New(st, st, filepath.Join(dir, "models"))}
	if mod != nil {
		mod(&opt)
	}
	srv := New(opt)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, st: st, svc: svc, srv: srv, ts: ts}
}

// do sends a request with the test token (token "" sends none) and
// returns the status and body.
func (h *harness) do(method, path, token string, body io.Reader, hdr ...string) (int, []byte, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (h *harness) json(method, path string, body string, wantStatus int, out any, hdr ...string) {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	code, b, _ := h.do(method, path, testToken, r, hdr...)
	if code != wantStatus {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, code, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: bad JSON %v: %s", method, path, err, b)
		}
	}
}

// errorCode checks an error body's shape and returns its code.
func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not a JSON error body: %s", b)
	}
	if strings.Contains(string(b), "goroutine ") || strings.Contains(string(b), ".go:") {
		t.Fatalf("error body leaks a stack trace: %s", b)
	}
	return e.Error.Code
}

// finish moves a job to a terminal status with events, as a reconciler would.
func (h *harness) finish(id string, st store.Status, mut func(*store.Job)) *store.Job {
	h.t.Helper()
	ctx := context.Background()
	j, err := h.st.Get(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	j.Status = store.StatusRunning
	j.SecondaryStatus = "Training"
	now := store.Now()
	j.StartedAt = &now
	if err := h.st.Update(ctx, j); err != nil {
		h.t.Fatal(err)
	}
	j.Status = st
	j.SecondaryStatus = map[store.Status]string{store.StatusCompleted: "Completed", store.StatusFailed: "Failed", store.StatusStopped: "Stopped"}[st]
	end := store.Now()
	j.EndedAt = &end
	if mut != nil {
		mut(j)
	}
	if err := h.st.Update(ctx, j); err != nil {
		h.t.Fatal(err)
	}
	return j
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
