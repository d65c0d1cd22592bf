package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.SweepStore = (*Store)(nil)

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

// CreateSweep inserts a sweep.
func (s *Store) CreateSweep(ctx context.Context, sw *store.Sweep) error {
	store.PrepareSweep(sw)
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO sweeps ("+sweepColumns+") VALUES (?,?,?,?,?,?,?,?)",
			sw.ID, sw.Name, sw.Status, boolInt(sw.CancelRequested), string(sw.Doc), micro(sw.CreatedAt), micro(sw.UpdatedAt), sw.Version)
		if err != nil {
			return err
		}
		return s.insertSweepEvent(ctx, tx, sw, "")
	})
	return wrap("create sweep", err)
}

// GetSweep returns a sweep by ID.
func (s *Store) GetSweep(ctx context.Context, id string) (*store.Sweep, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	sw, err := scanSweep(s.db.QueryRowContext(ctx, "SELECT "+sweepColumns+" FROM sweeps WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("sweep %q", id))
	}
	return sw, wrap("get sweep", err)
}

// UpdateSweep writes sw if its version is still the stored one.
func (s *Store) UpdateSweep(ctx context.Context, sw *store.Sweep) error {
	now := store.Now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var previous string
		if err := tx.QueryRowContext(ctx, "SELECT status FROM sweeps WHERE id = ?", sw.ID).Scan(&previous); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sweeps SET name = ?, status = ?, cancel_requested = ?, doc = ?, updated_at = ?,
			version = version + 1 WHERE id = ? AND version = ?`,
			sw.Name, sw.Status, boolInt(sw.CancelRequested), string(sw.Doc), micro(now), sw.ID, sw.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			var one int
			if err := tx.QueryRowContext(ctx, "SELECT 1 FROM sweeps WHERE id = ?", sw.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return errs.NotFound(fmt.Sprintf("sweep %q", sw.ID))
			}
			return store.Conflict(fmt.Sprintf("sweep %s was updated by someone else", sw.ID))
		}
		return s.insertSweepEvent(ctx, tx, sw, previous)
	})
	if err != nil {
		return wrap("update sweep "+sw.ID, err)
	}
	sw.Version++
	sw.UpdatedAt = now
	return nil
}

// ListSweeps returns sweeps newest first.
func (s *Store) ListSweeps(ctx context.Context, live bool, limit int) ([]*store.Sweep, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	where := ""
	if live {
		where = " WHERE " + liveCond
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+sweepColumns+" FROM sweeps"+where+" ORDER BY created_at DESC, id DESC LIMIT ?", store.ListLimit(limit))
	if err != nil {
		return nil, wrap("list sweeps", err)
	}
	defer rows.Close()
	var out []*store.Sweep
	for rows.Next() {
		sw, err := scanSweep(rows)
		if err != nil {
			return nil, wrap("list sweeps", err)
		}
		out = append(out, sw)
	}
	return out, wrap("list sweeps", rows.Err())
}

// SetJobSweep marks a job as a sweep's trial.
func (s *Store) SetJobSweep(ctx context.Context, jobID, sweepID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET sweep_id = ? WHERE id = ?", sweepID, jobID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.NotFound(fmt.Sprintf("job %q", jobID))
		}
		return nil
	})
	return wrap("mark job "+jobID+" as a trial", err)
}
