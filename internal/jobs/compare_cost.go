package jobs

import (
	"context"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/store"
)

// comparedJob is j as compare shows it, with its cost: money for a
// SageMaker job, CPU-seconds for a local one.
func comparedJob(ctx context.Context, j *store.Job) ComparedJob {
	cj := ComparedJob{ID: j.ID, Name: j.Name, Status: string(j.Status)}
	if c := cost.For(ctx, j); c != nil {
		cj.Cost, cj.CostUSD = c, c.USD
	}
	return cj
}
