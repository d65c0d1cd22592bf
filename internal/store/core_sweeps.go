package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// SweepDriver runs one dialect's SQL for Core's SweepStore. Reads return
// nil (and no error) when no row matches.
type SweepDriver interface {
	SweepByID(ctx context.Context, id string) (*Sweep, error)
	// Sweeps lists up to limit sweeps newest first (only live ones with live).
	Sweeps(ctx context.Context, live bool, limit int) ([]*Sweep, error)
	// MarkTrial sets a job's sweep; false when there is no such job.
	MarkTrial(ctx context.Context, jobID, sweepID string) (bool, error)
	SweepWrite(ctx context.Context, fn func(SweepTx) error) error
}

// SweepTx is a SweepDriver's write transaction.
type SweepTx interface {
	InsertSweep(ctx context.Context, sw *Sweep) error
	// LockSweep locks the sweep at version and returns its status; false
	// when no row has that ID and version.
	LockSweep(ctx context.Context, id string, version int64) (status string, ok bool, err error)
	SweepExists(ctx context.Context, id string) (bool, error)
	// UpdateSweep writes sw at now and bumps its version.
	UpdateSweep(ctx context.Context, sw *Sweep, now time.Time) error
	// InsertSweepEvent records sw's status change from previous ("" when new).
	InsertSweepEvent(ctx context.Context, sw *Sweep, previous string) error
}

func (c *Core) sweeps() SweepDriver {
	sd, _ := c.d.(SweepDriver)
	return sd
}

var _ SweepStore = (*Core)(nil)

// CreateSweep inserts a sweep and its first event.
func (c *Core) CreateSweep(ctx context.Context, sw *Sweep) error {
	if sw.CreatedAt.IsZero() {
		sw.CreatedAt = c.Now()
	}
	PrepareSweep(sw)
	err := c.sweeps().SweepWrite(ctx, func(tx SweepTx) error {
		if err := tx.InsertSweep(ctx, sw); err != nil {
			return err
		}
		return tx.InsertSweepEvent(ctx, sw, "")
	})
	return c.d.Wrap("create sweep", err)
}

// GetSweep returns a sweep by ID.
func (c *Core) GetSweep(ctx context.Context, id string) (*Sweep, error) {
	sw, err := c.sweeps().SweepByID(ctx, id)
	if err == nil && sw == nil {
		err = errs.NotFound(fmt.Sprintf("sweep %q", id))
	}
	return sw, c.d.Wrap("get sweep", err)
}

// UpdateSweep writes sw if its version is still the stored one. The row
// lock orders concurrent updates, so each status change is seen (and
// becomes an event) once.
func (c *Core) UpdateSweep(ctx context.Context, sw *Sweep) error {
	now := c.Now()
	err := c.sweeps().SweepWrite(ctx, func(tx SweepTx) error {
		previous, ok, err := tx.LockSweep(ctx, sw.ID, sw.Version)
		if err != nil {
			return err
		}
		if !ok {
			found, err := tx.SweepExists(ctx, sw.ID)
			if err != nil {
				return err
			}
			if !found {
				return errs.NotFound(fmt.Sprintf("sweep %q", sw.ID))
			}
			return Conflict(fmt.Sprintf("sweep %s was updated by someone else", sw.ID))
		}
		if err := tx.UpdateSweep(ctx, sw, now); err != nil {
			return err
		}
		return tx.InsertSweepEvent(ctx, sw, previous)
	})
	if err != nil {
		return c.d.Wrap("update sweep "+sw.ID, err)
	}
	sw.Version++
	sw.UpdatedAt = now
	return nil
}

// ListSweeps returns sweeps newest first.
func (c *Core) ListSweeps(ctx context.Context, live bool, limit int) ([]*Sweep, error) {
	out, err := c.sweeps().Sweeps(ctx, live, ListLimit(limit))
	return out, c.d.Wrap("list sweeps", err)
}

// SetJobSweep marks a job as a sweep's trial.
func (c *Core) SetJobSweep(ctx context.Context, jobID, sweepID string) error {
	ok, err := c.sweeps().MarkTrial(ctx, jobID, sweepID)
	if err == nil && !ok {
		err = errs.NotFound(fmt.Sprintf("job %q", jobID))
	}
	return c.d.Wrap("mark job "+jobID+" as a trial", err)
}
