package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.Outbox = (*Store)(nil)

const outboxColumns = `seq, id, job_id, type, payload, notify_urls, occurred_at, created_at,
	state, attempts, next_attempt_at, lease_owner, lease_expires, done_urls, last_error, delivered_at`

// insertOutbox writes the outbox rows of events inside the transaction
// that records them.
func (s *Store) insertOutbox(ctx context.Context, tx *sql.Tx, job *store.Job, events []store.Event) error {
	rows, err := store.NewOutboxEvents(job, events)
	if err != nil {
		return err
	}
	return s.insertOutboxRows(ctx, tx, rows)
}

// insertOutboxRows writes outbox rows (of a job, sweep or deployment)
// inside the caller's transaction.
func (s *Store) insertOutboxRows(ctx context.Context, tx *sql.Tx, rows []*store.OutboxEvent) error {
	for _, o := range rows {
		_, err := s.txExec(ctx, tx, `INSERT INTO event_outbox (id, job_id, type, payload, notify_urls, occurred_at, created_at, state, next_attempt_at)
			VALUES (?,?,?,?,?,?,?,?,?)`,
			o.ID, o.JobID, o.Type, string(o.Payload), store.EncodeURLs(o.NotifyURLs), micro(o.OccurredAt), micro(o.CreatedAt), o.State, micro(o.NextAttemptAt))
		if err != nil {
			return err
		}
	}
	return nil
}

func scanOutbox(r scanner) (*store.OutboxEvent, error) {
	var (
		o                       store.OutboxEvent
		payload, notify, done   string
		occurred, created, next int64
		leaseExp, delivered     sql.NullInt64
	)
	if err := r.Scan(&o.Seq, &o.ID, &o.JobID, &o.Type, &payload, &notify, &occurred, &created,
		&o.State, &o.Attempts, &next, &o.LeaseOwner, &leaseExp, &done, &o.LastError, &delivered); err != nil {
		return nil, err
	}
	o.Payload = []byte(payload)
	o.NotifyURLs = store.DecodeURLs(notify)
	o.DoneURLs = store.DecodeURLs(done)
	o.OccurredAt, o.CreatedAt, o.NextAttemptAt = fromMicro(occurred), fromMicro(created), fromMicro(next)
	if leaseExp.Valid {
		o.LeaseExpires = fromMicro(leaseExp.Int64)
	}
	o.DeliveredAt = fromNullMicro(delivered)
	return &o, nil
}

func collectOutbox(rows *sql.Rows) ([]*store.OutboxEvent, error) {
	defer rows.Close()
	return store.Collect(rows, scanOutbox)
}

// ClaimOutboxRows leases on Core's clock. Writers of this file are
// serialised (BEGIN IMMEDIATE), so two senders never claim the same row.
func (d driver) ClaimOutboxRows(ctx context.Context, owner string, ttl time.Duration, limit int, now time.Time) ([]*store.OutboxEvent, error) {
	// A sender polls every second: look first, without the write lock, so
	// an idle outbox costs readers and the CLI's writers nothing.
	if due, err := d.s.anyDue(ctx, now); err != nil || !due {
		return nil, err
	}
	var out []*store.OutboxEvent
	err := d.s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE event_outbox SET lease_owner = ?, lease_expires = ?
			WHERE seq IN (SELECT o.seq FROM event_outbox o
				WHERE o.state = 'pending' AND o.next_attempt_at <= ?
				AND (o.lease_owner = '' OR o.lease_owner = ? OR o.lease_expires IS NULL OR o.lease_expires <= ?)
				AND NOT EXISTS (SELECT 1 FROM event_outbox p WHERE p.job_id = o.job_id AND p.state = 'pending' AND p.seq < o.seq)
				ORDER BY o.seq LIMIT ?)
			RETURNING `+outboxColumns,
			owner, micro(now.Add(ttl)), micro(now), owner, micro(now), limit)
		if err != nil {
			return err
		}
		out, err = collectOutbox(rows)
		return err
	})
	return out, err
}

func (d driver) FinishOutboxRow(ctx context.Context, seq int64, owner string, r store.OutboxResult, now time.Time) (bool, error) {
	var delivered any
	if r.State == store.OutboxDelivered {
		delivered = micro(now)
	}
	attempted := 0
	if r.Attempted {
		attempted = 1
	}
	next := r.NextAttemptAt
	if next.IsZero() {
		next = now
	}
	var ok bool
	err := d.s.write(ctx, func(tx *sql.Tx) error {
		res, err := d.s.txExec(ctx, tx, `UPDATE event_outbox SET state = ?, done_urls = ?, attempts = attempts + ?,
			next_attempt_at = ?, last_error = ?, delivered_at = ?, lease_owner = '', lease_expires = NULL
			WHERE seq = ? AND lease_owner = ? AND state = 'pending'`,
			r.State, store.EncodeURLs(r.DoneURLs), attempted, micro(next), store.BoundError(r.LastError), delivered, seq, owner)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

func (d driver) OutboxRows(ctx context.Context, f store.OutboxFilter) ([]*store.OutboxEvent, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	conds := []string{"seq > ?"}
	args := []any{f.AfterSeq}
	if f.JobID != "" {
		conds = append(conds, "job_id = ?")
		args = append(args, f.JobID)
	}
	if f.State != "" {
		conds = append(conds, "state = ?")
		args = append(args, f.State)
	}
	args = append(args, f.Limit)
	rows, err := d.s.query(ctx, "SELECT "+outboxColumns+" FROM event_outbox WHERE "+strings.Join(conds, " AND ")+" ORDER BY seq LIMIT ?", args...)
	if err != nil {
		return nil, err
	}
	return collectOutbox(rows)
}

// anyDue reports whether some pending event is due (event_outbox_due index).
func (s *Store) anyDue(ctx context.Context, now time.Time) (bool, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	var one int
	err = s.queryRow(ctx, "SELECT 1 FROM event_outbox WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1", micro(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
