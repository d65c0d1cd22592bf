package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.ProvenanceStore = (*Store)(nil)

// SetProvenance writes (or replaces) a job's provenance.
func (s *Store) SetProvenance(ctx context.Context, jobID string, doc json.RawMessage) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO job_provenance (job_id, provenance, updated_at) VALUES ($1, $2, clock_timestamp())
		ON CONFLICT (job_id) DO UPDATE SET provenance = excluded.provenance, updated_at = excluded.updated_at`,
		jobID, string(doc))
	return wrap("set provenance of "+jobID, err)
}

// GetProvenance returns a job's provenance, or nil.
func (s *Store) GetProvenance(ctx context.Context, jobID string) (json.RawMessage, error) {
	var doc string
	err := s.pool.QueryRow(ctx, "SELECT provenance FROM job_provenance WHERE job_id = $1", jobID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get provenance of "+jobID, err)
	}
	return json.RawMessage(doc), nil
}
