package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

// insertSweepEvent writes the outbox row of sw's status change from
// previous, if it changed, inside the transaction that writes sw.
func insertSweepEvent(ctx context.Context, tx pgx.Tx, sw *store.Sweep, previous string) error {
	ev, err := store.NewSweepEvent(sw, previous)
	if err != nil || ev == nil {
		return err
	}
	return insertOutboxRows(ctx, tx, []*store.OutboxEvent{ev})
}

// insertDeploymentEvents writes the outbox rows of deployments started
// and ended inside the transaction that does it.
func insertDeploymentEvents(ctx context.Context, tx pgx.Tx, changes []store.DeploymentChange) error {
	rows, err := store.NewDeploymentEvents(changes...)
	if err != nil {
		return err
	}
	return insertOutboxRows(ctx, tx, rows)
}
