package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// unknownGrace is how long after creation a job the backend does not list is
// still given the benefit of the doubt (SageMaker's lists lag a little; a
// local job may belong to another local root).
const unknownGrace = 5 * time.Minute

// StopRefused starts the status message of a job whose cancel the backend
// keeps refusing; the reconciler asks again each round.
const StopRefused = "cancel requested, but the backend refused to stop the job (asking again): "

func oneLine(err error) string {
	m := err.Error()
	if i := strings.IndexByte(m, '\n'); i >= 0 {
		m = m[:i]
	}
	if len(m) > 400 {
		m = m[:400] + "..."
	}
	return m
}

// SecondaryFetchingArtifacts is the secondary status of a job whose
// training ended while its artifacts are not fetched yet.
const SecondaryFetchingArtifacts = "FetchingArtifacts"

// Run reconciles every PollInterval until ctx ends. Errors of a round are
// reported through onError (may be nil) and the loop goes on.
func (s *Service) Run(ctx context.Context) error {
	return s.RunWithErrors(ctx, nil)
}

// RunWithErrors is Run with a callback for each round's error.
func (s *Service) RunWithErrors(ctx context.Context, onError func(error)) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		if err := s.ReconcileOnce(ctx); err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ReconcileOnce claims the live jobs no other reconciler holds, brings each
// up to date with its backend (one Refresh per backend), creates those a
// crash left pending, passes cancel requests on, and on completion fetches
// and unpacks the artifacts and records the report. It releases its leases
// when done, so a one-shot CLI command does not hold jobs back from `serve`.
func (s *Service) ReconcileOnce(ctx context.Context) error { return s.reconcile(ctx, "") }

// ReconcileJob brings one job up to date, as ReconcileOnce does for all:
// a single-job command (status, logs, report, cancel) leases that job
// alone (store.ClaimOne) and asks its backend about it alone, however many
// jobs are live. An ended job needs nothing.
func (s *Service) ReconcileJob(ctx context.Context, id string) error {
	j, err := s.st.Get(ctx, id)
	if err != nil || j.Status.Terminal() {
		return err
	}
	return s.reconcile(ctx, j.ID)
}

// reconcile is one round over the claimed jobs: all live ones, or only the
// job with ID only.
func (s *Service) reconcile(ctx context.Context, only string) error {
	l := &leases{s: s, only: only, all: map[string]bool{}}
	claimed, err := l.renew(ctx)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	beat := make(chan struct{})
	go func() { l.heartbeat(ctx, stop); close(beat) }()
	defer func() {
		close(stop)
		<-beat
		l.releaseAll(context.WithoutCancel(ctx))
	}()
	var problems []error
	byBackend := map[string][]*store.Job{}
	for _, j := range claimed {
		if _, busy := s.launching.Load(j.ID); busy {
			continue // our own Submit is creating it right now
		}
		if j.RemoteARN == "" {
			if !l.holds(j.ID) {
				continue
			}
			if err := s.reconcilePending(ctx, j); err != nil {
				problems = append(problems, fmt.Errorf("job %s: %w", j.ID, err))
			}
			continue
		}
		byBackend[j.Backend] = append(byBackend[j.Backend], j)
	}
	for name, js := range byBackend {
		be, ok := s.backends[name]
		if !ok {
			continue // another process, configured for it, follows these
		}
		names := make([]string, len(js))
		for i, j := range js {
			names[i] = j.RemoteName
		}
		obs, err := be.Refresh(ctx, names)
		if err != nil {
			problems = append(problems, fmt.Errorf("refresh %s jobs: %w", name, err))
			continue
		}
		for _, j := range js {
			// A long round must not outlive its leases: renew them, and
			// leave a job another reconciler has taken since.
			if !l.holds(j.ID) {
				continue
			}
			o, known := obs[j.RemoteName]
			var err error
			if known {
				err = s.apply(ctx, be, j, o)
			} else {
				err = s.unknown(ctx, j)
			}
			if err != nil {
				problems = append(problems, fmt.Errorf("job %s: %w", j.ID, err))
			}
		}
	}
	return errors.Join(problems...)
}

// leases tracks what one reconcile round holds. Claim renews the owner's
// own leases, so while the round works a heartbeat re-claims every third of
// the TTL, and the round only goes on with jobs still its own: a slow
// artifact download never outlives the lease that protects it.
type leases struct {
	s    *Service
	mu   sync.Mutex
	only string // claim this job alone (ReconcileJob); "" claims all live jobs
	held map[string]bool
	all  map[string]bool // everything claimed this round, to release at the end
	lost bool            // a renewal failed: hold nothing until the next one works
}

func (l *leases) renew(ctx context.Context) ([]*store.Job, error) {
	js, err := l.claim(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.lost = true
		return nil, err
	}
	l.lost = false
	l.held = make(map[string]bool, len(js))
	for _, j := range js {
		l.held[j.ID], l.all[j.ID] = true, true
	}
	return js, nil
}

func (l *leases) claim(ctx context.Context) ([]*store.Job, error) {
	if l.only == "" {
		return l.s.st.Claim(ctx, l.s.owner, l.s.ttl, claimLimit)
	}
	j, err := l.s.st.ClaimOne(ctx, l.only, l.s.owner, l.s.ttl)
	if j == nil || err != nil {
		return nil, err
	}
	return []*store.Job{j}, nil
}

// heartbeat renews the leases every TTL/3 until stop is closed.
func (l *leases) heartbeat(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(l.s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = l.renew(ctx)
		}
	}
}

func (l *leases) holds(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.lost && l.held[id]
}

func (l *leases) releaseAll(ctx context.Context) {
	l.mu.Lock()
	ids := make([]string, 0, len(l.all))
	for id := range l.all {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	for _, id := range ids {
		_ = l.s.st.Release(ctx, id, l.s.owner)
	}
}

// reconcilePending handles a job whose backend job was never recorded.
func (s *Service) reconcilePending(ctx context.Context, j *store.Job) error {
	be, ok := s.backends[j.Backend]
	if !ok {
		return nil
	}
	if j.CancelRequested {
		// A Create that crashed half way may still have reached the backend.
		if err := be.Stop(ctx, j.RemoteName); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		_, err := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
			if cur.Status.Terminal() || cur.RemoteARN != "" {
				return nil, errUnchanged
			}
			now := store.Now()
			cur.Status, cur.SecondaryStatus, cur.StatusMessage = store.StatusStopped, "Stopped", "cancelled before it started"
			cur.EndedAt = &now
			return []store.Event{{At: now, Status: store.StatusStopped, SecondaryStatus: "Stopped", Message: cur.StatusMessage}}, nil
		})
		return err
	}
	// The claimed copy may predate our own Submit's launch: check the
	// launching set first, then read the row afresh.
	if _, busy := s.launching.Load(j.ID); busy {
		return nil
	}
	cur, err := s.st.Get(ctx, j.ID)
	if err != nil {
		return err
	}
	if cur.RemoteARN != "" || cur.Status.Terminal() {
		return nil
	}
	// Re-issue Create under the same name: the backend answers with the
	// existing ARN if the first attempt got through.
	_, err = s.launch(ctx, cur)
	return err
}

// unknown handles a created job the backend has no record of.
func (s *Service) unknown(ctx context.Context, j *store.Job) error {
	// Not at once, also for local jobs: a process started with another
	// local root must not condemn jobs it simply cannot see.
	if time.Since(j.CreatedAt) < unknownGrace {
		return nil
	}
	_, err := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		if cur.Status.Terminal() {
			return nil, errUnchanged
		}
		now := store.Now()
		cur.Status, cur.SecondaryStatus = store.StatusFailed, "Failed"
		cur.FailureReason = "the " + cur.Backend + " backend has no record of " + cur.RemoteName + " any more"
		cur.EndedAt = &now
		return []store.Event{{At: now, Status: store.StatusFailed, SecondaryStatus: "Failed", Message: cur.FailureReason}}, nil
	})
	return err
}

// apply brings one job's record up to date with an observation.
func (s *Service) apply(ctx context.Context, be backend.Backend, j *store.Job, o backend.Observation) error {
	stopRefused := false
	if j.CancelRequested && !o.Status.Terminal() {
		if err := be.Stop(ctx, j.RemoteName); err != nil && !errors.Is(err, errs.ErrNotFound) {
			// Shown, not hidden in a log: the job runs on, and so does the bill.
			o.Message, stopRefused = StopRefused+oneLine(err), true
		} else if o.Status != store.StatusStopping {
			o.Status, o.SecondaryStatus, o.Message = store.StatusStopping, "Stopping", "stop requested"
		}
	}
	var rep *collected
	var collectErr error
	if o.Status == store.StatusCompleted && len(j.Report) == 0 {
		// The claimed copy may be stale: fetch only if nobody has since.
		cur, err := s.st.Get(ctx, j.ID)
		if err != nil {
			return err
		}
		if cur.Status.Terminal() || len(cur.Report) > 0 {
			return nil
		}
		rep, collectErr = s.collect(ctx, be, j, o)
	}
	if wantsPartial(j, o) {
		if cur, err := s.st.Get(ctx, j.ID); err == nil && !cur.Status.Terminal() && len(cur.Report) == 0 {
			rep = s.collectPartial(ctx, be, j, o)
		}
	}
	_, err := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		if cur.Status.Terminal() {
			return nil, errUnchanged // someone recorded the end already
		}
		if o.Status == store.StatusCompleted && rep == nil && permanent(collectErr) {
			// The archives will never be acceptable: say so, once and for all.
			now := store.Now()
			cur.Status, cur.SecondaryStatus = store.StatusFailed, "Failed"
			cur.FailureReason = "the job completed but its artifacts were refused: " + collectErr.Error()
			cur.ModelArtifactURI, cur.OutputArtifactURI = o.ModelArtifacts, o.OutputArtifacts
			cur.EndedAt = &now
			return []store.Event{{At: now, Status: store.StatusFailed, SecondaryStatus: "Failed", Message: cur.FailureReason}}, nil
		}
		if o.Status == store.StatusCompleted && rep == nil {
			// Completed only goes in with its report; until then say what
			// is true: training ended, the artifacts are not here yet. For
			// a bounded time, then the job fails with the reason.
			ended := store.Now()
			if o.EndedAt != nil {
				ended = *o.EndedAt
			}
			now := store.Now()
			if now.Sub(ended) > s.artifactWait {
				cur.Status, cur.SecondaryStatus = store.StatusFailed, "Failed"
				cur.FailureReason = fmt.Sprintf("training completed but its artifacts could not be fetched within %s: %s", s.artifactWait, errString(collectErr))
				cur.ModelArtifactURI, cur.OutputArtifactURI = o.ModelArtifacts, o.OutputArtifacts
				cur.EndedAt = &now
				return []store.Event{{At: now, Status: store.StatusFailed, SecondaryStatus: "Failed", Message: cur.FailureReason}}, nil
			}
			msg := fmt.Sprintf("training completed; fetching the artifacts failed, retrying until %s: %s",
				ended.Add(s.artifactWait).Local().Format(time.DateTime), errString(collectErr))
			if cur.StatusMessage == msg && cur.SecondaryStatus == SecondaryFetchingArtifacts {
				return nil, errUnchanged
			}
			var events []store.Event
			if cur.SecondaryStatus != SecondaryFetchingArtifacts {
				events = []store.Event{{At: now, Status: store.StatusRunning, SecondaryStatus: SecondaryFetchingArtifacts, Message: msg}}
			}
			cur.Status, cur.SecondaryStatus, cur.StatusMessage = store.StatusRunning, SecondaryFetchingArtifacts, msg
			cur.ModelArtifactURI, cur.OutputArtifactURI = o.ModelArtifacts, o.OutputArtifacts
			return events, nil
		}
		events := newEvents(cur, o)
		if stopRefused && !strings.HasPrefix(cur.StatusMessage, StopRefused) && len(events) == 0 {
			events = []store.Event{{At: store.Now(), Status: o.Status, SecondaryStatus: o.SecondaryStatus, Message: o.Message}}
		}
		changed := len(events) > 0
		set := func(dst *string, v string) {
			if v != "" && *dst != v {
				*dst, changed = v, true
			}
		}
		if cur.Status != o.Status {
			cur.Status, changed = o.Status, true
		}
		set(&cur.SecondaryStatus, o.SecondaryStatus)
		set(&cur.StatusMessage, o.Message)
		set(&cur.FailureReason, o.FailureReason)
		set(&cur.ModelArtifactURI, o.ModelArtifacts)
		set(&cur.OutputArtifactURI, o.OutputArtifacts)
		if o.StartedAt != nil && (cur.StartedAt == nil || !cur.StartedAt.Equal(store.Micro(*o.StartedAt))) {
			t := store.Micro(*o.StartedAt)
			cur.StartedAt, changed = &t, true
		}
		if o.EndedAt != nil && o.Status.Terminal() && cur.EndedAt == nil {
			t := store.Micro(*o.EndedAt)
			cur.EndedAt, changed = &t, true
		}
		if o.BillableSeconds != cur.BillableSeconds && o.BillableSeconds > 0 {
			cur.BillableSeconds, changed = o.BillableSeconds, true
		}
		if rep != nil {
			cur.Report, cur.ArtifactDir, changed = rep.raw, rep.dir, true
		}
		if !changed {
			return nil, errUnchanged
		}
		return events, nil
	})
	return err
}

// permanent reports whether fetching artifacts failed for a reason a retry
// cannot fix: an unsafe or oversized archive.
func permanent(err error) bool {
	return errors.Is(err, artifacts.ErrUnsafeArchive) || errors.Is(err, artifacts.ErrArchiveTooLarge)
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// newEvents are the status changes o shows beyond the record: one per
// secondary transition the record has not seen, the last one carrying the
// job's current status.
func newEvents(cur *store.Job, o backend.Observation) []store.Event {
	if cur.Status == o.Status && (o.SecondaryStatus == "" || cur.SecondaryStatus == o.SecondaryStatus) {
		return nil
	}
	// Transitions after the last one the record knows.
	start := 0
	for i := len(o.Transitions) - 1; i >= 0; i-- {
		if o.Transitions[i].Status == cur.SecondaryStatus {
			start = i + 1
			break
		}
	}
	var events []store.Event
	for i := start; i < len(o.Transitions); i++ {
		tr := o.Transitions[i]
		st := tr.JobStatus // the backend mapped it
		if st == "" || i == len(o.Transitions)-1 {
			st = o.Status // the last one is the job's status now; "" from a state.json older than JobStatus
		}
		events = append(events, store.Event{At: store.Micro(tr.StartTime), Status: st, SecondaryStatus: tr.Status, Message: tr.StatusMessage})
	}
	last := store.Event{}
	if n := len(events); n > 0 {
		last = events[n-1]
	}
	if len(events) == 0 || last.Status != o.Status || (o.SecondaryStatus != "" && last.SecondaryStatus != o.SecondaryStatus) {
		events = append(events, store.Event{At: store.Now(), Status: o.Status, SecondaryStatus: o.SecondaryStatus, Message: o.Message})
	}
	return events
}
