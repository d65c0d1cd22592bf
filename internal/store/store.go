package store

import (
	"context"
	"time"

	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// Status, Job and Event live in the leaf package jobtype, so that a backend
// can say "running" without importing the storage layer; these aliases keep
// store.Job and friends working for every caller.
type (
	// Status is jobtype.Status.
	Status = jobtype.Status
	// Job is jobtype.Job.
	Job = jobtype.Job
	// Event is jobtype.Event.
	Event = jobtype.Event
)

// The statuses, re-exported from jobtype.
const (
	StatusPending   = jobtype.StatusPending
	StatusPreparing = jobtype.StatusPreparing
	StatusRunning   = jobtype.StatusRunning
	StatusStopping  = jobtype.StatusStopping
	StatusStopped   = jobtype.StatusStopped
	StatusCompleted = jobtype.StatusCompleted
	StatusFailed    = jobtype.StatusFailed
)

// AllStatuses lists every status in lifecycle order.
var AllStatuses = jobtype.AllStatuses

// ListFilter selects jobs for List. Zero values mean "any".
type ListFilter struct {
	Statuses     []Status
	Backend      string
	NameContains string // substring of Name or RemoteName
	Limit        int    // default 50, max 1000
	Cursor       string // opaque; from a previous List's next cursor

	// Summary leaves Spec and Report empty: list pages show neither, and
	// they are most of a row's bytes and of the time spent reading it.
	Summary bool

	SweepID  string // only the trials of this sweep
	NoTrials bool   // leave sweeps' trials out (a sweep is listed as one row of its own)
}

// Store is where jobs are kept. Implementations are safe for concurrent use
// by many goroutines and, for PostgreSQL, many processes.
type Store interface {
	// Create inserts a new job with its first event. ID, CreatedAt,
	// UpdatedAt and Version are set by Create when empty. If job.IdempotencyKey
	// is set and a job with that key exists, Create returns that job and
	// created=false, inserting nothing.
	Create(ctx context.Context, job *Job) (got *Job, created bool, err error)

	// Get returns a job by ID, or by RemoteName when no ID matches.
	// errs.ErrNotFound when there is none.
	Get(ctx context.Context, id string) (*Job, error)

	// List returns jobs newest first, and the cursor of the next page ("" at the end).
	List(ctx context.Context, f ListFilter) (jobs []*Job, next string, err error)

	// Update writes job if its Version is still the stored one, bumping
	// job.Version and UpdatedAt; events are appended in the same transaction.
	// errs.ErrConflict when someone else updated it first.
	Update(ctx context.Context, job *Job, events ...Event) error

	// Events returns a job's status changes, oldest first.
	Events(ctx context.Context, id string) ([]Event, error)

	// GetWithEvents is Get and Events together, in one round trip where
	// the database allows (a job page shows both).
	GetWithEvents(ctx context.Context, id string) (*Job, []Event, error)

	// Claim leases up to limit live (non-terminal) jobs to owner for ttl:
	// jobs with no lease, an expired lease, or a lease already held by owner.
	// Jobs of other live owners are skipped.
	Claim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*Job, error)

	// ClaimOne leases the one job id to owner for ttl under Claim's rules,
	// touching no other job's lease; nil (no error) when the job is ended,
	// unknown or leased to another live owner.
	ClaimOne(ctx context.Context, id, owner string, ttl time.Duration) (*Job, error)

	// Release gives up owner's lease on a job (no-op if not held).
	Release(ctx context.Context, id, owner string) error

	// CountByStatus returns the number of jobs per status (for metrics).
	CountByStatus(ctx context.Context) (map[Status]int64, error)

	// Ping checks the store is reachable (for /readyz).
	Ping(ctx context.Context) error

	Close() error
}
