package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/sagetrain/sagetrain/internal/store"
)

// jobsBar is the progress display of a followed job: stage, age groups
// trained out of all, elapsed time, the current epoch and losses.
//
// The bar is made with total 0 so that mpb never completes it on its own:
// with a starting total of 1, mpb's completion threshold stays 1 whatever
// SetTotal(n, false) says, so the bar froze as "done" after the first group.
// It ends only in finish, after the final state has been set.
type jobsBar struct {
	p   *mpb.Progress
	bar *mpb.Bar

	mu    sync.Mutex
	stage string
	prog  jobsProgress
}

func jobsStage(j *store.Job) string {
	s := string(j.Status)
	if j.SecondaryStatus != "" {
		s += " (" + j.SecondaryStatus + ")"
	}
	return s
}

func newJobsBar(ctx context.Context, out io.Writer, width int) *jobsBar {
	b := &jobsBar{stage: "waiting", prog: jobsProgress{done: map[string]int{}}}
	b.p = mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithWidth(width), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	b.bar = b.p.AddBar(0,
		mpb.PrependDecorators(
			decor.Any(func(decor.Statistics) string { b.mu.Lock(); defer b.mu.Unlock(); return fmt.Sprintf("%-22s", b.stage) }),
			decor.Any(func(decor.Statistics) string {
				b.mu.Lock()
				defer b.mu.Unlock()
				if len(b.prog.groups) == 0 {
					return "groups ?/?"
				}
				return fmt.Sprintf("groups %d/%d", len(b.prog.done), len(b.prog.groups))
			}, decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(
			decor.Elapsed(decor.ET_STYLE_MMSS, decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string {
				b.mu.Lock()
				defer b.mu.Unlock()
				if b.prog.group == "" {
					// Before the first epoch: what the trainer is doing (loading, splitting).
					line := strings.TrimPrefix(b.prog.lastLine, "[trainer] ")
					if len(line) > 70 {
						line = line[:70] + "…"
					}
					return " " + line
				}
				return fmt.Sprintf(" group %s epoch %d train_loss %s val_loss %s%s", b.prog.group, b.prog.epoch, b.prog.trainLoss, b.prog.valLoss, b.prog.eta())
			}),
		),
	)
	return b
}

// update shows a new state; the bar's total is the number of age groups.
func (b *jobsBar) update(stage string, pr jobsProgress) {
	b.mu.Lock()
	b.stage, b.prog = stage, pr
	b.mu.Unlock()
	if n := int64(len(pr.groups)); n > 0 {
		b.bar.SetTotal(n, false)
		b.bar.SetCurrent(int64(len(pr.done)))
	}
}

// finish draws the final state and ends the display: a completed job's bar
// full, any other end (failed, stopped, no longer followed) where it was.
func (b *jobsBar) finish(j *store.Job) {
	if j != nil {
		b.mu.Lock()
		b.stage = jobsStage(j)
		b.mu.Unlock()
	}
	if j != nil && j.Status == store.StatusCompleted {
		b.bar.SetTotal(-1, true)
	} else {
		b.bar.Abort(false)
	}
	b.p.Wait()
}
