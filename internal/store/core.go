package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Core is the Store contract written once: defaults, idempotency,
// name-or-id resolution, events derived from updates, version bookkeeping,
// claim limits and ordering. It reaches the database only through a Driver,
// whose methods run one dialect's SQL and decide nothing (river's split
// between the root package and riverpgxv5/riversqlite).
type Core struct {
	d   Driver
	now func() time.Time
}

// Option configures a Core.
type Option func(*Core)

// WithClock makes the rules read the time from now (tests use a fixed or
// stepping clock). PostgreSQL leases still use the database's clock.
func WithClock(now func() time.Time) Option {
	return func(c *Core) {
		if now != nil {
			c.now = now
		}
	}
}

// NewCore returns the Store over d. d must also be a ModelDriver,
// SweepDriver and OutboxDriver for Core's ModelStore, SweepStore and Outbox
// methods (both drivers are).
func NewCore(d Driver, opts ...Option) *Core {
	c := &Core{d: d, now: Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Now is the Core's clock, to microseconds, UTC.
func (c *Core) Now() time.Time { return Micro(c.now()) }

// Driver runs one SQL dialect's statements for Core. Reads return (nil, nil)
// when no row matches; the rules about what that means live in Core.
type Driver interface {
	// Write runs fn in one write transaction (BEGIN IMMEDIATE for SQLite).
	Write(ctx context.Context, fn func(tx DriverTx) error) error

	JobByID(ctx context.Context, id string) (*Job, error)
	// JobByRemoteName is the newest job with that remote name.
	JobByRemoteName(ctx context.Context, name string) (*Job, error)
	// JobWithEvents reads a job by ID and its events, in one round trip
	// where the database allows; a nil job when the ID matches none.
	JobWithEvents(ctx context.Context, id string) (*Job, []Event, error)
	// Events are a job's events by seq (none for an unknown ID).
	Events(ctx context.Context, jobID string) ([]Event, error)
	// ListJobs reads up to q.Limit jobs newest first.
	ListJobs(ctx context.Context, q ListQuery) ([]*Job, error)
	// ClaimJobs leases up to limit live jobs to owner for ttl: its own
	// first, then the least recently claimed. now is Core's clock; a
	// driver may use the database's instead (PostgreSQL does, so skewed
	// hosts agree on leases).
	ClaimJobs(ctx context.Context, owner string, ttl time.Duration, limit int, now time.Time) ([]*Job, error)
	// ClaimJob leases the one live job id to owner for ttl under the same
	// rules; nil when it is ended, unknown or another owner's.
	ClaimJob(ctx context.Context, id, owner string, ttl time.Duration, now time.Time) (*Job, error)
	ReleaseJob(ctx context.Context, id, owner string) error
	// Count runs a "key, count(*) ... GROUP BY key" query (Core's SQL:
	// the counts are the same in every dialect).
	Count(ctx context.Context, query string) (map[string]int64, error)
	Ping(ctx context.Context) error
	Close() error
	// Wrap names a failed operation in the driver's words; sagetrain
	// errors pass unchanged.
	Wrap(op string, err error) error
}

// DriverTx is a Driver's write transaction.
type DriverTx interface {
	// InsertJob inserts job; false (and nil) when its idempotency key is
	// taken, a Conflict when its ID is.
	InsertJob(ctx context.Context, job *Job) (inserted bool, err error)
	JobByKey(ctx context.Context, key string) (*Job, error)
	// UpdateJob writes job at now if the stored version is job.Version,
	// bumping it, and returns the status it replaced; updated is false
	// (and nil) when no row has that ID and version.
	UpdateJob(ctx context.Context, job *Job, now time.Time) (old Status, oldSecondary string, updated bool, err error)
	// JobVersion is the stored version of a job; false when there is none.
	JobVersion(ctx context.Context, id string) (int64, bool, error)
	// InsertEvents appends events to the job's history and to the outbox.
	InsertEvents(ctx context.Context, job *Job, events []Event) error
}

// ListQuery is a ListFilter checked and decoded by Core for a driver.
type ListQuery struct {
	Statuses []string // distinct, valid; none means any
	Backend  string
	SweepID  string
	NoTrials bool
	Term     string  // SearchTerm of NameContains; "" means any
	Cursor   *Cursor // nil on the first page
	Limit    int     // rows to read (a page and one more)
	Summary  bool
}

var _ Store = (*Core)(nil)

// Create inserts job and its first event, or returns the job already
// holding job.IdempotencyKey. Concurrent Creates with one key make one row:
// the insert is tried first and the key's holder read when it is taken.
func (c *Core) Create(ctx context.Context, job *Job) (*Job, bool, error) {
	if err := PrepareNewAt(job, c.Now()); err != nil {
		return nil, false, err
	}
	var existing *Job
	err := c.d.Write(ctx, func(tx DriverTx) error {
		ok, err := tx.InsertJob(ctx, job)
		if err != nil {
			return err
		}
		if !ok {
			existing, err = tx.JobByKey(ctx, job.IdempotencyKey)
			if err == nil && existing == nil {
				err = fmt.Errorf("idempotency key %q taken by no job", job.IdempotencyKey)
			}
			return err
		}
		return tx.InsertEvents(ctx, job, []Event{{JobID: job.ID, At: job.CreatedAt, Status: job.Status,
			SecondaryStatus: job.SecondaryStatus, Message: job.StatusMessage}})
	})
	if err != nil {
		return nil, false, c.d.Wrap("create job", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	return job, true, nil
}

// Get returns a job by ID, else by RemoteName (the newest such job).
func (c *Core) Get(ctx context.Context, id string) (*Job, error) {
	if id == "" {
		return nil, errs.NotFound("job \"\"")
	}
	j, err := c.d.JobByID(ctx, id)
	if err == nil && j == nil {
		j, err = c.d.JobByRemoteName(ctx, id)
	}
	if err != nil {
		return nil, c.d.Wrap("get job", err)
	}
	if j == nil {
		return nil, errs.NotFound(fmt.Sprintf("job %q", id))
	}
	return j, nil
}

// List returns jobs newest first with keyset pagination.
func (c *Core) List(ctx context.Context, f ListFilter) ([]*Job, string, error) {
	limit := ListLimit(f.Limit)
	statuses, err := DistinctStatuses(f.Statuses)
	if err != nil {
		return nil, "", err
	}
	q := ListQuery{Statuses: statuses, Backend: f.Backend, SweepID: f.SweepID, NoTrials: f.NoTrials,
		Term: SearchTerm(f.NameContains), Limit: limit + 1, Summary: f.Summary}
	if f.Cursor != "" {
		cur, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q.Cursor = &cur
	}
	jobs, err := c.d.ListJobs(ctx, q)
	if err != nil {
		return nil, "", c.d.Wrap("list jobs", err)
	}
	next := ""
	if len(jobs) > limit {
		jobs = jobs[:limit]
		last := jobs[limit-1]
		next = EncodeCursor(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return jobs, next, nil
}

// Update writes job if its Version is still the stored one. When no events
// are given and the status or secondary status changed, it records that
// change as an event itself, so the history never misses a transition.
func (c *Core) Update(ctx context.Context, job *Job, events ...Event) error {
	if !job.Status.Valid() {
		return InvalidStatus(job.Status)
	}
	now := c.Now()
	err := c.d.Write(ctx, func(tx DriverTx) error {
		old, oldSecondary, ok, err := tx.UpdateJob(ctx, job, now)
		if err != nil {
			return err
		}
		if !ok {
			version, found, err := tx.JobVersion(ctx, job.ID)
			if err != nil {
				return err
			}
			if !found {
				return errs.NotFound(fmt.Sprintf("job %q", job.ID))
			}
			return Conflict(fmt.Sprintf("job %s was updated by someone else (version %d, yours %d)", job.ID, version, job.Version))
		}
		evs := UpdateEvents(job, events, old, oldSecondary, now)
		for _, e := range evs {
			if !e.Status.Valid() {
				return InvalidStatus(e.Status)
			}
		}
		return tx.InsertEvents(ctx, job, evs)
	})
	if err != nil {
		return c.d.Wrap("update job "+job.ID, err)
	}
	job.Version++
	job.UpdatedAt = now
	job.StartedAt = MicroPtr(job.StartedAt)
	job.EndedAt = MicroPtr(job.EndedAt)
	return nil
}

// Events returns a job's status changes, oldest first. Every job has its
// creation event, so none means no such ID: then the ID is tried as a
// remote name, as Get does.
func (c *Core) Events(ctx context.Context, id string) ([]Event, error) {
	evs, err := c.d.Events(ctx, id)
	if err != nil {
		return nil, c.d.Wrap("list events", err)
	}
	if len(evs) > 0 {
		return evs, nil
	}
	j, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.ID == id {
		return evs, nil
	}
	evs, err = c.d.Events(ctx, j.ID)
	return evs, c.d.Wrap("list events", err)
}

// GetWithEvents is Get and Events together.
func (c *Core) GetWithEvents(ctx context.Context, id string) (*Job, []Event, error) {
	if id == "" {
		return nil, nil, errs.NotFound("job \"\"")
	}
	j, evs, err := c.d.JobWithEvents(ctx, id)
	if err != nil {
		return nil, nil, c.d.Wrap("get job", err)
	}
	if j != nil {
		return j, evs, nil
	}
	// Not an id: perhaps the backend's job name, as Get accepts.
	if j, err = c.Get(ctx, id); err != nil {
		return nil, nil, err
	}
	if evs, err = c.d.Events(ctx, j.ID); err != nil {
		return nil, nil, c.d.Wrap("list events", err)
	}
	return j, evs, nil
}

// Claim leases up to limit live jobs to owner for ttl, oldest first. A
// limit of 0 or less means 100.
func (c *Core) Claim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*Job, error) {
	if owner == "" {
		return nil, errs.Configuration("claim needs an owner name", "pass a non-empty owner (e.g. host:pid)", nil)
	}
	if limit <= 0 {
		limit = 100
	}
	jobs, err := c.d.ClaimJobs(ctx, owner, ttl, limit, c.Now())
	if err != nil {
		return nil, c.d.Wrap("claim jobs", err)
	}
	SortOldestFirst(jobs) // RETURNING has no guaranteed order
	return jobs, nil
}

// ClaimOne leases the one job id to owner for ttl, under Claim's rules,
// without touching any other job's lease: a single-job command (status ID)
// reconciles that job alone, however many are live. It returns nil, no
// error, when the job is ended, unknown or leased to another live owner.
func (c *Core) ClaimOne(ctx context.Context, id, owner string, ttl time.Duration) (*Job, error) {
	if owner == "" {
		return nil, errs.Configuration("claim needs an owner name", "pass a non-empty owner (e.g. host:pid)", nil)
	}
	j, err := c.d.ClaimJob(ctx, id, owner, ttl, c.Now())
	if err != nil {
		return nil, c.d.Wrap("claim job "+id, err)
	}
	return j, nil
}

// Release gives up owner's lease on a job.
func (c *Core) Release(ctx context.Context, id, owner string) error {
	return c.d.Wrap("release job "+id, c.d.ReleaseJob(ctx, id, owner))
}

// CountByStatus returns the number of jobs in every status (0 included).
func (c *Core) CountByStatus(ctx context.Context) (map[Status]int64, error) {
	counts, err := c.d.Count(ctx, "SELECT status, count(*) FROM jobs GROUP BY status")
	if err != nil {
		return nil, c.d.Wrap("count jobs", err)
	}
	out := make(map[Status]int64, len(AllStatuses))
	for _, st := range AllStatuses {
		out[st] = 0
	}
	for st, n := range counts {
		out[Status(st)] = n
	}
	return out, nil
}

// Ping checks the store is reachable.
func (c *Core) Ping(ctx context.Context) error { return c.d.Ping(ctx) }

// Close closes the driver.
func (c *Core) Close() error { return c.d.Close() }

// SortOldestFirst orders jobs by creation time, then ID.
func SortOldestFirst(jobs []*Job) {
	for i := 1; i < len(jobs); i++ {
		for k := i; k > 0 && CreatedBefore(jobs[k], jobs[k-1]); k-- {
			jobs[k], jobs[k-1] = jobs[k-1], jobs[k]
		}
	}
}
