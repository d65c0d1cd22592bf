package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.ProvenanceStore = (*Store)(nil)

// SetProvenance writes (or replaces) a job's provenance.
func (s *Store) SetProvenance(ctx context.Context, jobID string, doc json.RawMessage) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO job_provenance (job_id, provenance, updated_at) VALUES (?,?,?)
			ON CONFLICT (job_id) DO UPDATE SET provenance = excluded.provenance, updated_at = excluded.updated_at`,
			jobID, string(doc), micro(store.Now()))
		return err
	})
	return wrap("set provenance of "+jobID, err)
}

// GetProvenance returns a job's provenance, or nil.
func (s *Store) GetProvenance(ctx context.Context, jobID string) (json.RawMessage, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	var doc string
	err = s.queryRow(ctx, "SELECT provenance FROM job_provenance WHERE job_id = ?", jobID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get provenance of "+jobID, err)
	}
	return json.RawMessage(doc), nil
}
