package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.SweepStore = (*Store)(nil)

const sweepColumns = "id, name, status, cancel_requested, doc, created_at, updated_at, version"

func scanSweep(r pgx.Row) (*store.Sweep, error) {
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

// CreateSweep inserts a sweep.
func (s *Store) CreateSweep(ctx context.Context, sw *store.Sweep) error {
	store.PrepareSweep(sw)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO sweeps ("+sweepColumns+") VALUES ($1,$2,$3,$4,$5::json,$6,$7,$8)",
			sw.ID, sw.Name, sw.Status, sw.CancelRequested, string(sw.Doc), sw.CreatedAt, sw.UpdatedAt, sw.Version); err != nil {
			return err
		}
		return insertSweepEvent(ctx, tx, sw, "")
	})
	return wrap("create sweep", err)
}

// GetSweep returns a sweep by ID.
func (s *Store) GetSweep(ctx context.Context, id string) (*store.Sweep, error) {
	sw, err := scanSweep(s.pool.QueryRow(ctx, "SELECT "+sweepColumns+" FROM sweeps WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("sweep %q", id))
	}
	return sw, wrap("get sweep", err)
}

// UpdateSweep writes sw if its version is still the stored one.
func (s *Store) UpdateSweep(ctx context.Context, sw *store.Sweep) error {
	now := store.Now()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The row lock orders concurrent updates, so each status change is
		// seen (and becomes an event) once.
		var previous string
		err := tx.QueryRow(ctx, "SELECT status FROM sweeps WHERE id = $1 AND version = $2 FOR UPDATE", sw.ID, sw.Version).Scan(&previous)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.GetSweep(ctx, sw.ID); err != nil {
				return err
			}
			return store.Conflict(fmt.Sprintf("sweep %s was updated by someone else", sw.ID))
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sweeps SET name = $1, status = $2, cancel_requested = $3, doc = $4::json, updated_at = $5,
			version = version + 1 WHERE id = $6`,
			sw.Name, sw.Status, sw.CancelRequested, string(sw.Doc), now, sw.ID); err != nil {
			return err
		}
		return insertSweepEvent(ctx, tx, sw, previous)
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
	where := ""
	if live {
		where = " WHERE " + liveCond
	}
	rows, err := s.pool.Query(ctx, "SELECT "+sweepColumns+" FROM sweeps"+where+" ORDER BY created_at DESC, id DESC LIMIT $1", store.ListLimit(limit))
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
	tag, err := s.pool.Exec(ctx, "UPDATE jobs SET sweep_id = $1 WHERE id = $2", sweepID, jobID)
	if err != nil {
		return wrap("mark job "+jobID+" as a trial", err)
	}
	if tag.RowsAffected() != 1 {
		return errs.NotFound(fmt.Sprintf("job %q", jobID))
	}
	return nil
}
