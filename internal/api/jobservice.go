package api

import (
	"context"

	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// FromJobs adapts the job service to JobService.
func FromJobs(s *jobs.Service) JobService { return jobsAdapter{s} }

type jobsAdapter struct{ *jobs.Service }

func (a jobsAdapter) Submit(ctx context.Context, sp *spec.Spec, key string) (*store.Job, bool, error) {
	return a.Service.Submit(ctx, sp, jobs.SubmitOptions{IdempotencyKey: key})
}
