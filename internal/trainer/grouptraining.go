package trainer

import (
	"context"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// A job usually has several age groups (one a year of age), and two cores
// train two small networks side by side faster than they share one: a
// network's products split over two cores reach about 1.5x one core on this
// network (bench/results/trainer.md, round 10), two networks trained one per
// core nearly 2x. So when this host trains more than one group and has more
// than one core, each core takes a group at a time (the largest first). While
// two train, each keeps its products on its own core; the last one left
// splits its products over both again (autoencoder's trainings count), so a
// large group that ends last does not end on one core. A group's model
// depends only on the seed and its own data, never on the order or the core
// it was trained on, so the models are the same bytes either way.

// groupJob is one group this host trains, with its data.
type groupJob struct {
	g                   AgeGroup
	train, copies, vals autoencoder.Matrix
}

// trainGroups trains the jobs with train (trainJob, or a test's) and
// returns the results of those that finished, in the jobs' order, and the
// first error. On an error the groups still training are stopped (their
// context is cancelled: trainGroup checkpoints them, as on a stop).
func (r *run) trainGroups(ctx context.Context, jobs []groupJob, train func(context.Context, groupJob) (groupResult, error)) (own []groupResult, err error) {
	t0 := time.Now()
	defer func() {
		if err == nil {
			r.logf("trained %d age groups in %s", len(jobs), time.Since(t0).Round(time.Millisecond))
		}
	}()
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if workers < 2 {
		for _, j := range jobs {
			res, err := train(ctx, j)
			if err != nil {
				return own, err
			}
			r.prog.groupDone(j.g.Name)
			own = append(own, res)
		}
		return own, nil
	}
	r.logf("training %d age groups %d at a time, one per core", len(jobs), workers)
	// largest first, so that the last group to start is a small one
	order := make([]int, len(jobs))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return jobs[order[a]].train.Rows > jobs[order[b]].train.Rows })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*groupResult, len(jobs))
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(order) || firstErr != nil {
					mu.Unlock()
					return
				}
				k := order[next]
				j := jobs[k]
				next++
				mu.Unlock()
				res, err := train(ctx, j)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel() // the other groups stop and save their checkpoints
					}
				} else {
					results[k] = &res
				}
				mu.Unlock()
				if err == nil {
					r.prog.groupDone(j.g.Name)
				}
			}
		}()
	}
	wg.Wait()
	for _, res := range results {
		if res != nil {
			own = append(own, *res)
		}
	}
	return own, firstErr
}

// trainJob trains one job's group (trainGroup).
func (r *run) trainJob(ctx context.Context, j groupJob) (groupResult, error) {
	return r.trainGroup(ctx, j.g, j.train, j.copies, j.vals)
}

// lockedWriter writes each call whole: the groups trained side by side
// print their epoch and log lines to the same stdout.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
