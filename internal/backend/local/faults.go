package local

import (
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/excerpt"
	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// StateFaultGrace is how long a job's state may stay unreadable before
// Refresh reports the job failed (a passing fault, such as a file being
// restored, heals before).
const StateFaultGrace = 30 * time.Second

// stateFaults remembers, per job, the last good observation and since when
// its state has been unreadable.
type stateFaults struct {
	mu    sync.Mutex
	grace time.Duration
	last  map[string]backend.Observation
	since map[string]time.Time
}

func newStateFaults() *stateFaults {
	return &stateFaults{grace: StateFaultGrace, last: map[string]backend.Observation{}, since: map[string]time.Time{}}
}

func (f *stateFaults) ok(name string, o backend.Observation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.since, name)
	if o.Status.Terminal() {
		delete(f.last, name)
	} else {
		f.last[name] = o
	}
}

// observe records a failed read of name and returns what to show for it.
func (f *stateFaults) observe(name string, err error, now time.Time) (backend.Observation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	first, seen := f.since[name]
	if !seen {
		first = now
		f.since[name] = now
	}
	if now.Sub(first) >= f.grace {
		end := now.UTC()
		o := f.last[name]
		o.RemoteName, o.ARN = name, ARN(name)
		o.Status, o.SecondaryStatus = jobtype.StatusFailed, "Failed"
		o.Message = "Training job failed"
		o.FailureReason = "InternalServerError: the local job's files could not be read for " + f.grace.String() + ": " + excerpt.Clean(err.Error(), 300)
		o.EndedAt, o.LastModified = &end, end
		delete(f.since, name)
		delete(f.last, name)
		return o, true
	}
	o, ok := f.last[name]
	if ok {
		o.Message = "cannot read the job's state, showing the last seen: " + excerpt.Clean(err.Error(), 200)
	}
	return o, ok
}
