package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// remoteAccount is a backend that can list and describe jobs sagetrain did
// not create (the SageMaker backend).
type remoteAccount interface {
	ListRemote(ctx context.Context, since time.Time, contains string, limit int) ([]backend.RemoteJob, error)
	AttachSpec(ctx context.Context, name string) (*spec.Spec, string, error)
}

func (s *Service) account() (remoteAccount, error) {
	if ra, ok := s.backends[spec.BackendSageMaker].(remoteAccount); ok {
		return ra, nil
	}
	return nil, errs.Configuration("the SageMaker backend is not configured in this process", "configure AWS (sagetrain setup, AWS_PROFILE or AWS_REGION)", nil)
}

// ListRemote lists the SageMaker account's training jobs that the store
// does not know (created outside sagetrain), newest first.
func (s *Service) ListRemote(ctx context.Context, since time.Time, contains string, limit int) ([]backend.RemoteJob, error) {
	ra, err := s.account()
	if err != nil {
		return nil, err
	}
	limit = store.ListLimit(limit)
	all, err := ra.ListRemote(ctx, since, contains, store.MaxListLimit)
	if err != nil {
		return nil, err
	}
	var out []backend.RemoteJob
	for _, r := range all {
		if _, err := s.st.Get(ctx, r.Name); err == nil {
			continue
		} else if !errors.Is(err, errs.ErrNotFound) {
			return nil, err
		}
		out = append(out, r)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Attach adopts a SageMaker training job created outside sagetrain into
// the store, read-only: the reconciler follows its status, logs and, once
// it completed, fetches its artifacts and report, but never stops it
// unless a cancel is asked. Attaching a known job returns it (created=false).
func (s *Service) Attach(ctx context.Context, name string) (*store.Job, bool, error) {
	if j, err := s.st.Get(ctx, name); err == nil {
		return j, false, nil
	}
	ra, err := s.account()
	if err != nil {
		return nil, false, err
	}
	sp, arn, err := ra.AttachSpec(ctx, name)
	if err != nil {
		return nil, false, err
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, false, err
	}
	// Recorded as live whatever SageMaker says: the reconciler's next round
	// applies the real status (and collects a completed job's report).
	return s.st.Create(ctx, &store.Job{
		Name: name, RemoteName: name, RemoteARN: arn, Backend: spec.BackendSageMaker,
		IdempotencyKey: "attach-" + name, Spec: raw,
		Status: store.StatusPreparing, StatusMessage: "attached: created outside sagetrain",
	})
}
