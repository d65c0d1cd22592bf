package trainer

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// ProgressPrefix starts the trainer's structured progress lines on stdout:
// "progress: {json}" (a Progress). They reach the job's log on both
// backends (the local log file, CloudWatch for SageMaker); the service and
// the CLI's watch read the last one. The same record is kept in
// output/progress.json under the ml-root.
const ProgressPrefix = "progress: "

// ProgressFile is the progress record's file under the ml-root's output/.
const ProgressFile = "progress.json"

// Progress is where training stands.
type Progress struct {
	Group          string   `json:"group"`           // the group training now
	Epoch          int      `json:"epoch"`           // its last finished epoch
	TotalEpochs    int      `json:"total_epochs"`    // the epochs limit (early stopping may end sooner)
	GroupsDone     int      `json:"groups_done"`     // groups of this host finished
	GroupsTotal    int      `json:"groups_total"`    // groups this host trains
	TrainLoss      float64  `json:"train_loss"`      // of the last epoch
	ValLoss        *float64 `json:"val_loss"`        // of the last epoch; null without validation data
	ElapsedSeconds float64  `json:"elapsed_seconds"` // since training of the groups began
	ETASeconds     *float64 `json:"eta_seconds"`     // at most this much more (epochs limit); null before the first epoch
	Host           string   `json:"host"`
	At             string   `json:"at"` // RFC 3339
}

// progressTracker writes the progress record at most once a second, and
// at every group's end.
type progressTracker struct {
	l           Layout
	out         io.Writer
	host        string
	start, last time.Time
	p           Progress
}

func newProgress(l Layout, out io.Writer, host string, groups, epochs int) *progressTracker {
	return &progressTracker{l: l, out: out, host: host, start: time.Now(), p: Progress{GroupsTotal: groups, TotalEpochs: epochs, Host: host}}
}

func (t *progressTracker) epoch(group string, e autoencoder.EpochStats) {
	if t == nil {
		return
	}
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

func (t *progressTracker) groupDone() {
	if t == nil {
		return
	}
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
		done += float64(min(t.p.Epoch, t.p.TotalEpochs)) / float64(t.p.TotalEpochs)
	}
	t.p.ETASeconds = nil
	if done > 0 && t.p.GroupsTotal > 0 {
		eta := math.Max(0, el/done*(float64(t.p.GroupsTotal)-done))
		eta = math.Round(eta*10) / 10
		t.p.ETASeconds = &eta
	}
	b, err := json.Marshal(t.p)
	if err != nil {
		return
	}
	fmt.Fprintf(t.out, "%s%s\n", ProgressPrefix, b)
	// Best effort: the log line is the record that both backends carry.
	_ = writeFileAtomic(filepath.Join(t.l.Root, "output", ProgressFile), append(b, '\n'))
}
