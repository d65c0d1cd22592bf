package store

import (
	"context"
	"encoding/json"
	"time"
)

// Sweep is the parent record of a parameter sweep. Its trials are ordinary
// jobs marked with the sweep's ID (SweepStore.SetJobSweep). Doc holds the
// sweep's definition and scheduler state; package sweep owns its shape, the
// store only keeps it, so the scheduler survives restarts like a job does.
type Sweep struct {
	ID              string
	Name            string
	Status          string // package sweep's status; "stopped", "completed" and "failed" are terminal
	CancelRequested bool
	Doc             json.RawMessage
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64 // bumped by every UpdateSweep; optimistic concurrency as for jobs
}

// SweepTerminal reports whether a sweep in this status never changes again.
func SweepTerminal(status string) bool {
	return status == "stopped" || status == "completed" || status == "failed"
}

// SweepStore keeps sweeps. Both drivers implement it next to Store.
type SweepStore interface {
	// CreateSweep inserts a sweep; ID, times and Version are set when empty.
	CreateSweep(ctx context.Context, sw *Sweep) error
	// GetSweep returns a sweep by ID; errs.ErrNotFound when there is none.
	GetSweep(ctx context.Context, id string) (*Sweep, error)
	// UpdateSweep writes sw if its Version is still the stored one and bumps
	// it; errs.ErrConflict otherwise.
	UpdateSweep(ctx context.Context, sw *Sweep) error
	// ListSweeps returns sweeps newest first (only live ones with live), at most limit.
	ListSweeps(ctx context.Context, live bool, limit int) ([]*Sweep, error)
	// SetJobSweep marks a job as a trial of a sweep (ListFilter.SweepID,
	// ListFilter.NoTrials); it does not change the job's Version.
	SetJobSweep(ctx context.Context, jobID, sweepID string) error
}

// PrepareSweep fills CreateSweep's defaults.
func PrepareSweep(sw *Sweep) {
	if sw.ID == "" {
		sw.ID = NewID()
	}
	if sw.CreatedAt.IsZero() {
		sw.CreatedAt = Now()
	}
	sw.CreatedAt = Micro(sw.CreatedAt)
	if sw.UpdatedAt.IsZero() {
		sw.UpdatedAt = sw.CreatedAt
	}
	sw.UpdatedAt = Micro(sw.UpdatedAt)
	if sw.Version == 0 {
		sw.Version = 1
	}
}
