package sqlite

import (
	"context"
	"database/sql"

	"github.com/sagetrain/sagetrain/internal/store"
)

// CreateMany inserts many new jobs (each with its creation event) in one
// transaction: for seeding benchmarks and imports. Unlike Create it does not
// look up idempotency keys; a duplicate id or key fails the whole batch.
func (s *Store) CreateMany(ctx context.Context, jobs []*store.Job) error {
	for _, j := range jobs {
		if err := store.PrepareNew(j); err != nil {
			return err
		}
	}
	return wrap("create jobs", s.write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, insertJob)
		if err != nil {
			return err
		}
		defer ins.Close()
		ev, err := tx.PrepareContext(ctx, "INSERT INTO job_events (job_id, at, status, secondary_status, message) VALUES (?,?,?,?,?)")
		if err != nil {
			return err
		}
		defer ev.Close()
		for _, job := range jobs {
			_, err := ins.ExecContext(ctx, job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), nullJSON(job.Spec),
				string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, boolInt(job.CancelRequested),
				micro(job.CreatedAt), micro(job.UpdatedAt), nullMicro(job.StartedAt), nullMicro(job.EndedAt), job.BillableSeconds,
				job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, nullJSON(job.Report),
				job.Version, job.LeaseOwner, nullMicro(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName))
			if err != nil {
				return err
			}
			if _, err := ev.ExecContext(ctx, job.ID, micro(job.CreatedAt), string(job.Status), job.SecondaryStatus, job.StatusMessage); err != nil {
				return err
			}
		}
		return nil
	}))
}
