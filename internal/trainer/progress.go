package trainer

// The progress record (progress.Record) is written as a "progress: {json}"
// line on stdout: it reaches the job's log on both backends (the local log
// file, CloudWatch for SageMaker), and the service and the CLI's watch read
// the last one. The same record is kept in output/progress.json.

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// progressTracker writes the progress record at most once a second, and
// at every group's end.
// Groups trained side by side (grouptraining.go) report to it from their
// own goroutines: the record shows the latest epoch of any group, and its
// ETA counts the epochs of every group in training.
type progressTracker struct {
	mu          sync.Mutex
	l           Layout
	out         io.Writer
	host        string
	start, last time.Time
	p           progress.Record
	inFlight    map[string]int // epochs done of each group in training
}

func newProgress(l Layout, out io.Writer, host string, groups, epochs int) *progressTracker {
	return &progressTracker{l: l, out: out, host: host, start: time.Now(), inFlight: map[string]int{},
		p: progress.Record{GroupsTotal: groups, TotalEpochs: epochs, Host: host}}
}

func (t *progressTracker) epoch(group string, e autoencoder.EpochStats) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight[group] = e.Epoch
	t.p.Group, t.p.Epoch, t.p.TrainLoss = group, e.Epoch, e.TrainLoss
	t.p.ValLoss = nil
	if !math.IsNaN(e.ValLoss) && !math.IsInf(e.ValLoss, 0) {
		v := e.ValLoss
		t.p.ValLoss = &v
	}
	if time.Since(t.last) >= time.Second {
		t.write()
	}
}

func (t *progressTracker) groupDone(group string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inFlight, group)
	t.p.GroupsDone++
	t.p.Epoch = t.p.TotalEpochs // the group is done, whatever early stopping did
	t.write()
}

func (t *progressTracker) write() {
	t.last = time.Now()
	el := time.Since(t.start).Seconds()
	t.p.ElapsedSeconds = math.Round(el*10) / 10
	t.p.At = t.last.UTC().Format(time.RFC3339)
	done := float64(t.p.GroupsDone)
	if t.p.TotalEpochs > 0 && t.p.GroupsDone < t.p.GroupsTotal {
		for _, e := range t.inFlight {
			done += float64(min(e, t.p.TotalEpochs)) / float64(t.p.TotalEpochs)
		}
	}
	t.p.ETASeconds = nil
	if done > 0 && t.p.GroupsTotal > 0 {
		eta := math.Max(0, el/done*(float64(t.p.GroupsTotal)-done))
		eta = math.Round(eta*10) / 10
		t.p.ETASeconds = &eta
	}
	line := progress.Format(t.p)
	fmt.Fprintln(t.out, line)
	// Best effort: the log line is the record that both backends carry.
	_ = writeFileAtomic(filepath.Join(t.l.Root, "output", progress.File), []byte(strings.TrimPrefix(line, progress.Prefix)+"\n"))
}
