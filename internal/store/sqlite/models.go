package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/store"
)

var (
	_ store.ModelStore  = (*Store)(nil)
	_ store.ModelDriver = driver{}
)

const exportColumns = `id, job_id, format, age_min, age_max, group_names, sha256, size_bytes, location,
	trainer_version, data_manifest_digest, metrics, created_at, created_by`

const deploymentColumns = `id, model_id, age_min, age_max, active, threshold_source, deployed_at, deployed_by,
	ended_at, ended_by, end_reason, superseded_by`

// InsertExport inserts an export.
func (d driver) InsertExport(ctx context.Context, e *store.Export) error {
	groups, _ := json.Marshal(e.Groups)
	return d.s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO model_exports ("+exportColumns+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			e.ID, e.JobID, e.Format, e.AgeMin, e.AgeMax, string(groups), e.SHA256, e.SizeBytes, e.Location,
			e.TrainerVersion, e.DataManifestDigest, nullJSON(e.Metrics), micro(e.CreatedAt), e.CreatedBy)
		return err
	})
}

func scanExport(r scanner) (*store.Export, error) {
	var (
		e       store.Export
		groups  string
		metrics sql.NullString
		created int64
	)
	if err := r.Scan(&e.ID, &e.JobID, &e.Format, &e.AgeMin, &e.AgeMax, &groups, &e.SHA256, &e.SizeBytes, &e.Location,
		&e.TrainerVersion, &e.DataManifestDigest, &metrics, &created, &e.CreatedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &e.Groups); err != nil {
		return nil, fmt.Errorf("export %s: group names: %w", e.ID, err)
	}
	if metrics.Valid {
		e.Metrics = json.RawMessage(metrics.String)
	}
	e.CreatedAt = fromMicro(created)
	return &e, nil
}

func (d driver) ExportByID(ctx context.Context, id string) (*store.Export, error) {
	e, err := scanExport(d.s.db.QueryRowContext(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return e, err
}

func (d driver) Exports(ctx context.Context, jobID string) ([]*store.Export, error) {
	q, args := "SELECT "+exportColumns+" FROM model_exports ORDER BY created_at DESC, id DESC", []any{}
	if jobID != "" {
		q, args = "SELECT "+exportColumns+" FROM model_exports WHERE job_id = ? ORDER BY created_at DESC, id DESC", []any{jobID}
	}
	rows, err := d.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.Collect(rows, scanExport)
}

func scanDeployment(r scanner) (*store.Deployment, error) {
	var (
		d        store.Deployment
		active   int64
		deployed int64
		ended    sql.NullInt64
	)
	if err := r.Scan(&d.ID, &d.ModelID, &d.AgeMin, &d.AgeMax, &active, &d.ThresholdSource, &deployed, &d.DeployedBy,
		&ended, &d.EndedBy, &d.EndReason, &d.SupersededBy); err != nil {
		return nil, err
	}
	d.Active = active != 0
	d.DeployedAt = fromMicro(deployed)
	d.EndedAt = fromNullMicro(ended)
	return &d, nil
}

func queryDeployments(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]*store.Deployment, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+deploymentColumns+" FROM model_deployments "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.Collect(rows, scanDeployment)
}

func deploymentByID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*store.Deployment, error) {
	d, err := scanDeployment(q.QueryRowContext(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

func (d driver) DeploymentByID(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentByID(ctx, d.s.db, id)
}

func (d driver) Deployments(ctx context.Context, activeOnly bool) ([]*store.Deployment, error) {
	where := "ORDER BY age_min, deployed_at DESC"
	if activeOnly {
		where = "WHERE active = 1 " + where
	}
	return queryDeployments(ctx, d.s.db, where)
}

// DeployWrite is a write: BEGIN IMMEDIATE serialises it with every other writer.
func (d driver) DeployWrite(ctx context.Context, fn func(store.DeployTx) error) error {
	return d.s.write(ctx, func(tx *sql.Tx) error { return fn(deployTx{s: d.s, tx: tx}) })
}

type deployTx struct {
	s  *Store
	tx *sql.Tx
}

func (t deployTx) ExportExists(ctx context.Context, id string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, "SELECT 1 FROM model_exports WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t deployTx) DeploymentByID(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentByID(ctx, t.tx, id)
}

func (t deployTx) ActiveDeployments(ctx context.Context) ([]*store.Deployment, error) {
	return queryDeployments(ctx, t.tx, "WHERE active = 1")
}

func (t deployTx) SupersededBy(ctx context.Context, id string) ([]*store.Deployment, error) {
	return queryDeployments(ctx, t.tx, "WHERE superseded_by = ?", id)
}

func (t deployTx) InsertDeployment(ctx context.Context, d *store.Deployment) error {
	_, err := t.tx.ExecContext(ctx, "INSERT INTO model_deployments ("+deploymentColumns+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		d.ID, d.ModelID, d.AgeMin, d.AgeMax, 1, d.ThresholdSource, micro(d.DeployedAt), d.DeployedBy, nil, "", "", "")
	return err
}

func (t deployTx) EndDeployment(ctx context.Context, d *store.Deployment) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE model_deployments SET active = 0, ended_at = ?, ended_by = ?, end_reason = ?, superseded_by = ? WHERE id = ?`,
		nullMicro(d.EndedAt), d.EndedBy, d.EndReason, d.SupersededBy, d.ID)
	return err
}

func (t deployTx) RestoreDeployment(ctx context.Context, id string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE model_deployments SET active = 1, ended_at = NULL, ended_by = '', end_reason = '', superseded_by = '' WHERE id = ?`, id)
	return err
}

func (t deployTx) InsertDeploymentEvents(ctx context.Context, changes []store.DeploymentChange) error {
	return t.s.insertDeploymentEvents(ctx, t.tx, changes)
}
