package store

import (
	"encoding/json"
	"strings"
	"time"
)

// Events of sweeps and deployments go through the same outbox as job
// events. The outbox's job_id column is the event's subject, the key its
// order is kept by: a job's ID, "sweep:<id>" or "deployment:<id>", so one
// sweep's (one deployment's) events go out in order and never share a
// queue with a job of the same ID.

// Event types of sweeps and deployments.
const (
	EventSweepStatusChanged   = "sweep.status_changed"
	EventDeploymentDeployed   = "deployment.deployed"
	EventDeploymentUndeployed = "deployment.undeployed"
)

// SubjectSweep is the outbox subject of a sweep (OutboxEvent.JobID,
// OutboxFilter.JobID): its events are delivered in order among themselves.
func SubjectSweep(id string) string { return "sweep:" + id }

// SubjectDeployment is the outbox subject of a deployment.
func SubjectDeployment(id string) string { return "deployment:" + id }

// EventTypes lists every event type sagetrain writes: job.<status> for
// each job status, and the sweep and deployment types.
func EventTypes() []string {
	out := make([]string, 0, len(AllStatuses)+3)
	for _, s := range AllStatuses {
		out = append(out, "job."+string(s))
	}
	return append(out, EventSweepStatusChanged, EventDeploymentDeployed, EventDeploymentUndeployed)
}

// EventSweep is the sweep as an event shows it.
type EventSweep struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	PreviousStatus  string    `json:"previous_status"` // "" for a new sweep
	CancelRequested bool      `json:"cancel_requested"`
	Terminal        bool      `json:"terminal"`
	CreatedAt       time.Time `json:"created_at"`
}

// EventDeployment is the deployment as an event shows it.
type EventDeployment struct {
	ID              string     `json:"id"`
	ModelID         string     `json:"model_id"`
	AgeMin          int        `json:"age_min"`
	AgeMax          int        `json:"age_max"`
	Active          bool       `json:"active"`
	ThresholdSource string     `json:"threshold_source,omitempty"`
	DeployedAt      time.Time  `json:"deployed_at"`
	DeployedBy      string     `json:"deployed_by,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	EndedBy         string     `json:"ended_by,omitempty"`
	// Reason says why: deployed ("deployed" or "restored", when undeploying
	// the deployment that had replaced it brought it back) or undeployed
	// ("undeployed" or "replaced").
	Reason       string `json:"reason"`
	SupersededBy string `json:"superseded_by,omitempty"`
}

// SubjectEventBody is the body of a sweep or deployment event: like
// EventBody with a "sweep" or a "deployment" object in place of "job".
type SubjectEventBody struct {
	ID         string           `json:"id"`
	Type       string           `json:"type"`
	Sweep      *EventSweep      `json:"sweep,omitempty"`
	Deployment *EventDeployment `json:"deployment,omitempty"`
	Message    string           `json:"message,omitempty"`
	OccurredAt string           `json:"occurred_at"`
}

// NewSweepEvent is the outbox row of a sweep's status change from previous
// ("" when sw is new); nil when the status did not change.
func NewSweepEvent(sw *Sweep, previous string) (*OutboxEvent, error) {
	if sw.Status == previous {
		return nil, nil
	}
	msg := "sweep is " + sw.Status
	if previous != "" {
		msg = "sweep went from " + previous + " to " + sw.Status
	}
	return newSubjectEvent(SubjectSweep(sw.ID), SubjectEventBody{Type: EventSweepStatusChanged, Message: msg,
		Sweep: &EventSweep{ID: sw.ID, Name: bound(sw.Name), Status: sw.Status, PreviousStatus: previous,
			CancelRequested: sw.CancelRequested, Terminal: SweepTerminal(sw.Status), CreatedAt: sw.CreatedAt}})
}

// DeploymentChange is one deployment that started or ended.
type DeploymentChange struct {
	Type       string // EventDeploymentDeployed or EventDeploymentUndeployed
	Deployment *Deployment
	Reason     string // see EventDeployment.Reason
}

// NewDeploymentEvents are the outbox rows of deployments that started or
// ended in one transaction, in the order given.
func NewDeploymentEvents(changes ...DeploymentChange) ([]*OutboxEvent, error) {
	out := make([]*OutboxEvent, 0, len(changes))
	for _, c := range changes {
		d := c.Deployment
		msg := strings.TrimPrefix(c.Type, "deployment.") + " model " + d.ModelID
		if c.Reason != "deployed" && c.Reason != "undeployed" {
			msg += " (" + c.Reason + ")"
		}
		ev, err := newSubjectEvent(SubjectDeployment(d.ID), SubjectEventBody{Type: c.Type, Message: bound(msg),
			Deployment: &EventDeployment{ID: d.ID, ModelID: d.ModelID, AgeMin: d.AgeMin, AgeMax: d.AgeMax, Active: d.Active,
				ThresholdSource: d.ThresholdSource, DeployedAt: d.DeployedAt, DeployedBy: bound(d.DeployedBy),
				EndedAt: d.EndedAt, EndedBy: bound(d.EndedBy), Reason: c.Reason, SupersededBy: d.SupersededBy}})
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// DeployChanges are Deploy's changes: the replaced deployments end, then d starts.
func DeployChanges(d *Deployment, replaced []*Deployment) []DeploymentChange {
	out := make([]DeploymentChange, 0, len(replaced)+1)
	for _, r := range replaced {
		out = append(out, DeploymentChange{EventDeploymentUndeployed, r, "replaced"})
	}
	return append(out, DeploymentChange{EventDeploymentDeployed, d, "deployed"})
}

// UndeployChanges are Undeploy's changes: ended ends, then the deployments
// it had superseded start again.
func UndeployChanges(ended *Deployment, restored []*Deployment) []DeploymentChange {
	out := []DeploymentChange{{EventDeploymentUndeployed, ended, "undeployed"}}
	for _, r := range restored {
		out = append(out, DeploymentChange{EventDeploymentDeployed, r, "restored"})
	}
	return out
}

func newSubjectEvent(subject string, b SubjectEventBody) (*OutboxEvent, error) {
	now := Now()
	b.ID = NewID()
	b.OccurredAt = now.UTC().Format(OccurredFormat)
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &OutboxEvent{ID: b.ID, JobID: subject, Type: b.Type, Payload: raw,
		OccurredAt: now, CreatedAt: now, State: OutboxPending, NextAttemptAt: now}, nil
}
