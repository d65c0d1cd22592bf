package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Export is an immutable exported model: written once, never updated.
type Export struct {
	ID                 string
	JobID              string
	Format             string // "sagetrain" or "onnx"
	AgeMin, AgeMax     int    // whole years on floor(age), inclusive
	Groups             []string
	SHA256             string // of the export's bytes (see internal/models)
	SizeBytes          int64
	Location           string // folder or s3:// prefix holding the export
	TrainerVersion     string
	DataManifestDigest string // "" when the job's data had no manifest
	Metrics            json.RawMessage
	CreatedAt          time.Time
	CreatedBy          string
}

// Deployment makes an export the active model for an age range. Ended
// deployments stay as history.
type Deployment struct {
	ID              string
	ModelID         string
	AgeMin, AgeMax  int // whole years on floor(age), inclusive
	Active          bool
	ThresholdSource string
	DeployedAt      time.Time
	DeployedBy      string
	EndedAt         *time.Time
	EndedBy         string
	EndReason       string // "undeployed", "replaced"
	// SupersededBy is the deployment that replaced this one with a backup:
	// undeploying that one brings this one back.
	SupersededBy string
}

// Overlaps reports whether two inclusive year ranges share a year.
func (d *Deployment) Overlaps(min, max int) bool { return d.AgeMin <= max && min <= d.AgeMax }

// ModelStore keeps exports and deployments. Both drivers implement it; Deploy
// and Undeploy are serialised across processes (two replicas agree).
type ModelStore interface {
	CreateExport(ctx context.Context, e *Export) error
	// GetExport is errs.ErrNotFound when there is none.
	GetExport(ctx context.Context, id string) (*Export, error)
	// ListExports lists exports newest first; jobID "" means all.
	ListExports(ctx context.Context, jobID string) ([]*Export, error)

	// Deploy makes d active. Active deployments overlapping its range are
	// an errs.ErrConflict unless replace; replaced ones end with reason
	// "replaced" and, with backup, SupersededBy = d.ID. It returns them.
	Deploy(ctx context.Context, d *Deployment, replace, backup bool) (replaced []*Deployment, err error)
	// Undeploy ends an active deployment and brings back the ones it
	// superseded (those whose range is free again). ErrNotFound, or
	// ErrConflict when it is not active.
	Undeploy(ctx context.Context, id, by string) (ended *Deployment, restored []*Deployment, err error)
	GetDeployment(ctx context.Context, id string) (*Deployment, error)
	// ListDeployments lists deployments by age, then newest first.
	ListDeployments(ctx context.Context, activeOnly bool) ([]*Deployment, error)
}

// PrepareExport fills an export's defaults and checks its fields.
func PrepareExport(e *Export) error {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = Now()
	}
	e.CreatedAt = Micro(e.CreatedAt)
	if e.JobID == "" || e.SHA256 == "" || e.Format == "" {
		return errs.Configuration("an export needs a job, a format and a checksum", "report this as a bug", nil)
	}
	if e.Groups == nil {
		e.Groups = []string{}
	}
	return nil
}

// PlanDeploy is Deploy's rule, shared by the drivers: given the active
// deployments (read under the driver's lock), which ones d replaces, or the
// conflict.
func PlanDeploy(active []*Deployment, d *Deployment, replace bool) ([]*Deployment, error) {
	if d.AgeMin > d.AgeMax {
		return nil, errs.Configuration(fmt.Sprintf("age range %d-%d is empty", d.AgeMin, d.AgeMax), "give age_group_min <= age_group_max", nil)
	}
	var hit []*Deployment
	for _, a := range active {
		if a.Overlaps(d.AgeMin, d.AgeMax) {
			hit = append(hit, a)
		}
	}
	if len(hit) > 0 && !replace {
		return nil, &errs.Error{Family: errs.ErrConflict,
			Msg: fmt.Sprintf("ages %d-%d overlap active deployment %s (model %s, ages %d-%d)", d.AgeMin, d.AgeMax, hit[0].ID, hit[0].ModelID, hit[0].AgeMin, hit[0].AgeMax),
			Fix: "deploy with replace_existing=true to replace it (backup_existing keeps it to come back on undeploy), or undeploy it first"}
	}
	return hit, nil
}

// PrepareDeployment fills a new deployment's defaults.
func PrepareDeployment(d *Deployment) {
	if d.ID == "" {
		d.ID = NewID()
	}
	if d.DeployedAt.IsZero() {
		d.DeployedAt = Now()
	}
	d.DeployedAt = Micro(d.DeployedAt)
	d.Active = true
	d.EndedAt, d.EndedBy, d.EndReason, d.SupersededBy = nil, "", "", ""
}

// PlanRestore is Undeploy's rule: of the deployments the ended one had
// superseded, newest first, those whose range no active deployment holds.
func PlanRestore(active, superseded []*Deployment) []*Deployment {
	sort.Slice(superseded, func(i, j int) bool { return superseded[i].DeployedAt.After(superseded[j].DeployedAt) })
	var out []*Deployment
	taken := append([]*Deployment(nil), active...)
next:
	for _, s := range superseded {
		for _, a := range taken {
			if a.Overlaps(s.AgeMin, s.AgeMax) {
				continue next
			}
		}
		out = append(out, s)
		taken = append(taken, s)
	}
	return out
}

// NotActive is Undeploy's conflict for a deployment that has ended.
func NotActive(d *Deployment) error {
	return &errs.Error{Family: errs.ErrConflict, Msg: fmt.Sprintf("deployment %s is not active (%s)", d.ID, d.EndReason),
		Fix: "list the active deployments with 'sagetrain model deployed' (GET /models/deployed)"}
}

// SortDeployments orders by age, then newest first.
func SortDeployments(ds []*Deployment) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].AgeMin != ds[j].AgeMin {
			return ds[i].AgeMin < ds[j].AgeMin
		}
		return ds[i].DeployedAt.After(ds[j].DeployedAt)
	})
}
