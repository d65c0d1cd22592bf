package store

import (
	"context"
	"encoding/json"
)

// ProvenanceStore keeps each job's provenance document (what it was made
// from: image digest, data digest, trainer build; see internal/provenance).
// Both drivers implement it next to Store.
type ProvenanceStore interface {
	// SetProvenance writes (or replaces) a job's provenance.
	SetProvenance(ctx context.Context, jobID string, doc json.RawMessage) error
	// GetProvenance returns it, or nil when none was recorded.
	GetProvenance(ctx context.Context, jobID string) (json.RawMessage, error)
}
