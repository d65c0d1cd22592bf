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

// Store is a store.Store on one SQLite file.
type Store struct {
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
func Open(ctx context.Context, path string) (*Store, error) {
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
	return &Store{db: db, path: abs, stmts: stmtCache{db: db}, readSlots: make(chan struct{}, readers)}, nil
}

// Path is the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// DB exposes the connection pool (for migration checks and benchmarks).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the connection pool.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// Ping checks the file can be read.
func (s *Store) Ping(ctx context.Context) error {
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

const insertJob = "INSERT INTO jobs (" + columns + ", search) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

// liveCond selects non-terminal jobs; it matches the jobs_live partial index.
const liveCond = `status NOT IN ('stopped', 'completed', 'failed')`

type scanner interface{ Scan(dest ...any) error }

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

// Create inserts job and its first event, or returns the job already holding
// job.IdempotencyKey.
func (s *Store) Create(ctx context.Context, job *store.Job) (*store.Job, bool, error) {
	if err := store.PrepareNew(job); err != nil {
		return nil, false, err
	}
	var existing *store.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		if job.IdempotencyKey != "" {
			j, err := scanJob(s.txQueryRow(ctx, tx, "SELECT "+columns+" FROM jobs WHERE idempotency_key = ?", job.IdempotencyKey))
			if err == nil {
				existing = j
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err := s.txExec(ctx, tx, insertJob,
			job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), nullJSON(job.Spec),
			string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, boolInt(job.CancelRequested),
			micro(job.CreatedAt), micro(job.UpdatedAt), nullMicro(job.StartedAt), nullMicro(job.EndedAt), job.BillableSeconds,
			job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
			job.Version, job.LeaseOwner, nullMicro(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed: jobs.id") {
				return store.Conflict(fmt.Sprintf("a job with id %s already exists", job.ID))
			}
			return err
		}
		first := []store.Event{{At: job.CreatedAt, Status: job.Status, SecondaryStatus: job.SecondaryStatus, Message: job.StatusMessage}}
		if err := s.insertEvents(ctx, tx, job.ID, first); err != nil {
			return err
		}
		return s.insertOutbox(ctx, tx, job, first)
	})
	if err != nil {
		return nil, false, wrap("create job", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	return job, true, nil
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

// Get returns a job by ID, else by RemoteName (the newest such job).
func (s *Store) Get(ctx context.Context, id string) (*store.Job, error) {
	if id == "" {
		return nil, errs.NotFound("job \"\"")
	}
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	j, err := scanJob(s.queryRow(ctx, "SELECT "+columns+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		j, err = scanJob(s.queryRow(ctx,
			"SELECT "+columns+" FROM jobs WHERE remote_name = ? ORDER BY created_at DESC, id DESC LIMIT 1", id))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("job %q", id))
	}
	if err != nil {
		return nil, wrap("get job", err)
	}
	return j, nil
}

// List returns jobs newest first with keyset pagination. It finds the
// page's rowids from the jobs_list (or a status) index alone, then reads
// only those rows. Several statuses become one index range each, merged.
func (s *Store) List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, "", err
	}
	defer done()
	limit := store.ListLimit(f.Limit)
	statuses, err := store.DistinctStatuses(f.Statuses)
	if err != nil {
		return nil, "", err
	}
	var (
		conds []string
		args  []any
	)
	if f.Backend != "" {
		conds = append(conds, "j.backend = ?")
		args = append(args, f.Backend)
	}
	if f.Cursor != "" {
		c, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, "(j.created_at, j.id) < (?, ?)")
		args = append(args, micro(c.CreatedAt), c.ID)
	}
	if f.SweepID != "" {
		conds = append(conds, "j.sweep_id = ?")
		args = append(args, f.SweepID)
	}
	if f.NoTrials {
		conds = append(conds, "j.sweep_id = ''")
	}
	term := store.SearchTerm(f.NameContains)
	if term != "" {
		conds = append(conds, "instr(j.search, ?) > 0")
		args = append(args, term)
	}
	cols := columns
	if f.Summary {
		cols = summaryColumns
	}
	// A name filter reads the page's rowids from the list index alone (the
	// search column is in it) and only then the rows; without one, each
	// status is an index range read in order and stopped at the page size.
	inner := "j.rowid AS rid, j.created_at, j.id"
	if term == "" {
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
			" ORDER BY j.created_at DESC, j.id DESC LIMIT ?)", append(as[:len(as):len(as)], limit+1)
	}
	var (
		parts []string
		qargs []any
	)
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
	case term != "":
		q = "SELECT " + cols + " FROM jobs WHERE rowid IN (SELECT rid FROM (" + strings.Join(parts, " UNION ALL ") +
			") ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at DESC, id DESC"
		qargs = append(qargs, limit+1)
	case len(parts) == 1:
		q = parts[0]
	default:
		q = strings.Join(parts, " UNION ALL ") + " ORDER BY created_at DESC, id DESC LIMIT ?"
		qargs = append(qargs, limit+1)
	}
	rows, err := s.query(ctx, q, qargs...)
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

func collect(rows *sql.Rows) ([]*store.Job, error) {
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

// Update writes job if its Version is still the stored one. When no events
// are given and the status or secondary status changed, it records that
// change as an event itself, so the history never misses a transition.
func (s *Store) Update(ctx context.Context, job *store.Job, events ...store.Event) error {
	if !job.Status.Valid() {
		return store.InvalidStatus(job.Status)
	}
	now := store.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var (
			version           int64
			status, secondary string
		)
		err := s.txQueryRow(ctx, tx, "SELECT version, status, secondary_status FROM jobs WHERE id = ?", job.ID).
			Scan(&version, &status, &secondary)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound(fmt.Sprintf("job %q", job.ID))
		}
		if err != nil {
			return err
		}
		if version != job.Version {
			return store.Conflict(fmt.Sprintf("job %s was updated by someone else (version %d, yours %d)", job.ID, version, job.Version))
		}
		res, err := s.txExec(ctx, tx, `UPDATE jobs SET name = ?, remote_name = ?, remote_arn = ?, backend = ?, spec = ?,
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
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.Conflict(fmt.Sprintf("job %s was updated by someone else", job.ID))
		}
		evs := store.UpdateEvents(job, events, store.Status(status), secondary, now)
		if err := s.insertEvents(ctx, tx, job.ID, evs); err != nil {
			return err
		}
		return s.insertOutbox(ctx, tx, job, evs)
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

// Events returns a job's status changes, oldest first.
func (s *Store) Events(ctx context.Context, id string) ([]store.Event, error) {
	evs, err := s.events(ctx, id)
	if err != nil || len(evs) > 0 {
		return evs, err
	}
	// Every job has its creation event: none means no such job. Accept a
	// remote name as Get does.
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.ID != id {
		return s.events(ctx, j.ID)
	}
	return evs, nil
}

// GetWithEvents reads the job, then its events (in process: no round trip to save).
func (s *Store) GetWithEvents(ctx context.Context, id string) (*store.Job, []store.Event, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.events(ctx, j.ID)
	if err != nil {
		return nil, nil, err
	}
	return j, evs, nil
}

func (s *Store) events(ctx context.Context, id string) ([]store.Event, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.query(ctx,
		"SELECT job_id, at, status, secondary_status, message FROM job_events WHERE job_id = ? ORDER BY seq", id)
	if err != nil {
		return nil, wrap("list events", err)
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
			return nil, wrap("list events", err)
		}
		e.At = fromMicro(at)
		e.Status = store.Status(status)
		evs = append(evs, e)
	}
	return evs, wrap("list events", rows.Err())
}

// Claim leases up to limit live jobs to owner for ttl. It renews owner's own
// leases first, then takes the jobs least recently claimed (never-claimed
// first), so a small limit still reaches every job in turn. The result is
// oldest first. A limit of 0 or less means 100.
func (s *Store) Claim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*store.Job, error) {
	if owner == "" {
		return nil, errs.Configuration("claim needs an owner name", "pass a non-empty owner (e.g. host:pid)", nil)
	}
	if limit <= 0 {
		limit = 100
	}
	now := store.Now()
	exp := now.Add(ttl)
	var jobs []*store.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_expires = ?, claimed_at = ?
			WHERE id IN (SELECT id FROM jobs WHERE `+liveCond+`
				AND (lease_owner = '' OR lease_owner = ? OR lease_expires IS NULL OR lease_expires <= ?)
				ORDER BY lease_owner = ? DESC, claimed_at NULLS FIRST, created_at, id LIMIT ?)
			RETURNING `+columns, owner, micro(exp), micro(now), owner, micro(now), owner, limit)
		if err != nil {
			return err
		}
		jobs, err = collect(rows)
		return err
	})
	if err != nil {
		return nil, wrap("claim jobs", err)
	}
	sortOldestFirst(jobs)
	return jobs, nil
}

func sortOldestFirst(jobs []*store.Job) {
	// RETURNING has no guaranteed order.
	for i := 1; i < len(jobs); i++ {
		for k := i; k > 0 && store.CreatedBefore(jobs[k], jobs[k-1]); k-- {
			jobs[k], jobs[k-1] = jobs[k-1], jobs[k]
		}
	}
}

// Release gives up owner's lease on a job.
func (s *Store) Release(ctx context.Context, id, owner string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, "UPDATE jobs SET lease_owner = '', lease_expires = NULL WHERE id = ? AND lease_owner = ?", id, owner)
		return err
	})
	return wrap("release job "+id, err)
}

// CountByStatus returns the number of jobs in every status (0 included).
func (s *Store) CountByStatus(ctx context.Context) (map[store.Status]int64, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.query(ctx, "SELECT status, count(*) FROM jobs GROUP BY status")
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
