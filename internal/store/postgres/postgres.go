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

// Store is a store.Store on a PostgreSQL database: store.Core's rules over
// this package's SQL.
type Store struct {
	*store.Core
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (postgres://...) and brings its
// schema up to date; concurrent Opens migrate one at a time (advisory lock).
func Open(ctx context.Context, dsn string, opts ...store.Option) (*Store, error) {
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
	s := &Store{pool: pool}
	s.Core = store.NewCore(driver{s}, opts...)
	return s, nil
}

// Pool exposes the connection pool (for benchmarks and checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DB returns a database/sql handle on the pool (close it after use; that
// leaves the pool open). Used for goose version checks.
func (s *Store) DB() *sql.DB { return stdlib.OpenDBFromPool(s.pool) }

func (s *Store) close() error {
	s.pool.Close()
	return nil
}

func (s *Store) ping(ctx context.Context) error {
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

func scanJob(r store.Scanner) (*store.Job, error) {
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
	return store.Collect(rows, scanJob)
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

// driver runs the PostgreSQL statements of store.Core.
type driver struct{ s *Store }

var _ store.Driver = driver{}

func (d driver) Write(ctx context.Context, fn func(store.DriverTx) error) error {
	return pgx.BeginFunc(ctx, d.s.pool, func(tx pgx.Tx) error { return fn(writeTx{tx}) })
}

func (d driver) Wrap(op string, err error) error { return wrap(op, err) }

func (d driver) Ping(ctx context.Context) error { return d.s.ping(ctx) }

func (d driver) Close() error { return d.s.close() }

func noRow(j *store.Job, err error) (*store.Job, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return j, err
}

func (d driver) JobByID(ctx context.Context, id string) (*store.Job, error) {
	return noRow(scanJob(d.s.pool.QueryRow(ctx, "SELECT "+columns+" FROM jobs WHERE id = $1", id)))
}

func (d driver) JobByRemoteName(ctx context.Context, name string) (*store.Job, error) {
	return noRow(scanJob(d.s.pool.QueryRow(ctx,
		"SELECT "+columns+" FROM jobs WHERE remote_name = $1 ORDER BY created_at DESC, id DESC LIMIT 1", name)))
}

const eventsQuery = "SELECT job_id, at, status, secondary_status, message FROM job_events WHERE job_id = $1 ORDER BY seq"

func (d driver) Events(ctx context.Context, id string) ([]store.Event, error) {
	rows, err := d.s.pool.Query(ctx, eventsQuery, id)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
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

// JobWithEvents sends both queries in one batch: one round trip.
func (d driver) JobWithEvents(ctx context.Context, id string) (*store.Job, []store.Event, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT "+columns+" FROM jobs WHERE id = $1", id)
	b.Queue(eventsQuery, id)
	br := d.s.pool.SendBatch(ctx, b)
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
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return j, evs, nil
}

// ListJobs reads each status as one index range in order, stopped at the
// page size; several are merged. A name filter is different: matches may be
// rare and old, so the page's ids come first from an index-only scan of
// jobs_list (or the trigram index) and only those rows are read.
func (d driver) ListJobs(ctx context.Context, f store.ListQuery) ([]*store.Job, error) {
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
	if f.Term != "" {
		conds = append(conds, "search LIKE "+arg("%"+escapeLike(f.Term)+"%"))
	}
	if f.Cursor != nil {
		conds = append(conds, "(created_at, id) < ("+arg(f.Cursor.CreatedAt)+", "+arg(f.Cursor.ID)+")")
	}
	statuses := f.Statuses
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
	if f.Term != "" {
		inner = "id, created_at"
	}
	lim := arg(f.Limit)
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
	case f.Term != "":
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
	rows, err := d.s.pool.Query(ctx, q, append(opts, args...)...)
	if err != nil {
		return nil, err
	}
	return collect(rows)
}

// escapeLike makes s match literally inside a LIKE pattern (backslash is
// PostgreSQL's default LIKE escape).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ClaimJobs leases on the database's clock (now is not used): hosts with
// skewed clocks still agree on when a lease ends. Rows another transaction
// is claiming are skipped, not waited for.
func (d driver) ClaimJobs(ctx context.Context, owner string, ttl time.Duration, limit int, _ time.Time) ([]*store.Job, error) {
	rows, err := d.s.pool.Query(ctx, `WITH c AS (
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
		return nil, err
	}
	return collect(rows)
}

func (d driver) ClaimJob(ctx context.Context, id, owner string, ttl time.Duration, _ time.Time) (*store.Job, error) {
	rows, err := d.s.pool.Query(ctx, `UPDATE jobs SET lease_owner = $1,
			lease_expires = date_trunc('microseconds', clock_timestamp()) + $2 * interval '1 microsecond',
			claimed_at = clock_timestamp()
		WHERE id = $3 AND `+liveCond+`
			AND (lease_owner = '' OR lease_owner = $1 OR lease_expires IS NULL OR lease_expires <= clock_timestamp())
		RETURNING `+columns, owner, ttl.Microseconds(), id)
	if err != nil {
		return nil, err
	}
	jobs, err := collect(rows)
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

func (d driver) ReleaseJob(ctx context.Context, id, owner string) error {
	_, err := d.s.pool.Exec(ctx, "UPDATE jobs SET lease_owner = '', lease_expires = NULL WHERE id = $1 AND lease_owner = $2", id, owner)
	return err
}

// writeTx is a PostgreSQL transaction of store.Core.
type writeTx struct{ tx pgx.Tx }

// InsertJob leaves a job whose key is taken out: concurrent Creates with
// one key wait on the unique index, so exactly one row is made.
func (w writeTx) InsertJob(ctx context.Context, job *store.Job) (bool, error) {
	tag, err := w.tx.Exec(ctx, "INSERT INTO jobs ("+columns+`, search) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
		ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
		job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), nullJSON(job.Spec),
		string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, job.CancelRequested,
		job.CreatedAt, job.UpdatedAt, nullTime(job.StartedAt), nullTime(job.EndedAt), job.BillableSeconds,
		job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
		job.Version, job.LeaseOwner, nullTime(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName))
	if err != nil {
		if isUnique(err, "jobs_pkey") {
			return false, store.Conflict(fmt.Sprintf("a job with id %s already exists", job.ID))
		}
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (w writeTx) JobByKey(ctx context.Context, key string) (*store.Job, error) {
	return noRow(scanJob(w.tx.QueryRow(ctx, "SELECT "+columns+" FROM jobs WHERE idempotency_key = $1", key)))
}

// UpdateJob is one statement: the CTE locks the row and returns its old
// status; a concurrent update of the same version waits there, then finds
// the version moved on and matches nothing.
func (w writeTx) UpdateJob(ctx context.Context, job *store.Job, now time.Time) (store.Status, string, bool, error) {
	var oldStatus, oldSecondary string
	err := w.tx.QueryRow(ctx, `WITH old AS (
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
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return store.Status(oldStatus), oldSecondary, true, nil
}

func (w writeTx) JobVersion(ctx context.Context, id string) (int64, bool, error) {
	var version int64
	err := w.tx.QueryRow(ctx, "SELECT version FROM jobs WHERE id = $1", id).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return version, err == nil, err
}

func (w writeTx) InsertEvents(ctx context.Context, job *store.Job, events []store.Event) error {
	if err := insertEvents(ctx, w.tx, job.ID, events); err != nil {
		return err
	}
	return insertOutbox(ctx, w.tx, job, events)
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

// Count runs a "key, count(*) ... GROUP BY key" query.
func (d driver) Count(ctx context.Context, q string) (map[string]int64, error) {
	rows, err := d.s.pool.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.CollectCounts(rows)
}
