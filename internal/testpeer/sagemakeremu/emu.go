package sagemakeremu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// LogGroup is where SageMaker writes training jobs' logs.
const LogGroup = "/aws/sagemaker/TrainingJobs"

// Options configure the emulator.
type Options struct {
	// Trainer is the command that trains, run once per instance with
	// "--ml-root DIR" appended (e.g. {"/path/sagetrain", "train"}). Required.
	Trainer []string
	// Env is added to every trainer's environment.
	Env []string
	// StopGrace is the time between SIGTERM and SIGKILL on stop (default 2 s).
	StopGrace time.Duration
	// StepDelay is how long each preparing secondary status lasts (default 20 ms).
	StepDelay time.Duration
	// Region and AccountID make the ARNs (default us-east-1, 123456789012).
	Region, AccountID string
	// S3PathStyle addresses buckets by path (versitygw needs it; default true).
	S3PathStyle *bool
}

// Server is a running emulator.
type Server struct {
	URL string

	opt  Options
	srv  *http.Server
	ln   net.Listener
	s3   *s3.Client
	logs *cloudwatchlogs.Client
	ctx  context.Context // cancelled by Close: stops every job runner
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex
	jobs      map[string]*job
	throttle  int // next N calls answer ThrottlingException
	internal  int // next N calls answer 500 InternalFailure
	calls     map[string]int
	faults    int               // faults served since the last ResetCalls
	failNames map[string]string // job name -> failure reason to force
	refuse    map[string]string // job name -> why StopTrainingJob is refused

	groupOnce sync.Once // the log group is made when the first job logs
	groupErr  error
}

// New starts an emulator; cfg gives the S3 and CloudWatch Logs clients it
// uses (point them at versitygw and moto with testpeer's Env).
func New(cfg aws.Config, opt Options) (*Server, error) {
	if len(opt.Trainer) == 0 {
		return nil, errors.New("sagemakeremu: Options.Trainer is required")
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 2 * time.Second
	}
	if opt.StepDelay <= 0 {
		opt.StepDelay = 20 * time.Millisecond
	}
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	if opt.AccountID == "" {
		opt.AccountID = "123456789012"
	}
	pathStyle := opt.S3PathStyle == nil || *opt.S3PathStyle
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		opt:       opt,
		ln:        ln,
		s3:        s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		logs:      cloudwatchlogs.NewFromConfig(cfg),
		ctx:       ctx,
		stop:      cancel,
		jobs:      map[string]*job{},
		calls:     map[string]int{},
		failNames: map[string]string{},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// ensureLogGroup creates SageMaker's log group in CloudWatch Logs once.
func (s *Server) ensureLogGroup() error {
	s.groupOnce.Do(func() {
		_, err := s.logs.CreateLogGroup(s.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(LogGroup)})
		var exists *cwtypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			s.groupErr = fmt.Errorf("sagemakeremu: create log group: %w", err)
		}
	})
	return s.groupErr
}

// Start is New for a test: it fails the test on error and closes the
// emulator (stopping its jobs) when the test ends.
func Start(t testing.TB, cfg aws.Config, opt Options) *Server {
	t.Helper()
	s, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Env points the SDK's SageMaker client at this emulator for the test.
func (s *Server) Env(t testing.TB) { t.Setenv("AWS_ENDPOINT_URL_SAGEMAKER", s.URL) }

// Close stops the server and kills every running job.
func (s *Server) Close() {
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.wg.Wait()
}

// InjectThrottling makes the next n API calls fail with 400 ThrottlingException.
func (s *Server) InjectThrottling(n int) { s.mu.Lock(); s.throttle += n; s.mu.Unlock() }

// InjectInternalErrors makes the next n API calls fail with 500 InternalFailure.
func (s *Server) InjectInternalErrors(n int) { s.mu.Lock(); s.internal += n; s.mu.Unlock() }

// ClearFaults cancels the throttling and 500s not yet served.
func (s *Server) ClearFaults() { s.mu.Lock(); s.throttle, s.internal = 0, 0; s.mu.Unlock() }

// FailJob makes the named job fail with reason: at once if it is running or
// preparing, or as soon as it is created.
func (s *Server) FailJob(name, reason string) {
	s.mu.Lock()
	j := s.jobs[name]
	if j == nil {
		s.failNames[name] = reason
	}
	s.mu.Unlock()
	if j != nil {
		j.fail(reason)
	}
}

// Calls returns how many calls of each operation (e.g. "DescribeTrainingJob")
// the emulator received, faults included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// FaultsServed returns how many injected faults were answered since the
// last ResetCalls.
func (s *Server) FaultsServed() int { s.mu.Lock(); defer s.mu.Unlock(); return s.faults }

// ResetCalls zeroes the call and fault counters.
func (s *Server) ResetCalls() { s.mu.Lock(); s.calls = map[string]int{}; s.faults = 0; s.mu.Unlock() }

// Seed adds a job that does not run: it stays InProgress/Training until
// SetStatus moves it (for benchmarks and refresh tests with many jobs).
func (s *Server) Seed(name string) {
	now := time.Now()
	j := &job{srv: s, name: name, arn: s.arn(name), created: now, seeded: true, done: make(chan struct{})}
	j.status, j.secondary, j.modified = "InProgress", "Training", now
	j.trans = []transition{{Status: "Training", StartTime: toEpoch(now), StatusMessage: "Training image download completed. Training in progress."}}
	j.raw = map[string]json.RawMessage{}
	s.mu.Lock()
	s.jobs[name] = j
	s.mu.Unlock()
}

// SetStatus moves a job to status/secondary (SageMaker's names), as if
// SageMaker had changed it now.
func (s *Server) SetStatus(name, status, secondary string) error {
	s.mu.Lock()
	j := s.jobs[name]
	s.mu.Unlock()
	if j == nil {
		return fmt.Errorf("no job %s", name)
	}
	j.set(status, secondary, "", "")
	return nil
}

// Wait blocks until the named job's runner has finished (or ctx ends).
func (s *Server) Wait(ctx context.Context, name string) error {
	s.mu.Lock()
	j := s.jobs[name]
	s.mu.Unlock()
	if j == nil {
		return fmt.Errorf("no job %s", name)
	}
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:training-job/%s", s.opt.Region, s.opt.AccountID, strings.ToLower(name))
}

// apiError is an AWS JSON protocol error.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, args ...any) error {
	return &apiError{400, "ValidationException", fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "SageMaker.")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, &apiError{400, "UnknownOperationException", "expected POST with X-Amz-Target: SageMaker.<Operation>"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeErr(w, &apiError{400, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	var fault error
	switch {
	case s.throttle > 0:
		s.throttle--
		fault = &apiError{400, "ThrottlingException", "Rate exceeded"}
	case s.internal > 0:
		s.internal--
		fault = &apiError{500, "InternalFailure", "We encountered an internal error. Please try again."}
	}
	if fault != nil {
		s.faults++
	}
	s.mu.Unlock()
	if fault != nil {
		writeErr(w, fault)
		return
	}
	var out any
	switch op {
	case "CreateTrainingJob":
		out, err = s.create(body)
	case "DescribeTrainingJob":
		out, err = s.describe(body)
	case "ListTrainingJobs":
		out, err = s.list(body)
	case "StopTrainingJob":
		out, err = s.stopJob(body)
	case "CreateHyperParameterTuningJob":
		out, err = s.createTuner(body)
	case "DescribeHyperParameterTuningJob":
		out, err = s.describeTuner(body)
	case "ListHyperParameterTuningJobs":
		out, err = s.listTuners(body)
	case "StopHyperParameterTuningJob":
		out, err = s.stopTuner(body)
	case "ListTrainingJobsForHyperParameterTuningJob":
		out, err = s.listTunerJobs(body)
	default:
		err = &apiError{400, "UnknownOperationException", "the emulator does not implement " + op}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{500, "InternalFailure", err.Error()}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.code)
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.code, "message": ae.msg})
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func (s *Server) create(body []byte) (any, error) {
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	switch {
	case !namePattern.MatchString(req.TrainingJobName):
		return nil, validation("1 validation error detected: Value '%s' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", req.TrainingJobName)
	case req.AlgorithmSpecification == nil || req.OutputDataConfig == nil || req.ResourceConfig == nil || req.StoppingCondition == nil || req.RoleArn == "":
		return nil, validation("AlgorithmSpecification, RoleArn, OutputDataConfig, ResourceConfig and StoppingCondition are required")
	case !strings.HasPrefix(req.OutputDataConfig.S3OutputPath, "s3://"):
		return nil, validation("S3OutputPath must be an s3:// URI, got %q", req.OutputDataConfig.S3OutputPath)
	case req.ResourceConfig.InstanceCount < 1:
		return nil, validation("InstanceCount must be at least 1")
	}
	for _, c := range req.InputDataConfig {
		if c.DataSource.S3DataSource == nil || !strings.HasPrefix(c.DataSource.S3DataSource.S3Uri, "s3://") {
			return nil, validation("channel %s needs an S3DataSource with an s3:// S3Uri", c.ChannelName)
		}
	}
	for _, m := range req.AlgorithmSpecification.MetricDefinitions {
		if _, err := regexp.Compile(m.Regex); err != nil {
			return nil, validation("metric %s: invalid regex: %v", m.Name, err)
		}
	}
	s.mu.Lock()
	if _, ok := s.jobs[req.TrainingJobName]; ok {
		s.mu.Unlock()
		return nil, &apiError{400, "ResourceInUse", "Training job names must be unique within an AWS account and region, and a training job with this name already exists (" + s.arn(req.TrainingJobName) + ")"}
	}
	now := time.Now()
	j := &job{srv: s, name: req.TrainingJobName, arn: s.arn(req.TrainingJobName), req: req, raw: raw, created: now, done: make(chan struct{})}
	j.status, j.secondary, j.modified = "InProgress", "Starting", now
	j.trans = []transition{{Status: "Starting", StartTime: toEpoch(now), StatusMessage: "Starting the training job"}}
	s.jobs[j.name] = j
	failReason, forced := s.failNames[j.name]
	delete(s.failNames, j.name)
	s.wg.Add(1)
	s.mu.Unlock()
	if forced {
		j.fail(failReason)
	}
	go func() {
		defer s.wg.Done()
		j.run(s.ctx)
	}()
	return map[string]string{"TrainingJobArn": j.arn}, nil
}

type nameRequest struct{ TrainingJobName string }

func (s *Server) lookup(body []byte) (*job, error) {
	var req nameRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	s.mu.Lock()
	j := s.jobs[req.TrainingJobName]
	s.mu.Unlock()
	if j == nil {
		// What SageMaker really answers for an unknown training job.
		return nil, validation("Requested resource not found.")
	}
	return j, nil
}

func (s *Server) describe(body []byte) (any, error) {
	j, err := s.lookup(body)
	if err != nil {
		return nil, err
	}
	return j.describe(), nil
}

func (s *Server) stopJob(body []byte) (any, error) {
	j, err := s.lookup(body)
	if err != nil {
		return nil, err
	}
	if err := s.refusal(j.name); err != nil {
		return nil, err
	}
	if err := j.requestStop(); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Server) list(body []byte) (any, error) {
	var req listRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	if req.MaxResults == 0 {
		req.MaxResults = 10
	}
	if req.MaxResults < 1 || req.MaxResults > 100 {
		return nil, validation("MaxResults must be between 1 and 100")
	}
	s.mu.Lock()
	all := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		all = append(all, j)
	}
	s.mu.Unlock()
	var sums []summary
	for _, j := range all {
		sum := j.summary()
		if req.NameContains != "" && !strings.Contains(strings.ToLower(sum.TrainingJobName), strings.ToLower(req.NameContains)) {
			continue
		}
		if req.StatusEquals != "" && sum.TrainingJobStatus != req.StatusEquals {
			continue
		}
		mod, created := sum.LastModifiedTime.time(), sum.CreationTime.time()
		if (req.LastModifiedTimeAfter != nil && !mod.After(req.LastModifiedTimeAfter.time())) ||
			(req.LastModifiedTimeBefore != nil && !mod.Before(req.LastModifiedTimeBefore.time())) ||
			(req.CreationTimeAfter != nil && !created.After(req.CreationTimeAfter.time())) ||
			(req.CreationTimeBefore != nil && !created.Before(req.CreationTimeBefore.time())) {
			continue
		}
		sums = append(sums, sum)
	}
	less := func(a, b summary) bool {
		switch req.SortBy {
		case "Name":
			return a.TrainingJobName < b.TrainingJobName
		case "Status":
			if a.TrainingJobStatus != b.TrainingJobStatus {
				return a.TrainingJobStatus < b.TrainingJobStatus
			}
		default:
			if *a.CreationTime != *b.CreationTime {
				return *a.CreationTime < *b.CreationTime
			}
		}
		return a.TrainingJobName < b.TrainingJobName
	}
	sort.Slice(sums, func(i, k int) bool {
		if req.SortOrder == "Ascending" {
			return less(sums[i], sums[k])
		}
		return less(sums[k], sums[i])
	})
	start := 0
	if req.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(req.NextToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(sums) {
			return nil, validation("Invalid pagination token")
		}
		start = n
	}
	end := min(start+req.MaxResults, len(sums))
	out := listResponse{TrainingJobSummaries: sums[start:end]}
	if out.TrainingJobSummaries == nil {
		out.TrainingJobSummaries = []summary{}
	}
	if end < len(sums) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return out, nil
}

// env returns the trainer's base environment.
func (s *Server) env() []string { return append(os.Environ(), s.opt.Env...) }
