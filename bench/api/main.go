package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sagetrain/sagetrain/bench/internal/machine"
	"github.com/sagetrain/sagetrain/bench/internal/pgscratch"
	"github.com/sagetrain/sagetrain/internal/api"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

const token = "bench-token-0123456789abcdef"

// listCache is the -list-cache flag: how long the server keeps list pages.
var listCache time.Duration

func main() {
	n := flag.Int("jobs", 100000, "jobs to seed")
	clients := flag.Int("clients", 200, "concurrent clients")
	dur := flag.Duration("duration", 30*time.Second, "load duration per store")
	drivers := flag.String("drivers", "postgres,sqlite", "stores to measure")
	pgBase := flag.String("pg", envOr("SAGETRAIN_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL server (a scratch database is created on it)")
	loadgen := flag.String("loadgen", "go,wrk", "load generators to run: go (in-process, also pages by cursor), wrk (Debian's wrk, separate process)")
	rate := flag.Float64("rate", 0, "go load generator: requests per second per client (0 = closed loop, as fast as answers come)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.DurationVar(&listCache, "list-cache", api.DefaultListCacheTTL, "the server's list cache, as serve --list-cache (0: off)")
	flag.Parse()
	ctx := context.Background()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	fmt.Println(machine.Line("before"))
	defer func() { fmt.Println(machine.Line("after")) }()
	fmt.Printf("api bench: %d jobs, %d clients, %s per store, list cache %s, GOMAXPROCS=%d, %s\n\n", *n, *clients, *dur, listCache, runtime.GOMAXPROCS(0), runtime.Version())
	var rows []string
	for _, d := range strings.Split(*drivers, ",") {
		var st store.Store
		var cleanup func()
		var seed func([]*store.Job) error
		switch d {
		case "postgres":
			dsn, drop, err := pgscratch.Create(ctx, *pgBase, "sagetrain_api_bench")
			check(err)
			cleanup = drop
			p, err := postgres.Open(ctx, dsn)
			check(err)
			st, seed = p, func(js []*store.Job) error { return p.CreateMany(ctx, js) }
		case "sqlite":
			dir, err := os.MkdirTemp("", "api-bench-")
			check(err)
			cleanup = func() { os.RemoveAll(dir) }
			s, err := sqlite.Open(ctx, filepath.Join(dir, "jobs.db"))
			check(err)
			st, seed = s, func(js []*store.Job) error { return s.CreateMany(ctx, js) }
		default:
			check(fmt.Errorf("unknown driver %q", d))
		}
		t0 := time.Now()
		ids := seedJobs(*n, seed)
		fmt.Printf("%s: seeded %d jobs in %s\n", d, len(ids), time.Since(t0).Round(time.Millisecond))
		for _, lg := range strings.Split(*loadgen, ",") {
			name := d + " / " + lg
			var r *result
			switch lg {
			case "go":
				r = run(ctx, st, ids, *clients, *dur, *rate)
				if *rate > 0 {
					name += fmt.Sprintf(" (%.0f req/s per client)", *rate)
				}
			case "wrk":
				r = runWrk(ctx, st, ids, *clients, *dur)
			default:
				check(fmt.Errorf("unknown load generator %q", lg))
			}
			fmt.Printf("%s: %s\n", name, r.summary())
			rows = append(rows, r.row(name))
		}
		st.Close()
		cleanup()
	}
	fmt.Println()
	fmt.Println("| store | requests | req/s | errors | p50 | p90 | p99 | max | list p99 | get p99 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}

// seedJobs makes n jobs spread over the last 90 days: mostly completed,
// some failed or stopped, a few live; 30 % on SageMaker.
func seedJobs(n int, seed func([]*store.Job) error) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now().Add(-90 * 24 * time.Hour)
	step := 90 * 24 * time.Hour / time.Duration(n)
	ids := make([]string, 0, n)
	const batch = 10000
	for i := 0; i < n; i += batch {
		var js []*store.Job
		for k := i; k < min(n, i+batch); k++ {
			created := start.Add(time.Duration(k) * step).UTC().Truncate(time.Microsecond)
			backend := "local"
			if rng.IntN(10) < 3 {
				backend = "sagemaker"
			}
			name := fmt.Sprintf("drawings-%06d", k)
			j := &store.Job{ID: store.NewID(), Name: name, RemoteName: name + "-" + fmt.Sprintf("%08x", rng.Uint32()), Backend: backend,
				Spec:      json.RawMessage(fmt.Sprintf(`{"job_name":%q,"backend":%q,"dataset_folder":"/data/drawings","hyperparameters":{"epochs":"100","min_samples":"50"},"instance_type":"ml.m5.xlarge","instance_count":1}`, name, backend)),
				CreatedAt: created, UpdatedAt: created}
			j.RemoteARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/" + j.RemoteName
			switch p := rng.IntN(100); {
			case p < 80:
				j.Status, j.SecondaryStatus = store.StatusCompleted, "Completed"
				j.Report = json.RawMessage(`{"metrics":{"test_auroc":0.91,"test_average_precision":0.74,"age_groups":{"3-4":{"threshold":0.012,"n_train":120}}}}`)
			case p < 90:
				j.Status, j.SecondaryStatus, j.FailureReason = store.StatusFailed, "Failed", "AlgorithmError: example failure"
			case p < 97:
				j.Status, j.SecondaryStatus = store.StatusStopped, "Stopped"
			default:
				j.Status, j.SecondaryStatus = store.StatusRunning, "Training"
			}
			if j.Status.Terminal() {
				s, e := created.Add(time.Minute), created.Add(20*time.Minute)
				j.StartedAt, j.EndedAt, j.BillableSeconds = &s, &e, 1140
			}
			js = append(js, j)
			ids = append(ids, j.ID)
		}
		check(seed(js))
	}
	return ids
}

type result struct {
	wrk       *wrkStats // set when wrk measured (it reports percentiles only)
	list, get []time.Duration
	errs      int64
	firstErr  string
	elapsed   time.Duration
}

// run serves the API over st on 127.0.0.1 and drives it: each client
// alternates listing (first pages with and without filters, and next
// pages by cursor) and reading single jobs picked at random.
func serve(st store.Store) (base string, stop func()) {
	svc := jobs.New(st, jobs.Options{})
	ttl := listCache
	if ttl <= 0 {
		ttl = -1 // off
	}
	h := api.New(api.Options{Jobs: api.FromJobs(svc), Store: st, Tokens: []string{token}, ListCacheTTL: ttl})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := api.NewHTTPServer(ln.Addr().String(), h)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + api.Prefix, func() { srv.Close() }
}

func run(_ context.Context, st store.Store, ids []string, clients int, dur time.Duration, rate float64) *result {
	base, stop := serve(st)
	defer stop()
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	// Warm up (connections, plan caches).
	for i := 0; i < 200; i++ {
		_, _, _ = get(hc, base+"/jobs?limit=50")
	}
	res := &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	t0 := time.Now()
	var errCount atomic.Int64
	filters := []string{"", "status=completed", "environment=sagemaker", "status=running,failed", "environment=local&status=stopped", "name=drawings-0042"}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var list, one []time.Duration
			cursor := ""
			next := time.Now()
			buf := new(bytes.Buffer)
			for time.Now().Before(deadline) {
				if rate > 0 {
					// Paced: one request every 1/rate s, latency measured from
					// the planned start (no coordinated omission).
					next = next.Add(time.Duration(float64(time.Second) / rate))
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					}
				}
				var u string
				isList := rng.IntN(2) == 0
				if isList {
					q := url.Values{}
					if cursor != "" && rng.IntN(2) == 0 {
						q.Set("cursor", cursor)
					} else {
						f, _ := url.ParseQuery(filters[rng.IntN(len(filters))])
						q = f
					}
					u = base + "/jobs?" + q.Encode()
				} else {
					u = base + "/jobs/" + ids[rng.IntN(len(ids))]
				}
				t := time.Now()
				if rate > 0 && next.Before(t) {
					t = next
				}
				code, body, err := getInto(hc, u, buf)
				d := time.Since(t)
				if err != nil || code != 200 {
					if errCount.Add(1) == 1 {
						mu.Lock()
						res.firstErr = fmt.Sprintf("%s: %d %v %.200s", u, code, err, string(body))
						mu.Unlock()
					}
					continue
				}
				if isList {
					list = append(list, d)
					cursor = nextCursor(body)
				} else {
					one = append(one, d)
				}
			}
			mu.Lock()
			res.list = append(res.list, list...)
			res.get = append(res.get, one...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	res.errs = errCount.Load()
	return res
}

// nextCursor finds next_cursor in a list answer without decoding the whole
// page: the load generator shares the CPU with the server, and decoding
// every page cost it as much as the server spent answering.
func nextCursor(body []byte) string {
	const key = `"next_cursor":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j]) // base64url: no escapes
}

func defaultClient() *http.Client { return http.DefaultClient }

func get(hc *http.Client, u string) (int, []byte, error) {
	return getInto(hc, u, new(bytes.Buffer))
}

// getInto reads the answer into buf (reused by each client: the load
// generator shares the CPU with the server, so it should spend little).
func getInto(hc *http.Client, u string, buf *bytes.Buffer) (int, []byte, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r *result) all() []time.Duration { return append(slices.Clone(r.list), r.get...) }

func (r *result) summary() string {
	if w := r.wrk; w != nil {
		return fmt.Sprintf("%d requests in %s (%.0f req/s), %d errors, p50 %s p90 %s p99 %s max %s (wrk)", w.requests, w.elapsed.Round(time.Millisecond),
			float64(w.requests)/w.elapsed.Seconds(), r.errs, ms(w.p50), ms(w.p90), ms(w.p99), ms(w.max))
	}
	a := r.all()
	s := fmt.Sprintf("%d requests in %s (%.0f req/s), %d errors, p50 %s p90 %s p99 %s max %s; list p99 %s, get p99 %s",
		len(a), r.elapsed.Round(time.Millisecond), float64(len(a))/r.elapsed.Seconds(), r.errs,
		ms(pct(a, 50)), ms(pct(a, 90)), ms(pct(a, 99)), ms(pct(a, 100)), ms(pct(r.list, 99)), ms(pct(r.get, 99)))
	if r.firstErr != "" {
		s += "; first error: " + r.firstErr
	}
	return s
}

func (r *result) row(name string) string {
	if w := r.wrk; w != nil {
		return fmt.Sprintf("| %s | %d | %.0f | %d | %s | %s | %s | %s | – | – |", name, w.requests, float64(w.requests)/w.elapsed.Seconds(), r.errs,
			ms(w.p50), ms(w.p90), ms(w.p99), ms(w.max))
	}
	a := r.all()
	return fmt.Sprintf("| %s | %d | %.0f | %d | %s | %s | %s | %s | %s | %s |", name, len(a), float64(len(a))/r.elapsed.Seconds(), r.errs,
		ms(pct(a, 50)), ms(pct(a, 90)), ms(pct(a, 99)), ms(pct(a, 100)), ms(pct(r.list, 99)), ms(pct(r.get, 99)))
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "api bench:", err)
		os.Exit(1)
	}
}
