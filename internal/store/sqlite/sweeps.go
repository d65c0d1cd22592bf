package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

var (
	_ store.SweepStore  = (*Store)(nil)
	_ store.SweepDriver = driver{}
)

const sweepColumns = "id, name, status, cancel_requested, doc, created_at, updated_at, version"

func scanSweep(r scanner) (*store.Sweep, error) {
	var (
		sw               store.Sweep
		cancel           int64
		doc              string
		created, updated int64
	)
	if err := r.Scan(&sw.ID, &sw.Name, &sw.Status, &cancel, &doc, &created, &updated, &sw.Version); err != nil {
		return nil, err
	}
	sw.CancelRequested = cancel != 0
	sw.Doc = []byte(doc)
	sw.CreatedAt, sw.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &sw, nil
}

func (d driver) SweepWrite(ctx context.Context, fn func(store.SweepTx) error) error {
	return d.s.write(ctx, func(tx *sql.Tx) error { return fn(sweepTx{s: d.s, tx: tx}) })
}

func (d driver) SweepByID(ctx context.Context, id string) (*store.Sweep, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	sw, err := scanSweep(d.s.db.QueryRowContext(ctx, "SELECT "+sweepColumns+" FROM sweeps WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return sw, err
}

func (d driver) Sweeps(ctx context.Context, live bool, limit int) ([]*store.Sweep, error) {
	done, err := d.s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	where := ""
	if live {
		where = " WHERE " + liveCond
	}
	rows, err := d.s.db.QueryContext(ctx, "SELECT "+sweepColumns+" FROM sweeps"+where+" ORDER BY created_at DESC, id DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.Collect(rows, scanSweep)
}

func (d driver) MarkTrial(ctx context.Context, jobID, sweepID string) (bool, error) {
	var n int64
	err := d.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET sweep_id = ? WHERE id = ?", sweepID, jobID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

type sweepTx struct {
	s  *Store
	tx *sql.Tx
}

func (t sweepTx) InsertSweep(ctx context.Context, sw *store.Sweep) error {
	_, err := t.tx.ExecContext(ctx, "INSERT INTO sweeps ("+sweepColumns+") VALUES (?,?,?,?,?,?,?,?)",
		sw.ID, sw.Name, sw.Status, boolInt(sw.CancelRequested), string(sw.Doc), micro(sw.CreatedAt), micro(sw.UpdatedAt), sw.Version)
	return err
}

// LockSweep needs no lock: the write transaction is BEGIN IMMEDIATE.
func (t sweepTx) LockSweep(ctx context.Context, id string, version int64) (string, bool, error) {
	var status string
	err := t.tx.QueryRowContext(ctx, "SELECT status FROM sweeps WHERE id = ? AND version = ?", id, version).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return status, err == nil, err
}

func (t sweepTx) SweepExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, "SELECT 1 FROM sweeps WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t sweepTx) UpdateSweep(ctx context.Context, sw *store.Sweep, now time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE sweeps SET name = ?, status = ?, cancel_requested = ?, doc = ?, updated_at = ?,
		version = version + 1 WHERE id = ?`,
		sw.Name, sw.Status, boolInt(sw.CancelRequested), string(sw.Doc), micro(now), sw.ID)
	return err
}

func (t sweepTx) InsertSweepEvent(ctx context.Context, sw *store.Sweep, previous string) error {
	return t.s.insertSweepEvent(ctx, t.tx, sw, previous)
}
