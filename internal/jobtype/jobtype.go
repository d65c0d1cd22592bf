package jobtype

import (
	"encoding/json"
	"time"
)

// Status is a job's state in sagetrain. Each backend maps its own states
// onto these in one function (backend/sagemaker.MapStatus, whose table is in
// docs/sagemaker.md).
type Status string

// The statuses of a job.
const (
	StatusPending   Status = "pending"   // row written, backend not yet asked
	StatusPreparing Status = "preparing" // backend accepted it, not yet training
	StatusRunning   Status = "running"
	StatusStopping  Status = "stopping"
	StatusStopped   Status = "stopped"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// AllStatuses lists every status in lifecycle order.
var AllStatuses = []Status{StatusPending, StatusPreparing, StatusRunning, StatusStopping, StatusStopped, StatusCompleted, StatusFailed}

// Terminal reports whether a job in this status will never change again.
func (s Status) Terminal() bool {
	return s == StatusStopped || s == StatusCompleted || s == StatusFailed
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range AllStatuses {
		if v == s {
			return true
		}
	}
	return false
}

// Job is one training job as sagetrain records it.
type Job struct {
	ID             string          // sagetrain's id (a ULID: sortable by creation)
	Name           string          // the spec's job_name
	RemoteName     string          // the backend's job name (SageMaker TrainingJobName)
	RemoteARN      string          // the backend's ARN, once created
	Backend        string          // "local" or "sagemaker"
	IdempotencyKey string          // empty when none was given; unique when set
	Spec           json.RawMessage // the spec as submitted, after defaults

	Status          Status
	SecondaryStatus string // SageMaker's secondary status, or the local equivalent
	StatusMessage   string
	FailureReason   string // kept forever once a job failed
	CancelRequested bool   // cancel was asked; the reconciler stops it on the backend

	CreatedAt       time.Time
	UpdatedAt       time.Time
	StartedAt       *time.Time // training started
	EndedAt         *time.Time // reached a terminal status
	BillableSeconds int64

	ModelArtifactURI  string          // s3://.../model.tar.gz or file://...
	OutputArtifactURI string          // s3://.../output.tar.gz or file://...
	ArtifactDir       string          // where the artifacts were unpacked locally
	Report            json.RawMessage // the training report (from the trainer's metrics.json); nil until completed

	Version      int64     // bumped by every Update; used for optimistic concurrency
	LeaseOwner   string    // the reconciler holding this job, if any
	LeaseExpires time.Time // when that lease ends
}

// Event is one status change of a job, kept forever in order.
type Event struct {
	JobID           string
	At              time.Time
	Status          Status
	SecondaryStatus string
	Message         string
}
