package store

import (
	"context"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// ModelDriver runs one dialect's SQL for Core's ModelStore. Reads return
// nil (and no error) when no row matches.
type ModelDriver interface {
	InsertExport(ctx context.Context, e *Export) error
	ExportByID(ctx context.Context, id string) (*Export, error)
	// Exports lists exports newest first; jobID "" means all.
	Exports(ctx context.Context, jobID string) ([]*Export, error)
	DeploymentByID(ctx context.Context, id string) (*Deployment, error)
	// Deployments lists deployments by age, then newest first.
	Deployments(ctx context.Context, activeOnly bool) ([]*Deployment, error)
	// DeployWrite runs fn in a transaction serialised with every other
	// DeployWrite, across processes (an advisory lock, BEGIN IMMEDIATE).
	DeployWrite(ctx context.Context, fn func(DeployTx) error) error
}

// DeployTx is a ModelDriver's deployment transaction.
type DeployTx interface {
	ExportExists(ctx context.Context, id string) (bool, error)
	DeploymentByID(ctx context.Context, id string) (*Deployment, error)
	ActiveDeployments(ctx context.Context) ([]*Deployment, error)
	SupersededBy(ctx context.Context, id string) ([]*Deployment, error)
	InsertDeployment(ctx context.Context, d *Deployment) error
	// EndDeployment writes d's ended state (Active false, EndedAt, EndedBy,
	// EndReason, SupersededBy).
	EndDeployment(ctx context.Context, d *Deployment) error
	// RestoreDeployment makes a superseded deployment active again.
	RestoreDeployment(ctx context.Context, id string) error
	InsertDeploymentEvents(ctx context.Context, changes []DeploymentChange) error
}

func (c *Core) models() ModelDriver {
	md, _ := c.d.(ModelDriver)
	return md
}

var _ ModelStore = (*Core)(nil)

// CreateExport inserts an export.
func (c *Core) CreateExport(ctx context.Context, e *Export) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = c.Now()
	}
	if err := PrepareExport(e); err != nil {
		return err
	}
	return c.d.Wrap("create export", c.models().InsertExport(ctx, e))
}

// GetExport returns one export.
func (c *Core) GetExport(ctx context.Context, id string) (*Export, error) {
	e, err := c.models().ExportByID(ctx, id)
	if err == nil && e == nil {
		err = errs.NotFound(fmt.Sprintf("model %q", id))
	}
	return e, c.d.Wrap("get export", err)
}

// ListExports lists exports newest first.
func (c *Core) ListExports(ctx context.Context, jobID string) ([]*Export, error) {
	es, err := c.models().Exports(ctx, jobID)
	if err != nil {
		return nil, c.d.Wrap("list exports", err)
	}
	if es == nil {
		es = []*Export{}
	}
	return es, nil
}

// GetDeployment returns one deployment.
func (c *Core) GetDeployment(ctx context.Context, id string) (*Deployment, error) {
	d, err := c.models().DeploymentByID(ctx, id)
	if err == nil && d == nil {
		err = errs.NotFound(fmt.Sprintf("deployment %q", id))
	}
	return d, c.d.Wrap("get deployment", err)
}

// ListDeployments lists deployments by age, newest first.
func (c *Core) ListDeployments(ctx context.Context, activeOnly bool) ([]*Deployment, error) {
	ds, err := c.models().Deployments(ctx, activeOnly)
	if err != nil {
		return nil, c.d.Wrap("list deployments", err)
	}
	if ds == nil {
		ds = []*Deployment{}
	}
	return ds, nil
}

// Deploy makes d active, ending (and with backup, superseding) the active
// deployments it replaces.
func (c *Core) Deploy(ctx context.Context, d *Deployment, replace, backup bool) ([]*Deployment, error) {
	if d.DeployedAt.IsZero() {
		d.DeployedAt = c.Now()
	}
	PrepareDeployment(d)
	var replaced []*Deployment
	err := c.models().DeployWrite(ctx, func(tx DeployTx) error {
		ok, err := tx.ExportExists(ctx, d.ModelID)
		if err != nil {
			return err
		}
		if !ok {
			return errs.NotFound(fmt.Sprintf("model %q", d.ModelID))
		}
		active, err := tx.ActiveDeployments(ctx)
		if err != nil {
			return err
		}
		replaced, err = PlanDeploy(active, d, replace)
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
			if err := tx.EndDeployment(ctx, r); err != nil {
				return err
			}
		}
		if err := tx.InsertDeployment(ctx, d); err != nil {
			return err
		}
		return tx.InsertDeploymentEvents(ctx, DeployChanges(d, replaced))
	})
	return replaced, c.d.Wrap("deploy", err)
}

// Undeploy ends a deployment and restores what it superseded.
func (c *Core) Undeploy(ctx context.Context, id, by string) (*Deployment, []*Deployment, error) {
	var ended *Deployment
	var restored []*Deployment
	err := c.models().DeployWrite(ctx, func(tx DeployTx) error {
		d, err := tx.DeploymentByID(ctx, id)
		if err != nil {
			return err
		}
		if d == nil {
			return errs.NotFound(fmt.Sprintf("deployment %q", id))
		}
		if !d.Active {
			return NotActive(d)
		}
		now := c.Now()
		d.Active, d.EndedAt, d.EndedBy, d.EndReason = false, &now, by, "undeployed"
		if err := tx.EndDeployment(ctx, d); err != nil {
			return err
		}
		active, err := tx.ActiveDeployments(ctx)
		if err != nil {
			return err
		}
		sup, err := tx.SupersededBy(ctx, d.ID)
		if err != nil {
			return err
		}
		restored = PlanRestore(active, sup)
		for _, r := range restored {
			r.Active, r.EndedAt, r.EndedBy, r.EndReason, r.SupersededBy = true, nil, "", "", ""
			if err := tx.RestoreDeployment(ctx, r.ID); err != nil {
				return err
			}
		}
		ended = d
		return tx.InsertDeploymentEvents(ctx, UndeployChanges(d, restored))
	})
	return ended, restored, c.d.Wrap("undeploy", err)
}
