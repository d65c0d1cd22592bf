package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// Defaults of Options.
const (
	DefaultPoll        = time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultLeaseTTL    = 60 * time.Second
	DefaultMaxAttempts = 15
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	claimBatch         = 64
	workers            = 8
)

// Destination is one serve-level webhook.
type Destination struct {
	URL    string
	Format string   // FormatJSON (default) or FormatSlack
	Events []string // event types sent there (see Matches); empty means all
}

// Options configure a Sender. Zero values take the defaults.
type Options struct {
	Outbox       store.Outbox
	Destinations []Destination
	// Secret signs every body (X-Sagetrain-Signature); nil sends none.
	Secret []byte
	// AllowPrivateNotify lets a job's own notify_urls reach loopback,
	// private and link-local addresses (the serve-level destinations,
	// set by the operator, always may).
	AllowPrivateNotify bool

	Owner       string
	Poll        time.Duration // time between claims when idle
	Timeout     time.Duration // per delivery attempt
	LeaseTTL    time.Duration // default: 60 s, or longer than one pass over every destination
	MaxAttempts int
	BaseBackoff time.Duration // the first retry's delay; doubled each attempt
	MaxBackoff  time.Duration
	Logger      *slog.Logger
	Metrics     *Metrics // may be nil
}

// Sender delivers the outbox. Safe for one Run per Sender; run one Sender
// per process (several processes may share one store).
type Sender struct {
	o       Options
	trusted *deliverer
	notify  *deliverer
	wake    chan struct{}
}

// New returns a Sender with o's defaults filled in.
func New(o Options) (*Sender, error) {
	if o.Outbox == nil {
		return nil, errors.New("events: no outbox")
	}
	for _, d := range o.Destinations {
		if err := CheckURL(d.URL); err != nil {
			return nil, err
		}
		if d.Format != "" && d.Format != FormatJSON && d.Format != FormatSlack {
			return nil, fmt.Errorf("events: unknown format %q for %s: use %s or %s", d.Format, d.URL, FormatJSON, FormatSlack)
		}
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LeaseTTL <= 0 {
		// A lease must outlast one pass over every destination.
		o.LeaseTTL = max(DefaultLeaseTTL, o.Timeout*time.Duration(len(o.Destinations)+maxNotifyURLs+1))
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{o: o, trusted: newDeliverer(o.Timeout, true), notify: newDeliverer(o.Timeout, o.AllowPrivateNotify),
		wake: make(chan struct{}, 1)}, nil
}

// Owner is this sender's lease identity.
func (s *Sender) Owner() string { return s.o.Owner }

// Wake makes a running sender claim at once (after a local status change).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		n, err := s.Once(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.o.Logger.Warn("event delivery pass failed; retrying", "err", err)
		}
		next := s.o.Poll
		if n > 0 {
			next = 0 // the next event of those jobs is due now
		}
		t.Reset(next)
	}
}

// Once claims the due events and works on them; it returns how many it
// worked on.
func (s *Sender) Once(ctx context.Context) (int, error) {
	evs, err := s.o.Outbox.ClaimOutbox(ctx, s.o.Owner, s.o.LeaseTTL, claimBatch)
	if err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	// Each claimed event is the head of a different job's queue: they may
	// go out in parallel without breaking any job's order.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, workers)
	for _, ev := range evs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.work(ctx, ev); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(evs), errors.Join(errs...)
}

// target is one destination of one event.
type target struct {
	url    string
	format string
	d      *deliverer
}

// targets are the event's destinations: the serve-level ones that want its
// type, then the job's own.
func (s *Sender) targets(ev *store.OutboxEvent) []target {
	var out []target
	seen := map[string]bool{}
	for _, d := range s.o.Destinations {
		if !Matches(d.Events, ev.Type) || seen[d.URL] {
			continue
		}
		seen[d.URL] = true
		out = append(out, target{url: d.URL, format: d.Format, d: s.trusted})
	}
	for i, u := range ev.NotifyURLs {
		if i >= maxNotifyURLs || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, target{url: u, format: FormatJSON, d: s.notify})
	}
	return out
}

func (s *Sender) work(ctx context.Context, ev *store.OutboxEvent) error {
	done := slices.Clone(ev.DoneURLs)
	var lastErr error
	attempted := false
	for _, t := range s.targets(ev) {
		if slices.Contains(done, t.url) {
			continue
		}
		attempted = true
		start := time.Now()
		res, err := t.d.post(ctx, t.url, t.format, ev, s.o.Secret)
		s.o.Metrics.observeDelivery(res, time.Since(start))
		if err != nil {
			if ctx.Err() != nil {
				return nil // shutting down: the lease runs out and the event is retried
			}
			lastErr = err
			s.o.Logger.Info("webhook delivery failed; will retry", "event", ev.ID, "job", ev.JobID, "url", redact(t.url), "attempt", ev.Attempts+1, "err", err)
			continue
		}
		done = append(done, t.url)
	}
	r := store.OutboxResult{DoneURLs: done, Attempted: attempted, State: store.OutboxDelivered}
	if lastErr != nil {
		r.LastError = lastErr.Error()
		if ev.Attempts+1 >= s.o.MaxAttempts {
			r.State = store.OutboxFailed
			s.o.Logger.Warn("webhook delivery given up", "event", ev.ID, "job", ev.JobID, "attempts", ev.Attempts+1, "err", lastErr)
		} else {
			r.State = store.OutboxPending
			r.NextAttemptAt = time.Now().Add(s.backoff(ev.Attempts + 1))
		}
	}
	ok, err := s.o.Outbox.FinishOutbox(context.WithoutCancel(ctx), ev.Seq, s.o.Owner, r)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	if ok {
		s.o.Metrics.observeEvent(r.State)
	}
	return nil
}

// backoff is the delay before attempt n+1 after n failed ones: BaseBackoff
// doubled each time, up to MaxBackoff, with up to 20 % jitter so many
// failing events do not retry in lock step.
func (s *Sender) backoff(n int) time.Duration {
	d := float64(s.o.BaseBackoff) * math.Pow(2, float64(n-1))
	if d > float64(s.o.MaxBackoff) {
		d = float64(s.o.MaxBackoff)
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	return time.Duration(d * (1 + 0.2*float64(b[0])/255))
}
