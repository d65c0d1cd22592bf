package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

var (
	_ store.ModelStore  = (*Store)(nil)
	_ store.ModelDriver = driver{}
)

// deployLock is the advisory lock every Deploy and Undeploy takes, so
// replicas sharing the database see one order of deployments.
const deployLock = 0x5a6e7d01

const exportColumns = `id, job_id, format, age_min, age_max, group_names, sha256, size_bytes, location,
	trainer_version, data_manifest_digest, metrics, created_at, created_by`

const deploymentColumns = `id, model_id, age_min, age_max, active, threshold_source, deployed_at, deployed_by,
	ended_at, ended_by, end_reason, superseded_by`

// InsertExport inserts an export.
func (d driver) InsertExport(ctx context.Context, e *store.Export) error {
	groups, _ := json.Marshal(e.Groups)
	_, err := d.s.pool.Exec(ctx, "INSERT INTO model_exports ("+exportColumns+") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
		e.ID, e.JobID, e.Format, e.AgeMin, e.AgeMax, groups, e.SHA256, e.SizeBytes, e.Location,
		e.TrainerVersion, e.DataManifestDigest, nullJSON(e.Metrics), e.CreatedAt, e.CreatedBy)
	return err
}

func scanExport(r store.Scanner) (*store.Export, error) {
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

func (d driver) ExportByID(ctx context.Context, id string) (*store.Export, error) {
	e, err := scanExport(d.s.pool.QueryRow(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return e, err
}

func (d driver) Exports(ctx context.Context, jobID string) ([]*store.Export, error) {
	rows, err := d.s.pool.Query(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE ($1 = '' OR job_id = $1) ORDER BY created_at DESC, id DESC", jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.Collect(rows, scanExport)
}

func scanDeployment(r store.Scanner) (*store.Deployment, error) {
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
	return store.Collect(rows, scanDeployment)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func deploymentByID(ctx context.Context, q rowQuerier, id string) (*store.Deployment, error) {
	d, err := scanDeployment(q.QueryRow(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

func (d driver) DeploymentByID(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentByID(ctx, d.s.pool, id)
}

func (d driver) Deployments(ctx context.Context, activeOnly bool) ([]*store.Deployment, error) {
	where := "ORDER BY age_min, deployed_at DESC"
	if activeOnly {
		where = "WHERE active " + where
	}
	return queryDeployments(ctx, d.s.pool, where)
}

// DeployWrite takes the deployment lock first, so replicas sharing the
// database see one order of deployments.
func (d driver) DeployWrite(ctx context.Context, fn func(store.DeployTx) error) error {
	return pgx.BeginFunc(ctx, d.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(deployLock)); err != nil {
			return err
		}
		return fn(deployTx{tx})
	})
}

type deployTx struct{ tx pgx.Tx }

func (t deployTx) ExportExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.tx.QueryRow(ctx, "SELECT 1 FROM model_exports WHERE id = $1", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t deployTx) DeploymentByID(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentByID(ctx, t.tx, id)
}

func (t deployTx) ActiveDeployments(ctx context.Context) ([]*store.Deployment, error) {
	return queryDeployments(ctx, t.tx, "WHERE active")
}

func (t deployTx) SupersededBy(ctx context.Context, id string) ([]*store.Deployment, error) {
	return queryDeployments(ctx, t.tx, "WHERE superseded_by = $1", id)
}

func (t deployTx) InsertDeployment(ctx context.Context, d *store.Deployment) error {
	_, err := t.tx.Exec(ctx, "INSERT INTO model_deployments ("+deploymentColumns+") VALUES ($1,$2,$3,$4,TRUE,$5,$6,$7,NULL,'','','')",
		d.ID, d.ModelID, d.AgeMin, d.AgeMax, d.ThresholdSource, d.DeployedAt, d.DeployedBy)
	return err
}

func (t deployTx) EndDeployment(ctx context.Context, d *store.Deployment) error {
	_, err := t.tx.Exec(ctx, `UPDATE model_deployments SET active = FALSE, ended_at = $1, ended_by = $2, end_reason = $3, superseded_by = $4 WHERE id = $5`,
		nullTime(d.EndedAt), d.EndedBy, d.EndReason, d.SupersededBy, d.ID)
	return err
}

func (t deployTx) RestoreDeployment(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `UPDATE model_deployments SET active = TRUE, ended_at = NULL, ended_by = '', end_reason = '', superseded_by = '' WHERE id = $1`, id)
	return err
}

func (t deployTx) InsertDeploymentEvents(ctx context.Context, changes []store.DeploymentChange) error {
	return insertDeploymentEvents(ctx, t.tx, changes)
}
