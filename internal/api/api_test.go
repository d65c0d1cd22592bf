package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

func TestSubmitGetListCancel(t *testing.T) {
	h := newHarness(t, nil)
	var job JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"drawings-a","environment":"local","hyperparameters":{"epochs":"3"}}`, 201, &job)
	if job.ID == "" || job.JobName != "drawings-a" || job.Environment != "local" || job.Status != "pending" || job.SageMakerJobARN != nil || job.EndTimestamp != nil {
		t.Fatalf("submitted job = %+v", job)
	}
	var spec map[string]any
	if err := json.Unmarshal(job.Spec, &spec); err != nil || spec["hyperparameters"].(map[string]any)["epochs"] != "3" {
		t.Fatalf("spec not kept: %s", job.Spec)
	}

	// The application's field names are present even when null.
	code, raw, _ := h.do("GET", Prefix+"/jobs/"+job.ID, testToken, nil)
	if code != 200 {
		t.Fatalf("get = %d %s", code, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, k := range []string{"id", "job_name", "environment", "status", "start_timestamp", "end_timestamp", "sagemaker_job_arn", "events"} {
		if _, ok := m[k]; !ok {
			t.Errorf("job JSON lacks %q: %s", k, raw)
		}
	}

	var got JobView
	h.json("GET", Prefix+"/jobs/"+job.ID, "", 200, &got)
	if len(got.Events) == 0 || got.Events[0].Status != "pending" {
		t.Fatalf("events = %+v", got.Events)
	}

	var cancelled JobView
	h.json("POST", Prefix+"/jobs/"+job.ID+"/cancel", "", 202, &cancelled)
	if !cancelled.CancelRequested {
		t.Fatalf("cancel did not record the request: %+v", cancelled)
	}
	h.finish(job.ID, store.StatusStopped, nil)
	code, raw, _ = h.do("POST", Prefix+"/jobs/"+job.ID+"/cancel", testToken, nil)
	if code != 409 || errorCode(t, raw) != "conflict" {
		t.Fatalf("cancel of a stopped job = %d %s, want 409", code, raw)
	}
	code, raw, _ = h.do("GET", Prefix+"/jobs/01NOSUCHJOB0000000000000000", testToken, nil)
	if code != 404 || errorCode(t, raw) != "not_found" {
		t.Fatalf("unknown job = %d %s", code, raw)
	}
	code, raw, _ = h.do("POST", Prefix+"/jobs/01NOSUCHJOB0000000000000000/cancel", testToken, nil)
	if code != 404 {
		t.Fatalf("cancel unknown job = %d %s", code, raw)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t, nil)
	var a, b, c JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"same"}`, 201, &a, "Idempotency-Key", "key-1")
	h.json("POST", Prefix+"/jobs", `{"job_name":"same"}`, 200, &b, "Idempotency-Key", "key-1")
	h.json("POST", Prefix+"/jobs", `{"job_name":"same"}`, 201, &c, "Idempotency-Key", "key-2")
	if a.ID != b.ID || a.ID == c.ID {
		t.Fatalf("ids %s %s %s: the repeated key must give the first job, a new key a new one", a.ID, b.ID, c.ID)
	}
	var list ListResponse
	h.json("GET", Prefix+"/jobs", "", 200, &list)
	if list.Count != 2 {
		t.Fatalf("%d jobs after a repeated POST, want 2", list.Count)
	}
}

func TestListFiltersAndCursor(t *testing.T) {
	h := newHarness(t, nil)
	ids := map[string]string{}
	for i := 0; i < 7; i++ {
		env := "local"
		if i%2 == 1 {
			env = "sagemaker"
		}
		var j JobView
		h.json("POST", Prefix+"/jobs", fmt.Sprintf(`{"job_name":"job-%d","backend":%q}`, i, env), 201, &j)
		ids[j.ID] = env
	}
	var first ListResponse
	// Page through with limit 3: every job exactly once, newest first.
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		var page ListResponse
		h.json("GET", Prefix+"/jobs?limit=3&cursor="+cursor, "", 200, &page)
		if pages == 0 {
			first = page
		}
		pages++
		for _, j := range page.Jobs {
			if seen[j.ID] {
				t.Fatalf("job %s on two pages", j.ID)
			}
			seen[j.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > 5 {
			t.Fatal("cursor never ends")
		}
	}
	if len(seen) != 7 || pages != 3 || first.Jobs[0].JobName != "job-6" {
		t.Fatalf("saw %d jobs in %d pages, first %q", len(seen), pages, first.Jobs[0].JobName)
	}
	var sm ListResponse
	h.json("GET", Prefix+"/jobs?environment=sagemaker", "", 200, &sm)
	if sm.Count != 3 {
		t.Fatalf("sagemaker jobs = %d, want 3", sm.Count)
	}
	for _, j := range sm.Jobs {
		if j.Environment != "sagemaker" || ids[j.ID] != "sagemaker" {
			t.Fatalf("filter leaked %+v", j)
		}
	}
	for id := range ids {
		h.finish(id, store.StatusCompleted, nil)
		break
	}
	var done ListResponse
	h.json("GET", Prefix+"/jobs?status=completed,failed", "", 200, &done)
	if done.Count != 1 || done.Jobs[0].Status != "completed" || done.Jobs[0].EndTimestamp == nil {
		t.Fatalf("status filter = %+v", done)
	}
	for _, q := range []string{"environment=azure", "status=bogus", "limit=0", "limit=1001", "limit=x", "cursor=%25%25notacursor"} {
		code, raw, _ := h.do("GET", Prefix+"/jobs?"+q, testToken, nil)
		if code != 400 || errorCode(t, raw) != "bad_request" {
			t.Errorf("GET /jobs?%s = %d %s, want 400", q, code, raw)
		}
	}
}

func TestMalformedAndOversizedBodies(t *testing.T) {
	h := newHarness(t, nil)
	big := `{"job_name":"big","tags":{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`
	cases := []struct {
		body  string
		code  int
		ecode string
	}{
		{`{"job_name":`, 400, "bad_request"},
		{`not json`, 400, "bad_request"},
		{``, 400, "bad_request"},
		{`[1,2]`, 400, "bad_request"},
		{`{"job_name":"a","no_such_field":1}`, 400, "bad_request"},
		{`{"job_name":"a"} {"job_name":"b"}`, 400, "bad_request"},
		{`{"job_name":"a","instance_count":"two"}`, 400, "bad_request"},
		{big, 413, "body_too_large"},
		{`{"backend":"local"}`, 422, "invalid_configuration"},
		{`{"job_name":"a","environment":"azure"}`, 422, "invalid_configuration"},
		{`{"job_name":"a","environment":"local","backend":"sagemaker"}`, 422, "invalid_configuration"},
	}
	for _, c := range cases {
		code, raw, _ := h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(c.body))
		if code != c.code || errorCode(t, raw) != c.ecode {
			short := c.body
			if len(short) > 60 {
				short = short[:60] + "..."
			}
			t.Errorf("POST %q = %d %s, want %d %s", short, code, raw, c.code, c.ecode)
		}
	}
	code, raw, _ := h.do("POST", Prefix+"/sagemaker/setup", testToken, strings.NewReader(`{"role_name":`))
	if code != 400 {
		t.Errorf("setup with bad JSON = %d %s", code, raw)
	}
	code, raw, _ = h.do("POST", Prefix+"/sagemaker/setup", testToken, strings.NewReader(`{"role_name":"`+strings.Repeat("r", MaxBodyBytes)+`"}`))
	if code != 413 {
		t.Errorf("setup with a huge body = %d %s", code, raw)
	}
	var list ListResponse
	h.json("GET", Prefix+"/jobs", "", 200, &list)
	if list.Count != 0 {
		t.Fatalf("bad bodies created %d jobs", list.Count)
	}
}

func writePNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for x := 0; x < 40; x++ {
		img.Set(x, 19-x/2, color.RGBA{200, 30, 30, 255})
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// completedJob submits a job and completes it with a report, two plots and a log.
func (h *harness) completedJob(name string) string {
	t := h.t
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"`+name+`"}`, 201, &j)
	dir := t.TempDir()
	plots := []string{filepath.Join(dir, "loss_3-4.png"), filepath.Join(dir, "loss_5.png")}
	for _, p := range plots {
		writePNG(t, p)
	}
	rep, _ := json.Marshal(testReport{Metrics: map[string]any{"age_groups": map[string]any{"3-4": map[string]any{"threshold": 0.0123, "roc_auc": 0.91}}, "final_loss": 0.004}, Plots: plots, Dir: dir})
	h.finish(j.ID, store.StatusCompleted, func(job *store.Job) { job.Report = rep })
	if err := os.WriteFile(filepath.Join(h.svc.logs, j.ID+".log"), []byte("epoch 1 loss=0.5\nepoch 2 loss=0.25\ntraining done\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func TestReportsPlotsLogs(t *testing.T) {
	h := newHarness(t, nil)
	id := h.completedJob("with-report")
	var rep Report
	h.json("GET", Prefix+"/jobs/"+id+"/reports", "", 200, &rep)
	if rep.JobID != id || len(rep.Plots) != 2 || rep.Plots[0] != Prefix+"/jobs/"+id+"/plots/loss_3-4.png" {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Metrics["final_loss"] != 0.004 {
		t.Fatalf("metrics = %v", rep.Metrics)
	}
	code, b, hdr := h.do("GET", rep.Plots[1], testToken, nil)
	if code != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("plot = %d %s", code, hdr.Get("Content-Type"))
	}
	if _, err := png.Decode(strings.NewReader(string(b))); err != nil {
		t.Fatalf("plot is not a PNG: %v", err)
	}
	for _, name := range []string{"nope.png", "loss_3-4.txt", "..%2F..%2Fetc%2Fpasswd.png"} {
		code, raw, _ := h.do("GET", Prefix+"/jobs/"+id+"/plots/"+name, testToken, nil)
		if code != 404 {
			t.Errorf("plot %s = %d %s, want 404", name, code, raw)
		}
	}
	code, b, hdr = h.do("GET", Prefix+"/jobs/"+id+"/logs", testToken, nil)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(string(b), "epoch 2 loss=0.25") {
		t.Fatalf("logs = %d %q", code, b)
	}
	// Not completed: 409 for the report, 404 for an unknown job.
	var pending JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"pending"}`, 201, &pending)
	code, raw, _ := h.do("GET", Prefix+"/jobs/"+pending.ID+"/reports", testToken, nil)
	if code != 409 || errorCode(t, raw) != "conflict" {
		t.Fatalf("report of a pending job = %d %s", code, raw)
	}
	code, raw, _ = h.do("GET", Prefix+"/jobs/nosuch/reports", testToken, nil)
	if code != 404 {
		t.Fatalf("report of an unknown job = %d %s", code, raw)
	}
	code, raw, _ = h.do("GET", Prefix+"/jobs/nosuch/logs", testToken, nil)
	if code != 404 {
		t.Fatalf("logs of an unknown job = %d %s", code, raw)
	}
}

// fakeEnvs answers like awssetup would with AWS configured.
type fakeEnvs struct{ err error }

func (f fakeEnvs) SageMakerStatus(ctx context.Context) (any, error) {
	if f.err != nil {
		return nil, f.err
	}
	return map[string]any{"available": true, "configured": true, "region": "us-east-1"}, nil
}
func (f fakeEnvs) SetupSageMaker(ctx context.Context, req SetupRequest) (any, error) {
	if f.err != nil {
		return nil, f.err
	}
	return map[string]any{"role_arn": "arn:aws:iam::123456789012:role/" + req.RoleName}, nil
}

func TestEnvironmentsWithoutAWS(t *testing.T) {
	for name, envs := range map[string]Environments{
		"nil":                 nil,
		"configuration error": fakeEnvs{err: AWSUnavailable(errs.Configuration("no AWS credentials found", "set AWS_PROFILE", nil))},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.Environments = envs })
			var st map[string]map[string]any
			h.json("GET", Prefix+"/environments/status", "", 200, &st)
			if st["local"]["available"] != true || st["sagemaker"]["available"] != false || st["sagemaker"]["message"] == "" {
				t.Fatalf("status = %v", st)
			}
			code, raw, _ := h.do("GET", Prefix+"/environments/status?environment=sagemaker", testToken, nil)
			if code != 503 || errorCode(t, raw) != "aws_not_configured" {
				t.Fatalf("sagemaker status = %d %s, want 503", code, raw)
			}
			code, raw, _ = h.do("POST", Prefix+"/sagemaker/setup", testToken, strings.NewReader(`{"role_name":"r"}`))
			if code != 503 || errorCode(t, raw) != "aws_not_configured" {
				t.Fatalf("setup = %d %s, want 503", code, raw)
			}
			code, raw, _ = h.do("POST", Prefix+"/sagemaker/setup", testToken, nil)
			if code != 503 {
				t.Fatalf("setup without body = %d %s, want 503", code, raw)
			}
		})
	}
	h := newHarness(t, func(o *Options) { o.Environments = fakeEnvs{} })
	var st map[string]map[string]any
	h.json("GET", Prefix+"/environments/status?environment=sagemaker", "", 200, &st)
	if st["sagemaker"]["available"] != true {
		t.Fatalf("configured status = %v", st)
	}
	var out map[string]any
	h.json("POST", Prefix+"/sagemaker/setup", `{"role_name":"SageTrainRole"}`, 200, &out)
	if !strings.HasSuffix(out["role_arn"].(string), "role/SageTrainRole") {
		t.Fatalf("setup = %v", out)
	}
	code, raw, _ := h.do("GET", Prefix+"/environments/status?environment=mars", testToken, nil)
	if code != 400 {
		t.Fatalf("bad environment = %d %s", code, raw)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	awsErr := error(nil)
	h := newHarness(t, func(o *Options) {
		o.ReadyChecks = map[string]func(context.Context) error{"aws": func(context.Context) error { return awsErr }}
	})
	h.completedJob("counted")
	var ready map[string]any
	h.json("GET", "/readyz", "", 200, &ready)
	if ready["status"] != "ready" || ready["checks"].(map[string]any)["store"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	code, b, _ := h.do("GET", "/healthz", "", nil)
	if code != 200 {
		t.Fatalf("healthz = %d %s", code, b)
	}
	h.srv.opt.Metrics.ObserveReconcile(1500000, nil)
	h.srv.opt.Metrics.ObserveAWSCall("SageMaker", "DescribeTrainingJob", errors.New("throttled"))
	code, b, _ = h.do("GET", "/metrics", testToken, nil)
	text := string(b)
	for _, want := range []string{
		`sagetrain_jobs{status="completed"} 1`, `sagetrain_jobs{status="running"} 0`,
		`sagetrain_reconcile_duration_seconds_count{result="ok"} 1`,
		`sagetrain_aws_calls_total{operation="DescribeTrainingJob",service="SageMaker"} 1`,
		`sagetrain_aws_errors_total{operation="DescribeTrainingJob",service="SageMaker"} 1`,
		`sagetrain_http_request_duration_seconds_count{code="200",route="GET /readyz"}`,
	} {
		if code != 200 || !strings.Contains(text, want) {
			t.Errorf("metrics lack %q (status %d)", want, code)
		}
	}
	// A closed store makes /readyz fail (after the cache expires).
	h.st.Close()
	h.srv.ready.ttl = 0
	code, b, _ = h.do("GET", "/readyz", "", nil)
	if code != 503 || !strings.Contains(string(b), "not ready") {
		t.Fatalf("readyz with a closed store = %d %s", code, b)
	}
}

// panicky makes List panic, to check the recover middleware.
type panicky struct{ JobService }

func (panicky) List(context.Context, store.ListFilter) ([]*store.Job, string, error) {
	panic("boom at handlers.go:42")
}

func TestPanicIsAJSON500(t *testing.T) {
	h := newHarness(t, nil)
	h2 := newHarness(t, func(o *Options) { o.Jobs = panicky{h.svc} })
	code, raw, _ := h2.do("GET", Prefix+"/jobs", testToken, nil)
	if code != 500 || errorCode(t, raw) != "internal" || strings.Contains(string(raw), "boom") {
		t.Fatalf("panic = %d %s", code, raw)
	}
	// The server keeps serving.
	code, _, _ = h2.do("GET", "/healthz", "", nil)
	if code != 200 {
		t.Fatalf("after panic healthz = %d", code)
	}
}

func TestUnknownAPIRouteIsJSON404(t *testing.T) {
	h := newHarness(t, nil)
	code, raw, _ := h.do("GET", Prefix+"/nope", testToken, nil)
	if code != 404 || errorCode(t, raw) != "not_found" {
		t.Fatalf("unknown route = %d %s", code, raw)
	}
	code, _, hdr := h.do("DELETE", Prefix+"/jobs", testToken, nil)
	if code != http.StatusMethodNotAllowed || hdr.Get("Allow") == "" {
		t.Fatalf("DELETE /jobs = %d, Allow %q", code, hdr.Get("Allow"))
	}
	_ = io.Discard
}
