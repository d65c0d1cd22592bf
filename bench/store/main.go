package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/bench/internal/machine"
	"github.com/sagetrain/sagetrain/bench/internal/pgscratch"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/store/storetest"
)

type query struct {
	name string
	run  func(ctx context.Context, s store.Store, r *rand.Rand) error
	frac int // run requests/frac times (1 when 0): for the slow scans
}

func main() {
	n := flag.Int("n", 100000, "jobs in the store")
	clientList := flag.String("clients", "1,200", "concurrent clients, one run per comma-separated value")
	requests := flag.Int("requests", 20000, "requests per query kind")
	drivers := flag.String("drivers", "sqlite,postgres", "drivers to measure")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server to create a scratch database on (empty: skip)")
	flag.Parse()
	ctx := context.Background()
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

	type named struct {
		name string
		s    store.Store
	}
	var stores []named
	if strings.Contains(*drivers, "sqlite") {
		dir, err := os.MkdirTemp("", "storebench")
		check(err)
		defer os.RemoveAll(dir)
		sq, err := sqlite.Open(ctx, filepath.Join(dir, "jobs.db"))
		check(err)
		defer sq.Close()
		stores = append(stores, named{"sqlite", sq})
	}
	if strings.Contains(*drivers, "postgres") {
		dsn, drop, err := pgscratch.Create(ctx, *pg, "sagetrain_bench")
		check(err)
		defer drop()
		ps, err := postgres.Open(ctx, dsn)
		check(err)
		defer ps.Close()
		stores = append(stores, named{"postgres", ps})
	}

	var clients []int
	for _, c := range strings.Split(*clientList, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(c))
		check(err)
		clients = append(clients, k)
	}
	fmt.Println(machine.Line("before"))
	defer func() { fmt.Println(machine.Line("after")) }()
	fmt.Printf("jobs %d, requests per kind %d (a tenth for the two slow kinds)\n\n", *n, *requests)
	fmt.Printf("%-9s %7s %-34s %9s %9s %9s %9s %10s\n", "driver", "clients", "query", "p50", "p95", "p99", "max", "req/s")
	for _, st := range stores {
		t0 := time.Now()
		check(storetest.Seed(ctx, st.s, *n, end))
		fmt.Printf("%-9s %7s %-34s %s\n", st.name, "", "seed", time.Since(t0).Round(time.Millisecond))
		// A cursor in the middle of the store, for deep pages.
		mid := storetest.SeedJobs(*n, end)[*n/2]
		midCursor := store.EncodeCursor(store.Cursor{CreatedAt: mid.CreatedAt, ID: mid.ID})
		for _, c := range clients {
			for _, q := range queries(*n, midCursor) {
				reqs := *requests
				if q.frac > 1 {
					reqs /= q.frac
				}
				lat, el := measure(ctx, st.s, q, c, reqs)
				fmt.Printf("%-9s %7d %-34s %9s %9s %9s %9s %10.0f\n", st.name, c, q.name,
					pct(lat, 50), pct(lat, 95), pct(lat, 99), lat[len(lat)-1].Round(time.Microsecond), float64(len(lat))/el.Seconds())
			}
		}
	}
}

func queries(n int, midCursor string) []query {
	list := func(f store.ListFilter, want int) func(context.Context, store.Store, *rand.Rand) error {
		return func(ctx context.Context, s store.Store, _ *rand.Rand) error {
			jobs, _, err := s.List(ctx, f)
			if err == nil && len(jobs) < want {
				err = fmt.Errorf("got %d jobs, want at least %d", len(jobs), want)
			}
			return err
		}
	}
	return []query{
		{"list first page (50)", list(store.ListFilter{}, 50), 1},
		{"list first page (50), summary", list(store.ListFilter{Summary: true}, 50), 1},
		{"list status=running", list(store.ListFilter{Statuses: []store.Status{store.StatusRunning}}, 50), 1},
		{"list status=failed,stopped", list(store.ListFilter{Statuses: []store.Status{store.StatusFailed, store.StatusStopped}}, 50), 1},
		{"list backend=sagemaker", list(store.ListFilter{Backend: "sagemaker"}, 50), 1},
		{"list name~houses", list(store.ListFilter{NameContains: "houses"}, 50), 1},
		{"list name~rare (1 match)", list(store.ListFilter{NameContains: fmt.Sprintf("-%06x", n/3)}, 1), 10},
		{"list page at the middle (cursor)", list(store.ListFilter{Cursor: midCursor}, 50), 1},
		{"list 1000", list(store.ListFilter{Limit: 1000}, 1000), 10},
		{"get by id", func(ctx context.Context, s store.Store, r *rand.Rand) error {
			_, err := s.Get(ctx, fmt.Sprintf("seed%07d", r.IntN(n)))
			return err
		}, 1},
		{"get with events", func(ctx context.Context, s store.Store, r *rand.Rand) error {
			_, evs, err := s.GetWithEvents(ctx, fmt.Sprintf("seed%07d", r.IntN(n)))
			if err == nil && len(evs) == 0 {
				err = fmt.Errorf("a job without events")
			}
			return err
		}, 1},
	}
}

func measure(ctx context.Context, s store.Store, q query, clients, requests int) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, requests)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= int64(requests) {
					return
				}
				t := time.Now()
				if err := q.run(ctx, s, r); err != nil {
					fmt.Fprintln(os.Stderr, q.name, err)
					os.Exit(1)
				}
				lat[i] = time.Since(t)
			}
		}(c)
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, el
}

func pct(lat []time.Duration, p int) string {
	return lat[(len(lat)-1)*p/100].Round(time.Microsecond).String()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "store bench:", err)
		os.Exit(1)
	}
}
