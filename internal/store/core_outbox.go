package store

import (
	"context"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// OutboxDriver runs one dialect's SQL for Core's Outbox.
type OutboxDriver interface {
	// ClaimOutboxRows leases up to limit due queue heads to owner for ttl.
	// now is Core's clock; a driver may use the database's instead.
	ClaimOutboxRows(ctx context.Context, owner string, ttl time.Duration, limit int, now time.Time) ([]*OutboxEvent, error)
	// FinishOutboxRow writes r if owner still holds seq's lease.
	FinishOutboxRow(ctx context.Context, seq int64, owner string, r OutboxResult, now time.Time) (bool, error)
	// OutboxRows lists events by seq; f.Limit is already bounded.
	OutboxRows(ctx context.Context, f OutboxFilter) ([]*OutboxEvent, error)
}

func (c *Core) outbox() OutboxDriver {
	od, _ := c.d.(OutboxDriver)
	return od
}

var _ Outbox = (*Core)(nil)

// ClaimOutbox leases the due heads of the pending queues, oldest first. A
// limit of 0 or less means 100.
func (c *Core) ClaimOutbox(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*OutboxEvent, error) {
	if owner == "" {
		return nil, errs.Configuration("claiming events needs an owner name", "pass a non-empty owner (e.g. host:pid)", nil)
	}
	if limit <= 0 {
		limit = 100
	}
	out, err := c.outbox().ClaimOutboxRows(ctx, owner, ttl, limit, c.Now())
	if err != nil {
		return nil, c.d.Wrap("claim events", err)
	}
	// RETURNING has no guaranteed order.
	for i := 1; i < len(out); i++ {
		for k := i; k > 0 && out[k].Seq < out[k-1].Seq; k-- {
			out[k], out[k-1] = out[k-1], out[k]
		}
	}
	return out, nil
}

// FinishOutbox records a sender's result and drops its lease.
func (c *Core) FinishOutbox(ctx context.Context, seq int64, owner string, r OutboxResult) (bool, error) {
	ok, err := c.outbox().FinishOutboxRow(ctx, seq, owner, r, c.Now())
	return ok, c.d.Wrap("finish event", err)
}

// ListOutbox returns events oldest first.
func (c *Core) ListOutbox(ctx context.Context, f OutboxFilter) ([]*OutboxEvent, error) {
	f.Limit = OutboxLimit(f.Limit)
	out, err := c.outbox().OutboxRows(ctx, f)
	return out, c.d.Wrap("list events", err)
}

// CountOutbox returns the number of pending and failed events (delivered
// ones are most rows and are counted by the sender's metrics instead).
func (c *Core) CountOutbox(ctx context.Context) (map[string]int64, error) {
	counts, err := c.d.Count(ctx, "SELECT state, count(*) FROM event_outbox WHERE state <> 'delivered' GROUP BY state")
	if err != nil {
		return nil, c.d.Wrap("count events", err)
	}
	out := map[string]int64{OutboxPending: 0, OutboxFailed: 0}
	for st, n := range counts {
		out[st] = n
	}
	return out, nil
}
