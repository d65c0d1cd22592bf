package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.ModelStore = (*Store)(nil)

// deployLock is the advisory lock every Deploy and Undeploy takes, so
// replicas sharing the database see one order of deployments.
const deployLock = 0x5a6e7d01

const exportColumns = `id, job_id, format, age_min, age_max, group_names, sha256, size_bytes, location,
	trainer_version, data_manifest_digest, metrics, created_at, created_by`

const deploymentColumns = `id, model_id, age_min, age_max, active, threshold_source, deployed_at, deployed_by,
	ended_at, ended_by, end_reason, superseded_by`

// CreateExport inserts an export.
func (s *Store) CreateExport(ctx context.Context, e *store.Export) error {
	if err := store.PrepareExport(e); err != nil {
		return err
	}
	groups, _ := json.Marshal(e.Groups)
	_, err := s.pool.Exec(ctx, "INSERT INTO model_exports ("+exportColumns+") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
		e.ID, e.JobID, e.Format, e.AgeMin, e.AgeMax, groups, e.SHA256, e.SizeBytes, e.Location,
		e.TrainerVersion, e.DataManifestDigest, nullJSON(e.Metrics), e.CreatedAt, e.CreatedBy)
	return wrap("create export", err)
}

func scanExport(r pgx.Row) (*store.Export, error) {
	var (
		e       store.Export
		groups  []byte
		metrics []byte
	)
	if err := r.Scan(&e.ID, &e.JobID, &e.Format, &e.AgeMin, &e.AgeMax, &groups, &e.SHA256, &e.SizeBytes, &e.Location,
		&e.TrainerVersion, &e.DataManifestDigest, &metrics, &e.CreatedAt, &e.CreatedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(groups, &e.Groups); err != nil {
		return nil, fmt.Errorf("export %s: group names: %w", e.ID, err)
	}
	if len(metrics) > 0 {
		e.Metrics = json.RawMessage(metrics)
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, nil
}

// GetExport returns one export.
func (s *Store) GetExport(ctx context.Context, id string) (*store.Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("model %q", id))
	}
	return e, wrap("get export", err)
}

// ListExports lists exports newest first.
func (s *Store) ListExports(ctx context.Context, jobID string) ([]*store.Export, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE ($1 = '' OR job_id = $1) ORDER BY created_at DESC, id DESC", jobID)
	if err != nil {
		return nil, wrap("list exports", err)
	}
	defer rows.Close()
	out := []*store.Export{}
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			return nil, wrap("list exports", err)
		}
		out = append(out, e)
	}
	return out, wrap("list exports", rows.Err())
}

func scanDeployment(r pgx.Row) (*store.Deployment, error) {
	var d store.Deployment
	var ended *time.Time
	if err := r.Scan(&d.ID, &d.ModelID, &d.AgeMin, &d.AgeMax, &d.Active, &d.ThresholdSource, &d.DeployedAt, &d.DeployedBy,
		&ended, &d.EndedBy, &d.EndReason, &d.SupersededBy); err != nil {
		return nil, err
	}
	d.DeployedAt = d.DeployedAt.UTC()
	if ended != nil {
		t := ended.UTC()
		d.EndedAt = &t
	}
	return &d, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryDeployments(ctx context.Context, q querier, where string, args ...any) ([]*store.Deployment, error) {
	rows, err := q.Query(ctx, "SELECT "+deploymentColumns+" FROM model_deployments "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*store.Deployment{}
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Deploy makes d active under the deployment lock.
func (s *Store) Deploy(ctx context.Context, d *store.Deployment, replace, backup bool) ([]*store.Deployment, error) {
	store.PrepareDeployment(d)
	var replaced []*store.Deployment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(deployLock)); err != nil {
			return err
		}
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM model_exports WHERE id = $1", d.ModelID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(fmt.Sprintf("model %q", d.ModelID))
		} else if err != nil {
			return err
		}
		active, err := queryDeployments(ctx, tx, "WHERE active")
		if err != nil {
			return err
		}
		replaced, err = store.PlanDeploy(active, d, replace)
		if err != nil {
			return err
		}
		for _, r := range replaced {
			sup := ""
			if backup {
				sup = d.ID
			}
			now := d.DeployedAt
			r.Active, r.EndedAt, r.EndedBy, r.EndReason, r.SupersededBy = false, &now, d.DeployedBy, "replaced", sup
			if _, err := tx.Exec(ctx, `UPDATE model_deployments SET active = FALSE, ended_at = $1, ended_by = $2, end_reason = $3, superseded_by = $4 WHERE id = $5`,
				now, r.EndedBy, r.EndReason, sup, r.ID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, "INSERT INTO model_deployments ("+deploymentColumns+") VALUES ($1,$2,$3,$4,TRUE,$5,$6,$7,NULL,'','','')",
			d.ID, d.ModelID, d.AgeMin, d.AgeMax, d.ThresholdSource, d.DeployedAt, d.DeployedBy)
		if err != nil {
			return err
		}
		return insertDeploymentEvents(ctx, tx, store.DeployChanges(d, replaced))
	})
	return replaced, wrap("deploy", err)
}

// Undeploy ends a deployment and restores what it superseded.
func (s *Store) Undeploy(ctx context.Context, id, by string) (*store.Deployment, []*store.Deployment, error) {
	var ended *store.Deployment
	var restored []*store.Deployment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(deployLock)); err != nil {
			return err
		}
		d, err := scanDeployment(tx.QueryRow(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = $1", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(fmt.Sprintf("deployment %q", id))
		}
		if err != nil {
			return err
		}
		if !d.Active {
			return store.NotActive(d)
		}
		now := store.Now()
		d.Active, d.EndedAt, d.EndedBy, d.EndReason = false, &now, by, "undeployed"
		if _, err := tx.Exec(ctx, `UPDATE model_deployments SET active = FALSE, ended_at = $1, ended_by = $2, end_reason = $3 WHERE id = $4`,
			now, by, d.EndReason, d.ID); err != nil {
			return err
		}
		active, err := queryDeployments(ctx, tx, "WHERE active")
		if err != nil {
			return err
		}
		sup, err := queryDeployments(ctx, tx, "WHERE superseded_by = $1", d.ID)
		if err != nil {
			return err
		}
		restored = store.PlanRestore(active, sup)
		for _, r := range restored {
			r.Active, r.EndedAt, r.EndedBy, r.EndReason, r.SupersededBy = true, nil, "", "", ""
			if _, err := tx.Exec(ctx, `UPDATE model_deployments SET active = TRUE, ended_at = NULL, ended_by = '', end_reason = '', superseded_by = '' WHERE id = $1`, r.ID); err != nil {
				return err
			}
		}
		ended = d
		return insertDeploymentEvents(ctx, tx, store.UndeployChanges(d, restored))
	})
	return ended, restored, wrap("undeploy", err)
}

// GetDeployment returns one deployment.
func (s *Store) GetDeployment(ctx context.Context, id string) (*store.Deployment, error) {
	d, err := scanDeployment(s.pool.QueryRow(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("deployment %q", id))
	}
	return d, wrap("get deployment", err)
}

// ListDeployments lists deployments by age, newest first.
func (s *Store) ListDeployments(ctx context.Context, activeOnly bool) ([]*store.Deployment, error) {
	where := "ORDER BY age_min, deployed_at DESC"
	if activeOnly {
		where = "WHERE active " + where
	}
	ds, err := queryDeployments(ctx, s.pool, where)
	return ds, wrap("list deployments", err)
}
