package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/migrations"
)

// DefaultMaxConns is the pool size when the DSN sets no pool_max_conns.
const DefaultMaxConns = 10

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (postgres://...) and brings its
// schema up to date; concurrent Opens migrate one at a time (advisory lock).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errs.Configuration("invalid PostgreSQL job store URL", "pass --db postgres://user[:password]@host:port/database", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errs.Configuration("cannot connect to the PostgreSQL job store", "check the --db URL and that the server is running", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, errs.Configuration(fmt.Sprintf("cannot reach the PostgreSQL job store at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port),
			"check the --db URL, the credentials and that the server is running", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if err := migrations.Up(ctx, db, migrations.Postgres); err != nil {
		pool.Close()
		return nil, errs.Configuration("cannot prepare the job store schema in PostgreSQL",
			"check the database belongs to sagetrain and the user may create tables", err)
	}
	return &Store{pool: pool}, nil
}

// Pool exposes the connection pool (for benchmarks and checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DB returns a database/sql handle on the pool (close it after use; that
// leaves the pool open). Used for goose version checks.
func (s *Store) DB() *sql.DB { return stdlib.OpenDBFromPool(s.pool) }

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres store unreachable: %w", err)
	}
	return nil
}

const columns = `id, name, remote_name, remote_arn, backend, idempotency_key, spec,
	status, secondary_status, status_message, failure_reason, cancel_requested,
	created_at, updated_at, started_at, ended_at, billable_seconds,
	model_artifact_uri, output_artifact_uri, artifact_dir, report,
	version, lease_owner, lease_expires`

// summaryColumns is columns with the spec and report left out (read as
// NULL): a list page shows neither, and they are most of a row.
var summaryColumns = strings.NewReplacer(" spec,", " NULL::json AS spec,", " report,", " NULL::json AS report,").Replace(columns)

// liveCond selects non-terminal jobs; it matches the jobs_live partial index.
const liveCond = `status NOT IN ('stopped', 'completed', 'failed')`

func scanJob(r pgx.Row) (*store.Job, error) {
	var (
		j                        store.Job
		key                      *string
		status                   string
		started, ended, leaseExp *time.Time
		spec, report             []byte // as bytes: pgx would run json.Unmarshal on a json.RawMessage
	)
	err := r.Scan(&j.ID, &j.Name, &j.RemoteName, &j.RemoteARN, &j.Backend, &key, &spec,
		&status, &j.SecondaryStatus, &j.StatusMessage, &j.FailureReason, &j.CancelRequested,
		&j.CreatedAt, &j.UpdatedAt, &started, &ended, &j.BillableSeconds,
		&j.ModelArtifactURI, &j.OutputArtifactURI, &j.ArtifactDir, &report,
		&j.Version, &j.LeaseOwner, &leaseExp)
	if err != nil {
		return nil, err
	}
	j.Spec, j.Report = spec, report
	if key != nil {
		j.IdempotencyKey = *key
	}
	j.Status = store.Status(status)
	j.CreatedAt = j.CreatedAt.UTC()
	j.UpdatedAt = j.UpdatedAt.UTC()
	j.StartedAt = utcPtr(started)
	j.EndedAt = utcPtr(ended)
	if leaseExp != nil {
		j.LeaseExpires = leaseExp.UTC()
	}
	return &j, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func collect(rows pgx.Rows) ([]*store.Job, error) {
	defer rows.Close()
	var jobs []*store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return *t
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullJSON passes the bytes through unchanged (pgx sends []byte as is).
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *errs.Error
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("postgres store: %s: %w", op, err)
}

func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// Create inserts job and its first event, or returns the job already holding
// job.IdempotencyKey. Concurrent Creates with one key wait on the unique
// index, so exactly one row is made.
func (s *Store) Create(ctx context.Context, job *store.Job) (*store.Job, bool, error) {
	if err := store.PrepareNew(job); err != nil {
		return nil, false, err
	}
	var existing *store.Job
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO jobs ("+columns+`, search) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
			ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
			job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), nullJSON(job.Spec),
			string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, job.CancelRequested,
			job.CreatedAt, job.UpdatedAt, nullTime(job.StartedAt), nullTime(job.EndedAt), job.BillableSeconds,
			job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
			job.Version, job.LeaseOwner, nullTime(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName))
		if err != nil {
			if isUnique(err, "jobs_pkey") {
				return store.Conflict(fmt.Sprintf("a job with id %s already exists", job.ID))
			}
			return err
		}
		if tag.RowsAffected() == 0 {
			// The key is taken (by a committed row: the insert waited for it).
			existing, err = scanJob(tx.QueryRow(ctx, "SELECT "+columns+" FROM jobs WHERE idempotency_key = $1", job.IdempotencyKey))
			return err
		}
		first := []store.Event{{At: job.CreatedAt, Status: job.Status, SecondaryStatus: job.SecondaryStatus, Message: job.StatusMessage}}
		if err := insertEvents(ctx, tx, job.ID, first); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, job, first)
	})
	if err != nil {
		return nil, false, wrap("create job", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	return job, true, nil
}

func insertEvents(ctx context.Context, tx pgx.Tx, jobID string, events []store.Event) error {
	for _, e := range events {
		if !e.Status.Valid() {
			return store.InvalidStatus(e.Status)
		}
		_, err := tx.Exec(ctx, "INSERT INTO job_events (job_id, at, status, secondary_status, message) VALUES ($1,$2,$3,$4,$5)",
			jobID, e.At, string(e.Status), e.SecondaryStatus, e.Message)
		if err != nil {
			return err
		}
	}
	return nil
}

// Get returns a job by ID, else by RemoteName (the newest such job).
func (s *Store) Get(ctx context.Context, id string) (*store.Job, error) {
	if id == "" {
		return nil, errs.NotFound("job \"\"")
	}
	j, err := scanJob(s.pool.QueryRow(ctx, "SELECT "+columns+" FROM jobs WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		j, err = scanJob(s.pool.QueryRow(ctx,
			"SELECT "+columns+" FROM jobs WHERE remote_name = $1 ORDER BY created_at DESC, id DESC LIMIT 1", id))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("job %q", id))
	}
	if err != nil {
		return nil, wrap("get job", err)
	}
	return j, nil
}

// List returns jobs newest first with keyset pagination. Each status is one
// index range read in order and stopped at the page size; several are merged.
// A name filter is different: matches may be rare and old, so the page's ids
// come first from an index-only scan of jobs_list (or the trigram index) and
// only those rows are read.
func (s *Store) List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error) {
	limit := store.ListLimit(f.Limit)
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Backend != "" {
		conds = append(conds, "backend = "+arg(f.Backend))
	}
	if f.SweepID != "" {
		conds = append(conds, "sweep_id = "+arg(f.SweepID))
	}
	if f.NoTrials {
		conds = append(conds, "sweep_id = ''")
	}
	term := store.SearchTerm(f.NameContains)
	if term != "" {
		conds = append(conds, "search LIKE "+arg("%"+escapeLike(term)+"%"))
	}
	if f.Cursor != "" {
		c, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, "(created_at, id) < ("+arg(c.CreatedAt)+", "+arg(c.ID)+")")
	}
	statuses, err := store.DistinctStatuses(f.Statuses)
	if err != nil {
		return nil, "", err
	}
	if len(statuses) == 0 {
		statuses = []string{""}
	}
	cols := columns
	if f.Summary {
		cols = summaryColumns
	}
	// The inner selects read only what the index holds when a name is
	// searched (the rows are joined afterwards), whole rows otherwise.
	inner := cols
	if term != "" {
		inner = "id, created_at"
	}
	lim := arg(limit + 1)
	var parts []string
	for _, st := range statuses {
		cs := conds
		if st != "" {
			cs = append([]string{"status = " + arg(st)}, cs...)
		}
		where := "TRUE"
		if len(cs) > 0 {
			where = strings.Join(cs, " AND ")
		}
		parts = append(parts, "(SELECT "+inner+" FROM jobs WHERE "+where+" ORDER BY created_at DESC, id DESC LIMIT "+lim+")")
	}
	var q string
	var opts []any
	switch {
	case term != "":
		q = "SELECT " + store.QualifiedColumns("jobs", cols) + " FROM jobs JOIN (SELECT id FROM (" + strings.Join(parts, " UNION ALL ") +
			") u ORDER BY created_at DESC, id DESC LIMIT " + lim + ") page ON page.id = jobs.id ORDER BY jobs.created_at DESC, jobs.id DESC"
		// Planned for this very pattern: a generic plan cannot know that
		// the trigram index fits a rare name, and scans every job instead.
		opts = []any{pgx.QueryExecModeExec}
	case len(parts) == 1:
		q = strings.TrimSuffix(strings.TrimPrefix(parts[0], "("), ")")
	default:
		q = "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") u ORDER BY created_at DESC, id DESC LIMIT " + lim
	}
	rows, err := s.pool.Query(ctx, q, append(opts, args...)...)
	if err != nil {
		return nil, "", wrap("list jobs", err)
	}
	jobs, err := collect(rows)
	if err != nil {
		return nil, "", wrap("list jobs", err)
	}
	next := ""
	if len(jobs) > limit {
		jobs = jobs[:limit]
		last := jobs[limit-1]
		next = store.EncodeCursor(store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return jobs, next, nil
}

// escapeLike makes s match literally inside a LIKE pattern (backslash is
// PostgreSQL's default LIKE escape).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Update writes job if its Version is still the stored one. When no events
// are given and the status or secondary status changed, it records that
// change as an event itself.
func (s *Store) Update(ctx context.Context, job *store.Job, events ...store.Event) error {
	if !job.Status.Valid() {
		return store.InvalidStatus(job.Status)
	}
	now := store.Now()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The CTE locks the row and returns its old status; a concurrent
		// Update of the same version waits here, then finds the version
		// moved on and matches nothing.
		var oldStatus, oldSecondary string
		err := tx.QueryRow(ctx, `WITH old AS (
				SELECT id, status, secondary_status FROM jobs WHERE id = $1 AND version = $2 FOR UPDATE)
			UPDATE jobs SET name = $3, remote_name = $4, remote_arn = $5, backend = $6, spec = $7,
				status = $8, secondary_status = $9, status_message = $10, failure_reason = $11, cancel_requested = $12,
				updated_at = $13, started_at = $14, ended_at = $15, billable_seconds = $16,
				model_artifact_uri = $17, output_artifact_uri = $18, artifact_dir = $19, report = $20,
				search = $21, version = jobs.version + 1
			FROM old WHERE jobs.id = old.id AND jobs.version = $2
			RETURNING old.status, old.secondary_status`,
			job.ID, job.Version, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullJSON(job.Spec),
			string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, job.CancelRequested,
			now, nullTime(job.StartedAt), nullTime(job.EndedAt), job.BillableSeconds,
			job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
			store.SearchText(job.Name, job.RemoteName),
		).Scan(&oldStatus, &oldSecondary)
		if errors.Is(err, pgx.ErrNoRows) {
			var version int64
			err := tx.QueryRow(ctx, "SELECT version FROM jobs WHERE id = $1", job.ID).Scan(&version)
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.NotFound(fmt.Sprintf("job %q", job.ID))
			}
			if err != nil {
				return err
			}
			return store.Conflict(fmt.Sprintf("job %s was updated by someone else (version %d, yours %d)", job.ID, version, job.Version))
		}
		if err != nil {
			return err
		}
		evs := store.UpdateEvents(job, events, store.Status(oldStatus), oldSecondary, now)
		if err := insertEvents(ctx, tx, job.ID, evs); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, job, evs)
	})
	if err != nil {
		return wrap("update job "+job.ID, err)
	}
	job.Version++
	job.UpdatedAt = now
	job.StartedAt = store.MicroPtr(job.StartedAt)
	job.EndedAt = store.MicroPtr(job.EndedAt)
	return nil
}

const eventsQuery = "SELECT job_id, at, status, secondary_status, message FROM job_events WHERE job_id = $1 ORDER BY seq"

// Events returns a job's status changes, oldest first.
func (s *Store) Events(ctx context.Context, id string) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, eventsQuery, id)
	if err != nil {
		return nil, wrap("list events", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, wrap("list events", err)
	}
	if len(evs) == 0 {
		// Every job has its creation event: none means no such job.
		// Accept a remote name as Get does.
		j, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.ID != id {
			return s.Events(ctx, j.ID)
		}
	}
	return evs, nil
}

func scanEvents(rows pgx.Rows) ([]store.Event, error) {
	defer rows.Close()
	var evs []store.Event
	for rows.Next() {
		var (
			e      store.Event
			status string
		)
		if err := rows.Scan(&e.JobID, &e.At, &status, &e.SecondaryStatus, &e.Message); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		e.Status = store.Status(status)
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// GetWithEvents sends both queries in one batch: one round trip.
func (s *Store) GetWithEvents(ctx context.Context, id string) (*store.Job, []store.Event, error) {
	if id == "" {
		return nil, nil, errs.NotFound("job \"\"")
	}
	b := &pgx.Batch{}
	b.Queue("SELECT "+columns+" FROM jobs WHERE id = $1", id)
	b.Queue(eventsQuery, id)
	br := s.pool.SendBatch(ctx, b)
	j, err := scanJob(br.QueryRow())
	var evs []store.Event
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			evs, err = scanEvents(rows)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// Not an id: perhaps the backend's job name, as Get accepts.
		if j, err = s.Get(ctx, id); err != nil {
			return nil, nil, err
		}
		evs, err = s.Events(ctx, j.ID)
	}
	if err != nil {
		return nil, nil, wrap("get job", err)
	}
	return j, evs, nil
}

// Claim leases up to limit live jobs to owner for ttl. It renews owner's own
// leases first, then takes the jobs least recently claimed; rows another
// transaction is claiming are skipped, not waited for. The result is oldest
// first. A limit of 0 or less means 100.
func (s *Store) Claim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*store.Job, error) {
	if owner == "" {
		return nil, errs.Configuration("claim needs an owner name", "pass a non-empty owner (e.g. host:pid)", nil)
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT id FROM jobs WHERE `+liveCond+`
				AND (lease_owner = '' OR lease_owner = $1 OR lease_expires IS NULL OR lease_expires <= clock_timestamp())
			ORDER BY lease_owner = $1 DESC, claimed_at NULLS FIRST, created_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET lease_owner = $1,
			lease_expires = date_trunc('microseconds', clock_timestamp()) + $2 * interval '1 microsecond',
			claimed_at = clock_timestamp()
		FROM c WHERE jobs.id = c.id
		RETURNING `+store.QualifiedColumns("jobs", columns), owner, ttl.Microseconds(), limit)
	if err != nil {
		return nil, wrap("claim jobs", err)
	}
	jobs, err := collect(rows)
	if err != nil {
		return nil, wrap("claim jobs", err)
	}
	sortOldestFirst(jobs)
	return jobs, nil
}

func sortOldestFirst(jobs []*store.Job) {
	for i := 1; i < len(jobs); i++ {
		for k := i; k > 0 && store.CreatedBefore(jobs[k], jobs[k-1]); k-- {
			jobs[k], jobs[k-1] = jobs[k-1], jobs[k]
		}
	}
}

// Release gives up owner's lease on a job.
func (s *Store) Release(ctx context.Context, id, owner string) error {
	_, err := s.pool.Exec(ctx, "UPDATE jobs SET lease_owner = '', lease_expires = NULL WHERE id = $1 AND lease_owner = $2", id, owner)
	return wrap("release job "+id, err)
}

// CountByStatus returns the number of jobs in every status (0 included).
func (s *Store) CountByStatus(ctx context.Context) (map[store.Status]int64, error) {
	rows, err := s.pool.Query(ctx, "SELECT status, count(*) FROM jobs GROUP BY status")
	if err != nil {
		return nil, wrap("count jobs", err)
	}
	defer rows.Close()
	out := make(map[store.Status]int64, len(store.AllStatuses))
	for _, st := range store.AllStatuses {
		out[st] = 0
	}
	for rows.Next() {
		var (
			st string
			n  int64
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap("count jobs", err)
		}
		out[store.Status(st)] = n
	}
	return out, wrap("count jobs", rows.Err())
}
