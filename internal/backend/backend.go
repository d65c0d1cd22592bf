package backend

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// Observation is what a backend currently knows of one job.
type Observation struct {
	RemoteName      string
	ARN             string
	Status          jobtype.Status
	SecondaryStatus string
	Message         string // status message (SageMaker's StatusMessage)
	FailureReason   string
	LastModified    time.Time
	StartedAt       *time.Time
	EndedAt         *time.Time
	BillableSeconds int64
	// Transitions are the secondary status transitions known so far, oldest first.
	Transitions []Transition
	// ModelArtifacts is the model.tar.gz URI (s3:// or file://), set once completed.
	ModelArtifacts string
	// OutputArtifacts is the output.tar.gz URI, set once the job ended.
	OutputArtifacts string
	// FinalMetrics are the last values of the job's metric definitions.
	FinalMetrics map[string]float64
}

// Transition is one secondary status change (SageMaker's SecondaryStatusTransition).
type Transition struct {
	Status        string         // the secondary status
	JobStatus     jobtype.Status // sagetrain's status during it, mapped by the backend
	StartTime     time.Time
	EndTime       *time.Time
	StatusMessage string
}

// Backend runs training jobs somewhere: what the job service (package jobs)
// asks of one. What only some backends can do are interfaces of their own,
// asserted where they are needed (ServiceEnvCreator here; the account
// listing, checkpoint source and tuner in package jobs and sweep).
type Backend interface {
	// Create starts a job named *in.TrainingJobName and returns its ARN.
	// Creating a name that already exists with this backend returns the
	// existing job's ARN and errs.ErrConflict wrapped, so a crash between
	// writing the row and creating the job never makes two jobs.
	Create(ctx context.Context, in *sagemaker.CreateTrainingJobInput) (arn string, err error)

	// Refresh observes many live jobs at once. It returns an observation for
	// each name the backend knows; names it does not know are left out.
	// Implementations batch (SageMaker: ListTrainingJobs, then Describe only
	// the jobs whose status changed).
	Refresh(ctx context.Context, names []string) (map[string]Observation, error)

	// Stop asks the backend to stop a running job. Stopping an ended job is
	// not an error.
	Stop(ctx context.Context, name string) error

	// Logs writes the job's log to w; with follow it keeps writing until the
	// job ends or ctx is done.
	Logs(ctx context.Context, name string, follow bool, w io.Writer) error

	// FetchArtifacts downloads the job's model.tar.gz and output.tar.gz (those
	// that exist) into dir, with those names. Unpacking is the caller's job
	// (package artifacts).
	FetchArtifacts(ctx context.Context, obs Observation, dir string) error
}

// ServiceEnvCreator is a backend that takes the service's own variables for
// the trainer (the provenance digests) apart from the job's environment.
// The job's environment is the caller's, and a backend may refuse names in
// it (the local one refuses SAGETRAIN_*); the service's variables are not
// the caller's and pass as they are.
type ServiceEnvCreator interface {
	CreateWithServiceEnv(ctx context.Context, in *sagemaker.CreateTrainingJobInput, serviceEnv map[string]string) (arn string, err error)
}
