package jobs

import (
	"context"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// checkpointSourcer is a backend that keeps a job's checkpoints where a new
// job can start from them (the local backend keeps its job folders).
type checkpointSourcer interface {
	CheckpointSource(remoteName string) (string, error)
}

// Resume starts a new job from a stopped or failed (also interrupted) job's
// last checkpoints: its spec with resume_from set to where the checkpoints
// are (the old local job's folder; on SageMaker its checkpoint_s3_uri) and
// resumed_from_job to its ID. The trainer skips the age groups its
// checkpoints show finished and continues the others at their last epoch,
// so the model equals an uninterrupted run's. Resuming the same job again
// returns the first resumed job.
func (s *Service) Resume(ctx context.Context, id string) (*store.Job, bool, error) {
	src, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	switch {
	case src.Status == store.StatusCompleted:
		return nil, false, &errs.Error{Family: errs.ErrConflict, Msg: "job " + src.ID + " completed; there is nothing to resume",
			Fix: "resume a stopped or failed job; submit again to retrain"}
	case !src.Status.Terminal():
		return nil, false, &errs.Error{Family: errs.ErrConflict, Msg: fmt.Sprintf("job %s is still %s", src.ID, src.Status),
			Fix: "cancel it first ('sagetrain cancel --wait " + src.ID + "'), then resume it"}
	}
	sp, err := jobSpec(src)
	if err != nil {
		return nil, false, err
	}
	switch src.Backend {
	case spec.BackendLocal:
		be, ok := s.backends[src.Backend].(checkpointSourcer)
		if !ok {
			return nil, false, errs.Configuration("the local backend of this process cannot find job "+src.ID+"'s checkpoints", "resume it where it ran", nil)
		}
		uri, err := be.CheckpointSource(src.RemoteName)
		if err != nil {
			return nil, false, errs.Job("job "+src.ID+" left no checkpoints to resume from", "submit it again instead", err)
		}
		sp.ResumeFrom = uri
	default:
		if sp.CheckpointS3URI == "" {
			return nil, false, errs.Configuration("job "+src.ID+" had no checkpoint_s3_uri, so SageMaker kept no checkpoints of it",
				"submit it again, with checkpoint_s3_uri set so a later stop can be resumed", nil)
		}
		sp.ResumeFrom = sp.CheckpointS3URI
	}
	sp.ResumedFromJob = src.ID
	return s.Submit(ctx, sp, SubmitOptions{IdempotencyKey: "resume-" + src.ID})
}
