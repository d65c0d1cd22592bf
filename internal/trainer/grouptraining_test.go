package trainer

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

func jobsOf(rows ...int) []groupJob {
	var jobs []groupJob
	for i, n := range rows {
		jobs = append(jobs, groupJob{g: AgeGroup{Name: string(rune('a' + i))}, train: autoencoder.Matrix{Rows: n}})
	}
	return jobs
}

// startLog records the groups a fake train function was started on, from
// the scheduler's goroutines.
type startLog struct {
	mu    sync.Mutex
	names []string
}

func (s *startLog) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, name)
}

// Side by side, the largest group starts first, every group is trained once,
// and the results come back in the jobs' order.
func TestTrainGroupsRunsEachOnceLargestFirst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	r := &run{out: io.Discard}
	var log startLog
	own, err := r.trainGroups(context.Background(), jobsOf(10, 50, 30, 20), func(_ context.Context, j groupJob) (groupResult, error) {
		log.add(j.g.Name)
		time.Sleep(time.Duration(j.train.Rows) * time.Millisecond)
		return groupResult{Name: j.g.Name}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, res := range own {
		names = append(names, res.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c", "d"}) {
		t.Errorf("results %v, want the jobs' order a b c d", names)
	}
	if started := log.names; len(started) != 4 || started[0] != "b" && started[1] != "b" {
		t.Errorf("started %v, want each once and the largest (b) among the first two", started)
	}
}

// When a group fails, the one training beside it is stopped through its
// context, no other group starts, and the first error is returned with the
// groups that did finish.
func TestTrainGroupsStopsTheOthersOnAnError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	r := &run{out: io.Discard}
	boom := errors.New("group b diverged")
	var log startLog
	own, err := r.trainGroups(context.Background(), jobsOf(100, 90, 10, 5), func(ctx context.Context, j groupJob) (groupResult, error) {
		log.add(j.g.Name)
		switch j.g.Name {
		case "a": // the largest: trains until stopped
			select {
			case <-ctx.Done():
				return groupResult{}, ctx.Err()
			case <-time.After(10 * time.Second):
				return groupResult{Name: "a"}, nil
			}
		case "b":
			time.Sleep(20 * time.Millisecond)
			return groupResult{}, boom
		}
		return groupResult{Name: j.g.Name}, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the failed group's", err)
	}
	if len(own) != 0 {
		t.Errorf("finished %v, want none (a was stopped, c and d never started)", own)
	}
	if slices.Contains(log.names, "c") || slices.Contains(log.names, "d") {
		t.Errorf("started %v after the failure", log.names)
	}
}
