package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

var (
	_ store.SweepStore  = (*Store)(nil)
	_ store.SweepDriver = driver{}
)

const sweepColumns = "id, name, status, cancel_requested, doc, created_at, updated_at, version"

func scanSweep(r store.Scanner) (*store.Sweep, error) {
	var (
		sw  store.Sweep
		doc []byte // as bytes: pgx would decode JSON into a RawMessage
	)
	if err := r.Scan(&sw.ID, &sw.Name, &sw.Status, &sw.CancelRequested, &doc, &sw.CreatedAt, &sw.UpdatedAt, &sw.Version); err != nil {
		return nil, err
	}
	sw.Doc = doc
	sw.CreatedAt, sw.UpdatedAt = sw.CreatedAt.UTC(), sw.UpdatedAt.UTC()
	return &sw, nil
}

func (d driver) SweepWrite(ctx context.Context, fn func(store.SweepTx) error) error {
	return pgx.BeginFunc(ctx, d.s.pool, func(tx pgx.Tx) error { return fn(sweepTx{tx}) })
}

func (d driver) SweepByID(ctx context.Context, id string) (*store.Sweep, error) {
	sw, err := scanSweep(d.s.pool.QueryRow(ctx, "SELECT "+sweepColumns+" FROM sweeps WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return sw, err
}

func (d driver) Sweeps(ctx context.Context, live bool, limit int) ([]*store.Sweep, error) {
	where := ""
	if live {
		where = " WHERE " + liveCond
	}
	rows, err := d.s.pool.Query(ctx, "SELECT "+sweepColumns+" FROM sweeps"+where+" ORDER BY created_at DESC, id DESC LIMIT $1", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.Collect(rows, scanSweep)
}

func (d driver) MarkTrial(ctx context.Context, jobID, sweepID string) (bool, error) {
	tag, err := d.s.pool.Exec(ctx, "UPDATE jobs SET sweep_id = $1 WHERE id = $2", sweepID, jobID)
	return err == nil && tag.RowsAffected() == 1, err
}

type sweepTx struct{ tx pgx.Tx }

func (t sweepTx) InsertSweep(ctx context.Context, sw *store.Sweep) error {
	_, err := t.tx.Exec(ctx, "INSERT INTO sweeps ("+sweepColumns+") VALUES ($1,$2,$3,$4,$5::json,$6,$7,$8)",
		sw.ID, sw.Name, sw.Status, sw.CancelRequested, string(sw.Doc), sw.CreatedAt, sw.UpdatedAt, sw.Version)
	return err
}

// LockSweep takes the row lock (FOR UPDATE) that orders concurrent updates.
func (t sweepTx) LockSweep(ctx context.Context, id string, version int64) (string, bool, error) {
	var status string
	err := t.tx.QueryRow(ctx, "SELECT status FROM sweeps WHERE id = $1 AND version = $2 FOR UPDATE", id, version).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return status, err == nil, err
}

func (t sweepTx) SweepExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.tx.QueryRow(ctx, "SELECT 1 FROM sweeps WHERE id = $1", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t sweepTx) UpdateSweep(ctx context.Context, sw *store.Sweep, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE sweeps SET name = $1, status = $2, cancel_requested = $3, doc = $4::json, updated_at = $5,
		version = version + 1 WHERE id = $6`,
		sw.Name, sw.Status, sw.CancelRequested, string(sw.Doc), now, sw.ID)
	return err
}

func (t sweepTx) InsertSweepEvent(ctx context.Context, sw *store.Sweep, previous string) error {
	return insertSweepEvent(ctx, t.tx, sw, previous)
}
