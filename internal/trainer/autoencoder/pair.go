package autoencoder

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// A training step runs about thirty products, each a fraction of a
// millisecond. Handing half of one to a new goroutine costs a wake-up of an
// idle OS thread (tens of microseconds), which ate the whole gain of the
// second core. So a second core's work goes to one long-lived partner
// goroutine that spins for a short while after each task, ready for the next
// product of the same step, and sleeps on a channel once training pauses.
//
// Work is only ever split, never reordered: what each half computes does not
// depend on whether the partner or the caller runs it, so results stay the
// same bytes on one core or two.

// spinFor is how long the partner waits, busy, for the next task before it
// sleeps: longer than the gap between two products of a step, short enough
// that an idle trainer does not hold a core.
const spinFor = 200 * time.Microsecond

// The fields the two cores spin on sit on cache lines of their own: the
// partner watches task and the caller watches done, and a spinning read of a
// line that the other core writes (or a write next to it) bounces the line
// between the cores on every turn of both loops.
type partner struct {
	mu      sync.Mutex // held by the caller that owns the partner for one task
	wake    chan struct{}
	started sync.Once
	_       cpu.CacheLinePad
	task    atomic.Pointer[func()]
	_       cpu.CacheLinePad
	done    atomic.Bool
	_       cpu.CacheLinePad
	asleep  atomic.Bool
	_       cpu.CacheLinePad
}

var thePartner = &partner{wake: make(chan struct{}, 1)}

// trainings counts the Train calls running in the process. When there are
// two or more (a trainer that trains several networks side by side, one per
// core), each runs its products on its own goroutine: two networks, one on
// each core, go faster than the two sharing both cores product by product
// (there is one partner, and its hand-offs cost). When one is left it splits
// its products again, from the next product on. Bytes do not depend on it.
var trainings atomic.Int32

// inPair runs hi on another core and lo on this one and returns when both
// are done. When there is one core, two trainings run (see trainings), or
// the partner is busy with another caller's task, both run here, one after
// the other.
func inPair(lo, hi func()) {
	p := thePartner
	if runtime.GOMAXPROCS(0) < 2 || trainings.Load() > 1 || !p.mu.TryLock() {
		lo()
		hi()
		return
	}
	defer p.mu.Unlock()
	p.started.Do(func() { go p.loop() })
	p.done.Store(false)
	p.task.Store(&hi)
	if p.asleep.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	lo()
	for i := 0; !p.done.Load(); i++ {
		if i&1023 == 1023 {
			runtime.Gosched() // let the partner in if it shares this P
		}
	}
}

func (p *partner) loop() {
	for {
		deadline := time.Now().Add(spinFor)
		for i := 0; ; i++ {
			// Load first: a Swap in the loop would write the line on every
			// turn, and the caller's Store would have to win it back.
			if p.task.Load() != nil {
				if t := p.task.Swap(nil); t != nil {
					(*t)()
					p.done.Store(true)
					deadline = time.Now().Add(spinFor)
					continue
				}
			}
			if i&255 == 255 && time.Now().After(deadline) {
				break
			}
		}
		// Announce the sleep, then look once more: a task stored before the
		// announcement is seen here (and run by the spin above); one stored
		// after it sends a wake-up.
		p.asleep.Store(true)
		if p.task.Load() == nil {
			<-p.wake
		}
		p.asleep.Store(false)
	}
}
