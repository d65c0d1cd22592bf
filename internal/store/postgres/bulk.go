package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

// CreateMany inserts many new jobs (each with its creation event) in one
// transaction through COPY: for seeding benchmarks and imports. Unlike Create
// it does not look up idempotency keys; a duplicate id or key fails the
// whole batch. It ends with ANALYZE.
func (s *Store) CreateMany(ctx context.Context, jobs []*store.Job) error {
	for _, j := range jobs {
		if err := store.PrepareNew(j); err != nil {
			return err
		}
	}
	cols := strings.Split(columns+", search", ",")
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"jobs"}, cols, pgx.CopyFromSlice(len(jobs), func(i int) ([]any, error) {
			job := jobs[i]
			return []any{job.ID, job.Name, job.RemoteName, job.RemoteARN, job.Backend, nullText(job.IdempotencyKey), jsonText(job.Spec),
				string(job.Status), job.SecondaryStatus, job.StatusMessage, job.FailureReason, job.CancelRequested,
				job.CreatedAt, job.UpdatedAt, nullTime(job.StartedAt), nullTime(job.EndedAt), job.BillableSeconds,
				job.ModelArtifactURI, job.OutputArtifactURI, job.ArtifactDir, jsonText(job.Report),
				job.Version, job.LeaseOwner, nullTime(&job.LeaseExpires), store.SearchText(job.Name, job.RemoteName)}, nil
		}))
		if err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"job_events"}, []string{"job_id", "at", "status", "secondary_status", "message"},
			pgx.CopyFromSlice(len(jobs), func(i int) ([]any, error) {
				j := jobs[i]
				return []any{j.ID, j.CreatedAt, string(j.Status), j.SecondaryStatus, j.StatusMessage}, nil
			}))
		return err
	})
	if err != nil {
		return wrap("create jobs", err)
	}
	// Fresh statistics, so the planner picks the trigram index for rare
	// names right away instead of after autovacuum's next pass.
	_, err = s.pool.Exec(ctx, "ANALYZE jobs")
	return wrap("analyze jobs", err)
}

// jsonText hands COPY the JSON as text (kept byte for byte).
func jsonText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
