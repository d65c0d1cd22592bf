package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.ModelStore = (*Store)(nil)

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
	return s.write(ctx, func(tx *sql.Tx) error {
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

// GetExport returns one export.
func (s *Store) GetExport(ctx context.Context, id string) (*store.Export, error) {
	e, err := scanExport(s.db.QueryRowContext(ctx, "SELECT "+exportColumns+" FROM model_exports WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("model %q", id))
	}
	return e, err
}

// ListExports lists exports newest first.
func (s *Store) ListExports(ctx context.Context, jobID string) ([]*store.Export, error) {
	q, args := "SELECT "+exportColumns+" FROM model_exports ORDER BY created_at DESC, id DESC", []any{}
	if jobID != "" {
		q, args = "SELECT "+exportColumns+" FROM model_exports WHERE job_id = ? ORDER BY created_at DESC, id DESC", []any{jobID}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*store.Export{}
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
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

// Deploy makes d active (BEGIN IMMEDIATE serialises it with every other writer).
func (s *Store) Deploy(ctx context.Context, d *store.Deployment, replace, backup bool) ([]*store.Deployment, error) {
	store.PrepareDeployment(d)
	var replaced []*store.Deployment
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM model_exports WHERE id = ?", d.ModelID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound(fmt.Sprintf("model %q", d.ModelID))
		} else if err != nil {
			return err
		}
		active, err := queryDeployments(ctx, tx, "WHERE active = 1")
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
			if _, err := tx.ExecContext(ctx, `UPDATE model_deployments SET active = 0, ended_at = ?, ended_by = ?, end_reason = ?, superseded_by = ? WHERE id = ?`,
				micro(now), r.EndedBy, r.EndReason, sup, r.ID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO model_deployments ("+deploymentColumns+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
			d.ID, d.ModelID, d.AgeMin, d.AgeMax, 1, d.ThresholdSource, micro(d.DeployedAt), d.DeployedBy, nil, "", "", "")
		if err != nil {
			return err
		}
		return s.insertDeploymentEvents(ctx, tx, store.DeployChanges(d, replaced))
	})
	return replaced, err
}

// Undeploy ends a deployment and restores what it superseded.
func (s *Store) Undeploy(ctx context.Context, id, by string) (*store.Deployment, []*store.Deployment, error) {
	var ended *store.Deployment
	var restored []*store.Deployment
	err := s.write(ctx, func(tx *sql.Tx) error {
		d, err := scanDeployment(tx.QueryRowContext(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
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
		if _, err := tx.ExecContext(ctx, `UPDATE model_deployments SET active = 0, ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?`,
			micro(now), by, d.EndReason, d.ID); err != nil {
			return err
		}
		active, err := queryDeployments(ctx, tx, "WHERE active = 1")
		if err != nil {
			return err
		}
		sup, err := queryDeployments(ctx, tx, "WHERE superseded_by = ?", d.ID)
		if err != nil {
			return err
		}
		restored = store.PlanRestore(active, sup)
		for _, r := range restored {
			r.Active, r.EndedAt, r.EndedBy, r.EndReason, r.SupersededBy = true, nil, "", "", ""
			if _, err := tx.ExecContext(ctx, `UPDATE model_deployments SET active = 1, ended_at = NULL, ended_by = '', end_reason = '', superseded_by = '' WHERE id = ?`, r.ID); err != nil {
				return err
			}
		}
		ended = d
		return s.insertDeploymentEvents(ctx, tx, store.UndeployChanges(d, restored))
	})
	return ended, restored, err
}

// GetDeployment returns one deployment.
func (s *Store) GetDeployment(ctx context.Context, id string) (*store.Deployment, error) {
	d, err := scanDeployment(s.db.QueryRowContext(ctx, "SELECT "+deploymentColumns+" FROM model_deployments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound(fmt.Sprintf("deployment %q", id))
	}
	return d, err
}

// ListDeployments lists deployments by age, newest first.
func (s *Store) ListDeployments(ctx context.Context, activeOnly bool) ([]*store.Deployment, error) {
	where := "ORDER BY age_min, deployed_at DESC"
	if activeOnly {
		where = "WHERE active = 1 " + where
	}
	return queryDeployments(ctx, s.db, where)
}
