package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/backendtest"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// The replica test runs real local jobs: the sagetrain binary (the local
// backend's runner and trainer) on a small generated data set, made once.
var (
	buildOnce    sync.Once
	sagetrainBin string
	sampleDir    string
	buildErr     error
)

func buildSagetrain(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "api-test-")
		if err != nil {
			buildErr = err
			return
		}
		if sagetrainBin, buildErr = testpeer.BuildSagetrain(dir); buildErr != nil {
			return
		}
		sampleDir = filepath.Join(dir, "data")
		_, buildErr = sampledata.Generate(sampleDir, sampledata.Options{Train: 120, Test: 30, Size: 32})
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// replica is one `serve` process: its own store connection pool, job
// service, reconciler loop and API server.
type replica struct {
	h       *harness
	svc     *jobs.Service
	metrics *Metrics
}

// TestTwoReplicasOnOnePostgres runs two API servers with their own
// reconcilers on one PostgreSQL, submits local jobs to both (some twice,
// with one idempotency key, at the same moment), and checks that every
// job completes, was created on the backend once, had its artifacts
// fetched once, recorded "completed" once, and that either replica
// serves any job's report and loss curves.
func TestTwoReplicasOnOnePostgres(t *testing.T) {
	t.Parallel()
	buildSagetrain(t)
	dsn := testpeer.PostgresDSN(t)
	dir := t.TempDir()
	counter := backendtest.NewCounter() // shared by the replicas' backends
	ctx, stop := context.WithCancel(context.Background())
	var loops sync.WaitGroup
	defer func() { stop(); loops.Wait() }()

	var reps []*replica
	for _, owner := range []string{"replica-a", "replica-b"} {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		lb, err := local.New(local.Options{Root: filepath.Join(dir, "local"), Executable: sagetrainBin, StopGrace: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cb := counter.Wrap(lb)
		svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"local": cb}, Owner: owner,
			LeaseTTL: 10 * time.Second, PollInterval: 200 * time.Millisecond, ArtifactRoot: filepath.Join(dir, "artifacts")})
		m := NewMetrics(st)
		srv := New(Options{Jobs: FromJobs(svc), Store: st, Metrics: m, Tokens: []string{testToken}, DataRoots: []string{sampleDir}})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		reps = append(reps, &replica{h: &harness{t: t, srv: srv, ts: ts}, svc: svc, metrics: m})
		loops.Add(1)
		go func() { defer loops.Done(); RunReconciler(ctx, svc, 200*time.Millisecond, m, nil) }()
	}

	body := func(name string) string {
		return fmt.Sprintf(`{"job_name":%q,"environment":"local","dataset_folder":%q,"channels":{"test":%q},"hyperparameters":{"epochs":"2","min_samples":"15","hidden_sizes":"32,16"}}`,
			name, filepath.Join(sampleDir, "training"), filepath.Join(sampleDir, "test"))
	}
	const n = 3
	ids := make([]string, n)
	var wg sync.WaitGroup
	var idMu sync.Mutex
	for i := range n {
		// Job i goes to both replicas at once with one idempotency key.
		for _, r := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, raw, _ := r.h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(body(fmt.Sprintf("replica-job-%d", i))), "Idempotency-Key", fmt.Sprintf("key-%d", i))
				if code != 201 && code != 200 {
					t.Errorf("submit %d: %d %s", i, code, raw)
					return
				}
				var v JobView
				if err := jsonUnmarshal(raw, &v); err != nil {
					t.Error(err)
					return
				}
				idMu.Lock()
				defer idMu.Unlock()
				if ids[i] != "" && ids[i] != v.ID {
					t.Errorf("one idempotency key gave two jobs: %s and %s", ids[i], v.ID)
				}
				ids[i] = v.ID
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	deadline := time.Now().Add(150 * time.Second)
	for i, id := range ids {
		for {
			var v JobView
			reps[(i+1)%2].h.json("GET", Prefix+"/jobs/"+id, "", 200, &v)
			if store.Status(v.Status).Terminal() {
				if v.Status != "completed" {
					t.Fatalf("job %s ended %s: %s", id, v.Status, v.FailureReason)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s after 150 s", id, v.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// A few more passes must change nothing.
	time.Sleep(800 * time.Millisecond)
	stop()
	loops.Wait()

	var list ListResponse
	reps[0].h.json("GET", Prefix+"/jobs?limit=100", "", 200, &list)
	if list.Count != n {
		t.Fatalf("%d jobs in the store, want %d", list.Count, n)
	}
	for _, j := range list.Jobs {
		c, f := counter.Made(j.RemoteName), counter.Fetches(j.RemoteName)
		if c != 1 || f != 1 {
			t.Errorf("job %s: backend jobs made %d, artifacts fetched %d times; want 1 and 1", j.ID, c, f)
		}
		var full JobView
		reps[0].h.json("GET", Prefix+"/jobs/"+j.ID, "", 200, &full)
		done := 0
		for _, e := range full.Events {
			if e.Status == "completed" {
				done++
			}
		}
		if done != 1 {
			t.Errorf("job %s recorded completed %d times: %+v", j.ID, done, full.Events)
		}
		for _, r := range reps {
			var rep Report
			r.h.json("GET", Prefix+"/jobs/"+j.ID+"/reports", "", 200, &rep)
			if rep.Metrics["test_auroc"] == nil || len(rep.Plots) == 0 {
				t.Errorf("report of %s via %s: metrics %v plots %v", j.ID, r.h.ts.URL, rep.Metrics, rep.Plots)
				continue
			}
			code, b, hdr := r.h.do("GET", rep.Plots[0], testToken, nil)
			if code != 200 || hdr.Get("Content-Type") != "image/png" || len(b) < 100 {
				t.Errorf("plot %s: %d %s %d bytes", rep.Plots[0], code, hdr.Get("Content-Type"), len(b))
			}
		}
	}
	for _, r := range reps {
		code, b, _ := r.h.do("GET", "/metrics", testToken, nil)
		if code != 200 || !strings.Contains(string(b), `sagetrain_jobs{status="completed"} 3`) || !strings.Contains(string(b), `sagetrain_reconcile_duration_seconds_count{result="ok"}`) {
			t.Errorf("metrics of %s:\n%s", r.h.ts.URL, grepLines(string(b), "sagetrain_"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
