package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/migrations"
)

// BusyTimeout is how long a write waits for another process's write to end.
const BusyTimeout = 10 * time.Second

// Store is a store.Store on one SQLite file: store.Core's rules over this
// package's SQL.
type Store struct {
	*store.Core
	db      *sql.DB
	path    string
	writeMu sync.Mutex
	stmts   stmtCache
	// readSlots queues readers first come, first served (a channel's
	// waiters are FIFO; database/sql hands a freed connection to a random
	// waiter, which makes the slowest of many concurrent readers very slow).
	readSlots chan struct{}
}

// reading takes a reader slot; call the returned function to give it back.
func (s *Store) reading(ctx context.Context) (func(), error) {
	select {
	case s.readSlots <- struct{}{}:
		return func() { <-s.readSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its folder if needed) the SQLite file at path
// and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...store.Option) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, errs.Configuration(fmt.Sprintf("invalid SQLite job store path %q", path),
			"pass a plain file path (no 'file:' prefix, no '?', not ':memory:')", nil)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, errs.Configuration("cannot resolve job store path "+path, "pass a valid file path with --db", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, errs.Configuration("cannot create the job store's folder "+filepath.Dir(abs),
			"check the folder is writable or pass another path with --db", err)
	}
	// busy_timeout comes first so that switching to WAL also waits.
	dsn := abs + fmt.Sprintf("?_pragma=busy_timeout(%d)", BusyTimeout.Milliseconds()) +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, errs.Configuration("cannot open job store "+abs, "check the path with --db", err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(readers + 2) // the readers, the writer, a spare for prepares
	db.SetMaxIdleConns(readers + 2)
	if err := migrations.Up(ctx, db, migrations.SQLite); err != nil {
		db.Close()
		return nil, errs.Configuration("cannot prepare the job store schema in "+abs,
			"check the file is a sagetrain SQLite store and is writable, or pass another path with --db", err)
	}
	s := &Store{db: db, path: abs, stmts: stmtCache{db: db}, readSlots: make(chan struct{}, readers)}
	s.Core = store.NewCore(driver{s}, opts...)
	return s, nil
}

// Path is the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// DB exposes the connection pool (for migration checks and benchmarks).
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) close() error {
	s.stmts.close()
	return s.db.Close()
}

// ping checks the file can be read.
func (s *Store) ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1 FROM goose_db_version LIMIT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite store %s unreachable: %w", s.path, err)
	}
	return nil
}

// write runs fn in a BEGIN IMMEDIATE transaction, one writer of this
// process at a time.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

const columns = `id, name, remote_name, remote_arn, backend, idempotency_key, spec,
	status, secondary_status, status_message, failure_reason, cancel_requested,
	created_at, updated_at, started_at, ended_at, billable_seconds,
	model_artifact_uri, output_artifact_uri, artifact_dir, report,
	version, lease_owner, lease_expires`

// summaryColumns is columns with the spec and report left out (read as
// NULL): a list page shows neither, and they are most of a row.
var summaryColumns = strings.NewReplacer(" spec,", " NULL AS spec,", " report,", " NULL AS report,").Replace(columns)

// insertJob leaves a job whose idempotency key is taken out (no row
// affected); a taken ID is still an error.
const insertJob = "INSERT INTO jobs (" + columns + ", search) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" +
	" ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"

// liveCond selects non-terminal jobs; it matches the jobs_live partial index.
const liveCond = `status NOT IN ('stopped', 'completed', 'failed')`

type scanner = store.Scanner

func scanJob(r scanner) (*store.Job, error) {
	var (
		j                        store.Job
		key, spec, report        sql.NullString
		status                   string
		cancel                   int64
		created, updated         int64
		started, ended, leaseExp sql.NullInt64
	)
	err := r.Scan(&j.ID, &j.Name, &j.RemoteName, &j.RemoteARN, &j.Backend, &key, &spec,
		&status, &j.SecondaryStatus, &j.StatusMessage, &j.FailureReason, &cancel,
		&created, &updated, &started, &ended, &j.BillableSeconds,
		&j.ModelArtifactURI, &j.OutputArtifactURI, &j.ArtifactDir, &report,
		&j.Version, &j.LeaseOwner, &leaseExp)
	if err != nil {
		return nil, err
	}
	j.IdempotencyKey = key.String
	if spec.Valid {
		j.Spec = []byte(spec.String)
	}
	if report.Valid {
		j.Report = []byte(report.String)
	}
	j.Status = store.Status(status)
	j.CancelRequested = cancel != 0
	j.CreatedAt = fromMicro(created)
	j.UpdatedAt = fromMicro(updated)
	j.StartedAt = fromNullMicro(started)
	j.EndedAt = fromNullMicro(ended)
	if leaseExp.Valid {
		j.LeaseExpires = fromMicro(leaseExp.Int64)
	}
	return &j, nil
}

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicro(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

func micro(t time.Time) int64 { return t.UnixMicro() }

func nullMicro(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// driver runs the SQLite statements of store.Core.
type driver struct{ s *Store }

var _ store.Driver = driver{}

func (d driver) Write(ctx context.Context, fn func(store.DriverTx) error) error {
	return d.s.write(ctx, func(tx *sql.Tx) error { return fn(writeTx{s: d.s, tx: tx}) })
}

func (d driver) Wrap(op string, err error) error { return wrap(op, err) }

func (d driver) Ping(ctx context.Context) error { return d.s.ping(ctx) }

func (d driver) Close() error { return d.s.close() }

// readJob reads one job as a reader; nil when no row matches.
func (d driver) readJob(ctx context.Context, q string, arg any) (*store.Job, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return noRow(scanJob(d.s.queryRow(ctx, q, arg)))
}

func noRow(j *store.Job, err error) (*store.Job, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return j, err
}

func (d driver) JobByID(ctx context.Context, id string) (*store.Job, error) {
	return d.readJob(ctx, "SELECT "+columns+" FROM jobs WHERE id = ?", id)
}

func (d driver) JobByRemoteName(ctx context.Context, name string) (*store.Job, error) {
	return d.readJob(ctx, "SELECT "+columns+" FROM jobs WHERE remote_name = ? ORDER BY created_at DESC, id DESC LIMIT 1", name)
}

// JobWithEvents reads the job, then its events (in process: no round trip to save).
func (d driver) JobWithEvents(ctx context.Context, id string) (*store.Job, []store.Event, error) {
	j, err := d.JobByID(ctx, id)
	if err != nil || j == nil {
		return nil, nil, err
	}
	evs, err := d.Events(ctx, id)
	return j, evs, err
}

func (d driver) Events(ctx context.Context, id string) ([]store.Event, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := d.s.query(ctx,
		"SELECT job_id, at, status, secondary_status, message FROM job_events WHERE job_id = ? ORDER BY seq", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []store.Event
	for rows.Next() {
		var (
			e      store.Event
			at     int64
			status string
		)
		if err := rows.Scan(&e.JobID, &at, &status, &e.SecondaryStatus, &e.Message); err != nil {
			return nil, err
		}
		e.At = fromMicro(at)
		e.Status = store.Status(status)
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// ListJobs finds the page's rowids from the jobs_list (or a status) index
// alone, then reads only those rows. Several statuses become one index
// range each, merged.
func (d driver) ListJobs(ctx context.Context, f store.ListQuery) ([]*store.Job, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var (
		conds []string
		args  []any
	)
	if f.Backend != "" {
		conds = append(conds, "j.backend = ?")
		args = append(args, f.Backend)
	}
	if f.Cursor != nil {
		conds = append(conds, "(j.created_at, j.id) < (?, ?)")
		args = append(args, micro(f.Cursor.CreatedAt), f.Cursor.ID)
	}
	if f.SweepID != "" {
		conds = append(conds, "j.sweep_id = ?")
		args = append(args, f.SweepID)
	}
	if f.NoTrials {
		conds = append(conds, "j.sweep_id = ''")
	}
	if f.Term != "" {
		conds = append(conds, "instr(j.search, ?) > 0")
		args = append(args, f.Term)
	}
	cols := columns
	if f.Summary {
		cols = summaryColumns
	}
	// A name filter reads the page's rowids from the list index alone (the
	// search column is in it) and only then the rows; without one, each
	// status is an index range read in order and stopped at the page size.
	inner := "j.rowid AS rid, j.created_at, j.id"
	if f.Term == "" {
		inner = store.QualifiedColumns("j", cols)
	}
	branch := func(status string) (string, []any) {
		cs, as := conds, args
		if status != "" {
			cs = append([]string{"j.status = ?"}, cs...)
			as = append([]any{status}, as...)
		}
		where := "1 = 1"
		if len(cs) > 0 {
			where = strings.Join(cs, " AND ")
		}
		return "SELECT * FROM (SELECT " + inner + " FROM jobs j WHERE " + where +
			" ORDER BY j.created_at DESC, j.id DESC LIMIT ?)", append(as[:len(as):len(as)], f.Limit)
	}
	var (
		parts []string
		qargs []any
	)
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{""}
	}
	for _, st := range statuses {
		q, a := branch(st)
		parts = append(parts, q)
		qargs = append(qargs, a...)
	}
	var q string
	switch {
	case f.Term != "":
		q = "SELECT " + cols + " FROM jobs WHERE rowid IN (SELECT rid FROM (" + strings.Join(parts, " UNION ALL ") +
			") ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at DESC, id DESC"
		qargs = append(qargs, f.Limit)
	case len(parts) == 1:
		q = parts[0]
	default:
		q = strings.Join(parts, " UNION ALL ") + " ORDER BY created_at DESC, id DESC LIMIT ?"
		qargs = append(qargs, f.Limit)
	}
	rows, err := d.s.query(ctx, q, qargs...)
	if err != nil {
		return nil, err
	}
	return collect(rows)
}

func collect(rows *sql.Rows) ([]*store.Job, error) {
	defer rows.Close()
	return store.Collect(rows, scanJob)
}

// ClaimJobs leases on Core's clock: an SQLite file has one host.
func (d driver) ClaimJobs(ctx context.Context, owner string, ttl time.Duration, limit int, now time.Time) ([]*store.Job, error) {
	var jobs []*store.Job
	err := d.s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_expires = ?, claimed_at = ?
			WHERE id IN (SELECT id FROM jobs WHERE `+liveCond+`
				AND (lease_owner = '' OR lease_owner = ? OR lease_expires IS NULL OR lease_expires <= ?)
				ORDER BY lease_owner = ? DESC, claimed_at NULLS FIRST, created_at, id LIMIT ?)
			RETURNING `+columns, owner, micro(now.Add(ttl)), micro(now), owner, micro(now), owner, limit)
		if err != nil {
			return err
		}
		jobs, err = collect(rows)
		return err
	})
	return jobs, err
}

func (d driver) ClaimJob(ctx context.Context, id, owner string, ttl time.Duration, now time.Time) (*store.Job, error) {
	var job *store.Job
	err := d.s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_expires = ?, claimed_at = ?
			WHERE id = ? AND `+liveCond+`
				AND (lease_owner = '' OR lease_owner = ? OR lease_expires IS NULL OR lease_expires <= ?)
			RETURNING `+columns, owner, micro(now.Add(ttl)), micro(now), id, owner, micro(now))
		if err != nil {
			return err
		}
		jobs, err := collect(rows)
		if len(jobs) == 1 {
			job = jobs[0]
		}
		return err
	})
	return job, err
}

func (d driver) ReleaseJob(ctx context.Context, id, owner string) error {
	return d.s.write(ctx, func(tx *sql.Tx) error {
		_, err := d.s.txExec(ctx, tx, "UPDATE jobs SET lease_owner = '', lease_expires = NULL WHERE id = ? AND lease_owner = ?", id, owner)
		return err
	})
}

// writeTx is a BEGIN IMMEDIATE transaction of store.Core.
type writeTx struct {
	s  *Store
	tx *sql.Tx
}

func (w writeTx) InsertJob(ctx context.Context, job *store.Job) (bool, error) {
	res, err := w.s.txExec(ctx, w.tx, insertJob,
		job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), nullJSON(job.Spec),
		string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, boolInt(job.CancelRequested),
		micro(job.CreatedAt), micro(job.UpdatedAt), nullMicro(job.StartedAt), nullMicro(job.EndedAt), job.BillableSeconds,
		job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
		job.Version, job.LeaseOwner, nullMicro(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: jobs.id") {
			return false, store.Conflict(fmt.Sprintf("a job with id %s already exists", job.ID))
		}
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (w writeTx) JobByKey(ctx context.Context, key string) (*store.Job, error) {
	return noRow(scanJob(w.s.txQueryRow(ctx, w.tx, "SELECT "+columns+" FROM jobs WHERE idempotency_key = ?", key)))
}

func (w writeTx) UpdateJob(ctx context.Context, job *store.Job, now time.Time) (store.Status, string, bool, error) {
	var status, secondary string
	err := w.s.txQueryRow(ctx, w.tx, "SELECT status, secondary_status FROM jobs WHERE id = ? AND version = ?", job.ID, job.Version).
		Scan(&status, &secondary)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	res, err := w.s.txExec(ctx, w.tx, `UPDATE jobs SET name = ?, remote_name = ?, remote_arn = ?, backend = ?, spec = ?,
		status = ?, secondary_status = ?, status_message = ?, failure_reason = ?, cancel_requested = ?,
		updated_at = ?, started_at = ?, ended_at = ?, billable_seconds = ?,
		model_artifact_uri = ?, output_artifact_uri = ?, artifact_dir = ?, report = ?, search = ?,
		version = version + 1
		WHERE id = ? AND version = ?`,
		job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullJSON(job.Spec),
		string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, boolInt(job.CancelRequested),
		micro(now), nullMicro(job.StartedAt), nullMicro(job.EndedAt), job.BillableSeconds,
		job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
		store.SearchText(job.Name, job.RemoteName), job.ID, job.Version)
	if err != nil {
		return "", "", false, err
	}
	n, err := res.RowsAffected()
	return store.Status(status), secondary, n == 1, err
}

func (w writeTx) JobVersion(ctx context.Context, id string) (int64, bool, error) {
	var version int64
	err := w.s.txQueryRow(ctx, w.tx, "SELECT version FROM jobs WHERE id = ?", id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return version, err == nil, err
}

func (w writeTx) InsertEvents(ctx context.Context, job *store.Job, events []store.Event) error {
	if err := w.s.insertEvents(ctx, w.tx, job.ID, events); err != nil {
		return err
	}
	return w.s.insertOutbox(ctx, w.tx, job, events)
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, jobID string, events []store.Event) error {
	for _, e := range events {
		if !e.Status.Valid() {
			return store.InvalidStatus(e.Status)
		}
		_, err := s.txExec(ctx, tx, "INSERT INTO job_events (job_id, at, status, secondary_status, message) VALUES (?,?,?,?,?)",
			jobID, micro(e.At), string(e.Status), e.SecondaryStatus, e.Message)
		if err != nil {
			return err
		}
	}
	return nil
}

// wrap names the operation that failed; sagetrain errors pass unchanged.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *errs.Error
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("sqlite store: %s: %w", op, err)
}

// Count runs a "key, count(*) ... GROUP BY key" query as a reader.
func (d driver) Count(ctx context.Context, q string) (map[string]int64, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := d.s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.CollectCounts(rows)
}
