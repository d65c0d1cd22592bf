package sagemaker

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// LogGroup is the CloudWatch Logs group of SageMaker training jobs.
const LogGroup = "/aws/sagemaker/TrainingJobs"

// Options tune the backend. Zero values take the defaults.
type Options struct {
	// MaxAttempts is the SDK retryer's attempts per call (default 8).
	MaxAttempts int
	// MaxBackoff caps the SDK retryer's backoff between attempts (default 20 s).
	MaxBackoff time.Duration
	// CallRetries is how many more times our own loop retries a call the
	// SDK gave up on for throttling, a 5xx or a network error (default 3).
	CallRetries int
	// CallBackoff is the first wait of our loop, doubled each time (default 2 s).
	CallBackoff time.Duration
	// ModifiedMargin is subtracted from the last-seen modification times in
	// ListTrainingJobs' LastModifiedTimeAfter, to absorb clock skew and
	// latency (default 5 min).
	ModifiedMargin time.Duration
	// LogPollInterval is how often Logs with follow polls (default 5 s).
	LogPollInterval time.Duration
	// CachePath, when set, keeps Refresh's last observations in this file
	// across processes, so a one-shot command lists jobs instead of
	// describing each one again. Empty: in memory only.
	CachePath string
	// S3PathStyle addresses buckets by path. Nil means: on when
	// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL points at a custom S3 server
	// (which rarely supports virtual-hosted buckets), off on AWS.
	S3PathStyle *bool
}

// Backend runs jobs on SageMaker. It is safe for concurrent use.
type Backend struct {
	sm   *sm.Client
	logs *cloudwatchlogs.Client
	s3   *s3.Client
	opt  Options

	mu    sync.Mutex
	cache map[string]seen // last observation per job name
}

// seen is what Refresh last knew of a job.
type seen struct {
	obs        backend.Observation
	observedAt time.Time // our clock, when the observation was received
	status     string    // SageMaker's TrainingJobStatus as last seen
}

var _ backend.Backend = (*Backend)(nil)

// New builds a backend from an AWS config (load it with the default chain:
// profiles, AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>).
func New(cfg aws.Config, opt Options) *Backend {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 20 * time.Second
	}
	if opt.CallRetries < 0 {
		opt.CallRetries = 0
	} else if opt.CallRetries == 0 {
		opt.CallRetries = 3
	}
	if opt.CallBackoff <= 0 {
		opt.CallBackoff = 2 * time.Second
	}
	if opt.ModifiedMargin <= 0 {
		opt.ModifiedMargin = 5 * time.Minute
	}
	if opt.LogPollInterval <= 0 {
		opt.LogPollInterval = 5 * time.Second
	}
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = opt.MaxAttempts
			o.MaxBackoff = opt.MaxBackoff
			// No client-side retry quota: a burst of throttling must be
			// waited out, not turned into an error after a few calls.
			o.RateLimiter = ratelimit.None
		})
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	if opt.S3PathStyle != nil {
		pathStyle = *opt.S3PathStyle
	}
	b := &Backend{
		sm:    sm.NewFromConfig(cfg),
		logs:  cloudwatchlogs.NewFromConfig(cfg),
		s3:    s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		opt:   opt,
		cache: map[string]seen{},
	}
	b.loadCache()
	return b
}

// Create creates the training job. A name that already exists returns the
// existing job's ARN with an errs.ErrConflict error.
func (b *Backend) Create(ctx context.Context, in *sm.CreateTrainingJobInput) (string, error) {
	name := aws.ToString(in.TrainingJobName)
	var out *sm.CreateTrainingJobOutput
	err := b.call(ctx, func(ctx context.Context) (err error) {
		out, err = b.sm.CreateTrainingJob(ctx, in)
		return err
	})
	if err == nil {
		return aws.ToString(out.TrainingJobArn), nil
	}
	var inUse *types.ResourceInUse
	if errors.As(err, &inUse) {
		obs, derr := b.Describe(ctx, name)
		if derr != nil {
			return "", derr
		}
		return obs.ARN, errs.Conflict("SageMaker training job "+name+" already exists",
			"this is the job created earlier under this name; nothing new was started", nil)
	}
	return "", apiErr("create SageMaker training job "+name, err)
}

// Describe returns the job's current observation.
func (b *Backend) Describe(ctx context.Context, name string) (backend.Observation, error) {
	var out *sm.DescribeTrainingJobOutput
	err := b.call(ctx, func(ctx context.Context) (err error) {
		out, err = b.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		return err
	})
	if err != nil {
		if isNotFound(err) {
			return backend.Observation{}, errNotFound(name)
		}
		return backend.Observation{}, apiErr("describe SageMaker training job "+name, err)
	}
	obs := observe(out)
	b.mu.Lock()
	b.cache[name] = seen{obs: obs, observedAt: time.Now(), status: string(out.TrainingJobStatus)}
	b.mu.Unlock()
	return obs, nil
}

// Stop asks SageMaker to stop the job; a job that already ended is fine.
func (b *Backend) Stop(ctx context.Context, name string) error {
	err := b.call(ctx, func(ctx context.Context) error {
		_, err := b.sm.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String(name)})
		return err
	})
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		return errNotFound(name)
	}
	if code, msg := errCode(err); code == "ValidationException" && strings.Contains(msg, "status") {
		return nil // "rejected because the training job is in status Completed"
	}
	return apiErr("stop SageMaker training job "+name, err)
}

// MapStatus turns SageMaker's status and secondary status into sagetrain's.
// An InProgress job is preparing until it trains, and again while it is
// Restarting or Interrupted (spot capacity reclaimed, waiting to start
// over from its checkpoint): no training happens then.
func MapStatus(status types.TrainingJobStatus, secondary types.SecondaryStatus) jobtype.Status {
	switch status {
	case types.TrainingJobStatusInProgress:
		switch secondary {
		case "Starting", "Pending", "Downloading", "DownloadingTrainingImage", "LaunchingMLInstances", "PreparingTrainingStack",
			"Restarting", "Interrupted", "":
			return jobtype.StatusPreparing
		}
		return jobtype.StatusRunning
	case types.TrainingJobStatusStopping:
		return jobtype.StatusStopping
	case types.TrainingJobStatusStopped:
		return jobtype.StatusStopped
	case types.TrainingJobStatusCompleted:
		return jobtype.StatusCompleted
	case types.TrainingJobStatusFailed:
		return jobtype.StatusFailed
	}
	return jobtype.StatusRunning // an unknown newer status: alive, keep watching
}

// statusDuring is the TrainingJobStatus a job had during a past secondary
// status (SecondaryStatusTransitions carry no primary status): the
// secondaries of stopping and of the ended states name theirs, every other
// one happens while InProgress.
func statusDuring(secondary types.SecondaryStatus) types.TrainingJobStatus {
	switch secondary {
	case types.SecondaryStatusStopping:
		return types.TrainingJobStatusStopping
	case types.SecondaryStatusStopped, types.SecondaryStatusMaxRuntimeExceeded, types.SecondaryStatusMaxWaitTimeExceeded:
		return types.TrainingJobStatusStopped
	case types.SecondaryStatusCompleted:
		return types.TrainingJobStatusCompleted
	case types.SecondaryStatusFailed:
		return types.TrainingJobStatusFailed
	}
	return types.TrainingJobStatusInProgress
}

// OutputArtifactsURI is where SageMaker puts a job's output.tar.gz.
func OutputArtifactsURI(s3OutputPath, name string) string {
	return strings.TrimSuffix(s3OutputPath, "/") + "/" + name + "/output/output.tar.gz"
}

func observe(d *sm.DescribeTrainingJobOutput) backend.Observation {
	o := backend.Observation{
		RemoteName:      aws.ToString(d.TrainingJobName),
		ARN:             aws.ToString(d.TrainingJobArn),
		Status:          MapStatus(d.TrainingJobStatus, d.SecondaryStatus),
		SecondaryStatus: string(d.SecondaryStatus),
		FailureReason:   aws.ToString(d.FailureReason),
		LastModified:    aws.ToTime(d.LastModifiedTime),
		StartedAt:       d.TrainingStartTime,
		BillableSeconds: int64(aws.ToInt32(d.BillableTimeInSeconds)),
	}
	if o.Status.Terminal() {
		o.EndedAt = d.TrainingEndTime
		if o.EndedAt == nil {
			o.EndedAt = d.LastModifiedTime
		}
		if d.OutputDataConfig != nil && d.OutputDataConfig.S3OutputPath != nil {
			o.OutputArtifacts = OutputArtifactsURI(*d.OutputDataConfig.S3OutputPath, o.RemoteName)
		}
	}
	if d.ModelArtifacts != nil && aws.ToString(d.ModelArtifacts.S3ModelArtifacts) != "" && o.Status != jobtype.StatusFailed {
		o.ModelArtifacts = *d.ModelArtifacts.S3ModelArtifacts
	}
	for i, t := range d.SecondaryStatusTransitions {
		primary := statusDuring(t.Status)
		if i == len(d.SecondaryStatusTransitions)-1 {
			primary = d.TrainingJobStatus
		}
		o.Transitions = append(o.Transitions, backend.Transition{
			Status: string(t.Status), JobStatus: MapStatus(primary, t.Status),
			StartTime: aws.ToTime(t.StartTime), EndTime: t.EndTime, StatusMessage: aws.ToString(t.StatusMessage),
		})
	}
	if n := len(o.Transitions); n > 0 {
		o.Message = o.Transitions[n-1].StatusMessage
	}
	if len(d.FinalMetricDataList) > 0 {
		o.FinalMetrics = map[string]float64{}
		for _, m := range d.FinalMetricDataList {
			o.FinalMetrics[aws.ToString(m.MetricName)] = float64(aws.ToFloat32(m.Value))
		}
	}
	return o
}

// apiErr wraps an AWS error in sagetrain's families: a refused request is a
// configuration problem, anything else a job problem. SDK errors carry the
// operation, code and request id, never credentials.
func apiErr(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Job(what+": interrupted", "run the command again", err)
	}
	var se *v4.SigningError
	// The SDK resolves credentials in its "get identity" step and wraps the
	// provider's error in plain text: no type to test but the message.
	if errors.As(err, &se) || strings.Contains(err.Error(), "get identity: ") {
		// No credentials to sign with: no retry can fix that, only the user.
		return errs.Configuration(what+": no usable AWS credentials", "configure credentials (aws configure, AWS_PROFILE or --profile, SSO login) and submit again", err)
	}
	code, _ := errCode(err)
	switch code {
	case "ValidationException", "ResourceLimitExceeded":
		return errs.Configuration(what+": SageMaker refused the request", "fix the job spec as the message says, or raise the account's limit", err)
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
		"ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken":
		return errs.Configuration(what+": AWS refused the credentials", "check the AWS profile or credentials and the role's permissions ('sagetrain check')", err)
	}
	if retryable(err) {
		return errs.Job(what+": AWS kept failing or throttling", "nothing was changed; it is retried on the next refresh, or run the command again later", err)
	}
	return errs.Job(what, "see the AWS error above", err)
}

func isNotFound(err error) bool {
	var rnf *types.ResourceNotFound
	if errors.As(err, &rnf) {
		return true
	}
	code, msg := errCode(err)
	return code == "ValidationException" && strings.Contains(strings.ToLower(msg), "not found")
}

func errNotFound(name string) error {
	return &errs.Error{Family: errs.ErrNotFound, Msg: "SageMaker training job " + name + " not found",
		Fix: "check the job name and that AWS_REGION is the region it was created in"}
}
