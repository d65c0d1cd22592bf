package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.Outbox = (*Store)(nil)

const outboxColumns = `seq, id, job_id, type, payload, notify_urls, occurred_at, created_at,
	state, attempts, next_attempt_at, lease_owner, lease_expires, done_urls, last_error, delivered_at`

// insertOutbox writes the outbox rows of events inside the transaction
// that records them.
func insertOutbox(ctx context.Context, tx pgx.Tx, job *store.Job, events []store.Event) error {
	rows, err := store.NewOutboxEvents(job, events)
	if err != nil {
		return err
	}
	return insertOutboxRows(ctx, tx, rows)
}

// insertOutboxRows writes outbox rows (of a job, sweep or deployment)
// inside the caller's transaction.
func insertOutboxRows(ctx context.Context, tx pgx.Tx, rows []*store.OutboxEvent) error {
	for _, o := range rows {
		_, err := tx.Exec(ctx, `INSERT INTO event_outbox (id, job_id, type, payload, notify_urls, occurred_at, created_at, state, next_attempt_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			o.ID, o.JobID, o.Type, string(o.Payload), store.EncodeURLs(o.NotifyURLs), o.OccurredAt, o.CreatedAt, o.State, o.NextAttemptAt)
		if err != nil {
			return err
		}
	}
	return nil
}

func scanOutbox(r store.Scanner) (*store.OutboxEvent, error) {
	var (
		o                     store.OutboxEvent
		payload, notify, done string
		leaseExp, delivered   *time.Time
	)
	if err := r.Scan(&o.Seq, &o.ID, &o.JobID, &o.Type, &payload, &notify, &o.OccurredAt, &o.CreatedAt,
		&o.State, &o.Attempts, &o.NextAttemptAt, &o.LeaseOwner, &leaseExp, &done, &o.LastError, &delivered); err != nil {
		return nil, err
	}
	o.Payload = []byte(payload)
	o.NotifyURLs = store.DecodeURLs(notify)
	o.DoneURLs = store.DecodeURLs(done)
	o.OccurredAt, o.CreatedAt, o.NextAttemptAt = o.OccurredAt.UTC(), o.CreatedAt.UTC(), o.NextAttemptAt.UTC()
	if leaseExp != nil {
		o.LeaseExpires = leaseExp.UTC()
	}
	o.DeliveredAt = utcPtr(delivered)
	return &o, nil
}

func collectOutbox(rows pgx.Rows) ([]*store.OutboxEvent, error) {
	defer rows.Close()
	return store.Collect(rows, scanOutbox)
}

// ClaimOutboxRows leases on the database's clock (now is not used). FOR
// UPDATE SKIP LOCKED skips rows another replica is claiming right now; a
// row it has claimed since fails the lease condition when re-checked, so
// each event is held by one replica at a time.
func (d driver) ClaimOutboxRows(ctx context.Context, owner string, ttl time.Duration, limit int, _ time.Time) ([]*store.OutboxEvent, error) {
	rows, err := d.s.pool.Query(ctx, `WITH c AS (
			SELECT o.seq FROM event_outbox o
			WHERE o.state = 'pending' AND o.next_attempt_at <= clock_timestamp()
				AND (o.lease_owner = '' OR o.lease_owner = $1 OR o.lease_expires IS NULL OR o.lease_expires <= clock_timestamp())
				AND NOT EXISTS (SELECT 1 FROM event_outbox p WHERE p.job_id = o.job_id AND p.state = 'pending' AND p.seq < o.seq)
			ORDER BY o.seq
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE event_outbox SET lease_owner = $1,
			lease_expires = date_trunc('microseconds', clock_timestamp()) + $2 * interval '1 microsecond'
		FROM c WHERE event_outbox.seq = c.seq
		RETURNING `+store.QualifiedColumns("event_outbox", outboxColumns), owner, ttl.Microseconds(), limit)
	if err != nil {
		return nil, err
	}
	return collectOutbox(rows)
}

// FinishOutboxRow stamps times on the database's clock (now is not used).
func (d driver) FinishOutboxRow(ctx context.Context, seq int64, owner string, r store.OutboxResult, _ time.Time) (bool, error) {
	attempted := 0
	if r.Attempted {
		attempted = 1
	}
	var next any = r.NextAttemptAt
	if r.NextAttemptAt.IsZero() {
		next = nil
	}
	tag, err := d.s.pool.Exec(ctx, `UPDATE event_outbox SET state = $1, done_urls = $2, attempts = attempts + $3,
			next_attempt_at = COALESCE($4::timestamptz, clock_timestamp()), last_error = $5,
			delivered_at = CASE WHEN $1 = 'delivered' THEN clock_timestamp() END,
			lease_owner = '', lease_expires = NULL
		WHERE seq = $6 AND lease_owner = $7 AND state = 'pending'`,
		r.State, store.EncodeURLs(r.DoneURLs), attempted, next, store.BoundError(r.LastError), seq, owner)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (d driver) OutboxRows(ctx context.Context, f store.OutboxFilter) ([]*store.OutboxEvent, error) {
	conds := []string{"seq > $1"}
	args := []any{f.AfterSeq}
	if f.JobID != "" {
		args = append(args, f.JobID)
		conds = append(conds, fmt.Sprintf("job_id = $%d", len(args)))
	}
	if f.State != "" {
		args = append(args, f.State)
		conds = append(conds, fmt.Sprintf("state = $%d", len(args)))
	}
	args = append(args, f.Limit)
	rows, err := d.s.pool.Query(ctx, "SELECT "+outboxColumns+" FROM event_outbox WHERE "+strings.Join(conds, " AND ")+
		fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, err
	}
	return collectOutbox(rows)
}
