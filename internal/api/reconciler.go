package api

import (
	"context"
	"log/slog"
	"time"
)

// Reconciler is one pass of the job reconciler (*jobs.Service).
type Reconciler interface {
	ReconcileOnce(ctx context.Context) error
}

// RunReconciler runs r every interval until ctx ends, timing each pass
// into m (sagetrain_reconcile_duration_seconds) and logging its errors.
// It is jobs.Service.Run with the metrics hook.
func RunReconciler(ctx context.Context, r Reconciler, every time.Duration, m *Metrics, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		err := r.ReconcileOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		m.ObserveReconcile(time.Since(start), err)
		if err != nil {
			log.Warn("reconcile pass had problems; retrying next pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
