package sagemakeremu

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/backend/local/cluster"
	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/dataset"
)

// job is one emulated training job.
type job struct {
	srv     *Server
	name    string
	arn     string
	req     createRequest
	raw     map[string]json.RawMessage
	created time.Time
	seeded  bool
	done    chan struct{}

	mu          sync.Mutex
	status      string
	secondary   string
	modified    time.Time
	started     time.Time
	ended       time.Time
	failure     string
	trans       []transition
	metrics     map[string]metricDatum
	modelURI    string
	billable    int64
	stopAsked   bool
	failAsked   string
	interrupted chan struct{} // closed on stop or forced failure
	intOnce     sync.Once
}

func (j *job) interruptCh() chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.interrupted == nil {
		j.interrupted = make(chan struct{})
	}
	return j.interrupted
}

func (j *job) interrupt() {
	ch := j.interruptCh()
	j.intOnce.Do(func() { close(ch) })
}

func (j *job) finished() bool {
	return j.status == "Completed" || j.status == "Failed" || j.status == "Stopped"
}

// set moves the job to a new status/secondary status, closing the previous
// secondary status transition, and records a failure reason if given.
func (j *job) set(status, secondary, message, failure string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.setLocked(status, secondary, message, failure)
}

func (j *job) setLocked(status, secondary, message, failure string) {
	if j.finished() {
		return
	}
	now := time.Now()
	if secondary != j.secondary {
		if n := len(j.trans); n > 0 {
			j.trans[n-1].EndTime = toEpoch(now)
		}
		j.trans = append(j.trans, transition{Status: secondary, StartTime: toEpoch(now), StatusMessage: message})
	}
	j.status, j.secondary, j.modified = status, secondary, now
	if failure != "" {
		j.failure = failure
	}
	if secondary == "Training" && j.started.IsZero() {
		j.started = now
	}
	if j.finished() {
		j.ended = now
		if n := len(j.trans); n > 0 {
			j.trans[n-1].EndTime = toEpoch(now)
		}
		if !j.started.IsZero() {
			n := int64(1)
			if j.req.ResourceConfig != nil && j.req.ResourceConfig.InstanceCount > 0 {
				n = int64(j.req.ResourceConfig.InstanceCount)
			}
			j.billable = int64(math.Ceil(now.Sub(j.started).Seconds())) * n
		}
	}
}

func (j *job) summary() summary {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := summary{TrainingJobName: j.name, TrainingJobArn: j.arn, TrainingJobStatus: j.status, SecondaryStatus: j.secondary,
		CreationTime: toEpoch(j.created), LastModifiedTime: toEpoch(j.modified)}
	if j.finished() {
		s.TrainingEndTime = toEpoch(j.ended)
	}
	return s
}

func (j *job) describe() map[string]any {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]any{}
	for _, k := range echoed {
		if v, ok := j.raw[k]; ok {
			out[k] = v
		}
	}
	out["TrainingJobName"] = j.name
	out["TrainingJobArn"] = j.arn
	out["TrainingJobStatus"] = j.status
	out["SecondaryStatus"] = j.secondary
	out["CreationTime"] = toEpoch(j.created)
	out["LastModifiedTime"] = toEpoch(j.modified)
	out["SecondaryStatusTransitions"] = append([]transition(nil), j.trans...)
	out["ModelArtifacts"] = map[string]string{"S3ModelArtifacts": j.modelURI} // required member; empty until uploaded
	if !j.started.IsZero() {
		out["TrainingStartTime"] = toEpoch(j.started)
	}
	if j.finished() {
		out["TrainingEndTime"] = toEpoch(j.ended)
		if !j.started.IsZero() {
			out["TrainingTimeInSeconds"] = j.billable
			out["BillableTimeInSeconds"] = j.billable
		}
	}
	if j.failure != "" {
		out["FailureReason"] = j.failure
	}
	if len(j.metrics) > 0 {
		list := make([]metricDatum, 0, len(j.metrics))
		for _, m := range j.req.metricNames() {
			if d, ok := j.metrics[m]; ok {
				list = append(list, d)
			}
		}
		out["FinalMetricDataList"] = list
	}
	return out
}

func (r createRequest) metricNames() []string {
	if r.AlgorithmSpecification == nil {
		return nil
	}
	var out []string
	for _, m := range r.AlgorithmSpecification.MetricDefinitions {
		out = append(out, m.Name)
	}
	return out
}

func (j *job) requestStop() error {
	j.mu.Lock()
	if j.finished() {
		st := j.status
		j.mu.Unlock()
		return validation("The request was rejected because the training job is in status %s.", st)
	}
	if j.status == "Stopping" {
		j.mu.Unlock()
		return nil
	}
	j.stopAsked = true
	j.setLocked("Stopping", "Stopping", "Stopping the training job", "")
	seeded := j.seeded
	j.mu.Unlock()
	if seeded {
		go func() {
			time.Sleep(j.srv.opt.StepDelay)
			j.set("Stopped", "Stopped", "The training job was stopped", "")
		}()
		return nil
	}
	j.interrupt()
	return nil
}

func (j *job) fail(reason string) {
	j.mu.Lock()
	if j.finished() {
		j.mu.Unlock()
		return
	}
	j.failAsked = reason
	seeded := j.seeded
	j.mu.Unlock()
	if seeded {
		j.set("Failed", "Failed", reason, reason)
		return
	}
	j.interrupt()
}

// run takes the job through SageMaker's lifecycle.
func (j *job) run(ctx context.Context) {
	defer close(j.done)
	work, err := os.MkdirTemp("", "sagemakeremu-"+j.name+"-")
	if err != nil {
		j.set("Failed", "Failed", "", "InternalServerError: "+err.Error())
		return
	}
	defer os.RemoveAll(work)
	intr := j.interruptCh()

	// pause waits out one preparing step; false when the job was interrupted.
	pause := func() bool {
		select {
		case <-time.After(j.srv.opt.StepDelay):
			return true
		case <-intr:
			return false
		case <-ctx.Done():
			return false
		}
	}
	finishInterrupted := func() {
		j.mu.Lock()
		reason, stop := j.failAsked, j.stopAsked
		j.mu.Unlock()
		switch {
		case reason != "":
			j.set("Failed", "Failed", reason, reason)
		case stop:
			j.set("Stopped", "Stopped", "The training job was stopped", "")
		default:
			j.set("Failed", "Failed", "", "InternalServerError: the emulator was closed")
		}
	}
	if !pause() {
		finishInterrupted()
		return
	}
	j.set("InProgress", "Starting", "Launching requested ML instances", "")
	if !pause() {
		finishInterrupted()
		return
	}
	j.set("InProgress", "Downloading", "Downloading input data", "")
	l, err := j.download(ctx, work)
	if err != nil {
		j.set("Failed", "Failed", "", "ClientError: "+err.Error())
		return
	}
	if !pause() {
		finishInterrupted()
		return
	}
	j.set("InProgress", "Training", "Training image download completed. Training in progress.", "")
	select {
	case <-intr: // stopped or failed before the trainers started
		finishInterrupted()
		return
	default:
	}
	res, startErr := j.train(ctx, l, intr)

	j.mu.Lock()
	reason, stop := j.failAsked, j.stopAsked
	j.mu.Unlock()
	if reason != "" {
		j.set("Failed", "Failed", reason, reason)
		return
	}
	failure := ""
	if startErr != nil {
		failure = "AlgorithmError: " + startErr.Error()
	} else if h := failedHost(l.Hosts, res); h != "" && !stop {
		msg := l.Failure(h)
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		if msg == "" {
			msg = res.Exits[h].Error()
		}
		failure = fmt.Sprintf("AlgorithmError: %s (host %s)", msg, h)
	}
	j.set(j.status, "Uploading", "Uploading generated training model", "")
	roots := make([]string, len(l.Hosts))
	for i, h := range l.Hosts {
		roots[i] = l.HostRoot(h)
	}
	upErr := j.upload(ctx, work, roots, failure == "")
	switch {
	case failure != "":
		j.set("Failed", "Failed", failure, failure)
	case upErr != nil:
		j.set("Failed", "Failed", "", "ClientError: uploading artifacts: "+upErr.Error())
	case stop:
		j.set("Stopped", "Stopped", "The training job was stopped", "")
	default:
		j.set("Completed", "Completed", "Training job completed", "")
	}
}

// failedHost is the host whose failure fails the job: the first to fail,
// else (after a stop) the first in order that did not exit cleanly.
func failedHost(hosts []string, res cluster.Result) string {
	if res.FailedHost != "" {
		return res.FailedHost
	}
	for _, h := range hosts {
		if res.Exits[h] != nil {
			return h
		}
	}
	return ""
}

// download fetches the channels (once, linked into every host) and the
// checkpoints (into every host) from S3, and lays out each host's /opt/ml.
func (j *job) download(ctx context.Context, work string) (cluster.Layout, error) {
	l := cluster.Layout{Root: filepath.Join(work, "hosts"), Hosts: cluster.Hosts(j.req.ResourceConfig.InstanceCount),
		HyperParameters: j.req.HyperParameters, InstanceType: j.req.ResourceConfig.InstanceType}
	for _, c := range j.req.InputDataConfig {
		mode := c.InputMode
		if mode == "" && j.req.AlgorithmSpecification != nil {
			mode = j.req.AlgorithmSpecification.TrainingInputMode
		}
		src := filepath.Join(work, "data", c.ChannelName)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return l, err
		}
		if err := j.srv.downloadPrefix(ctx, c.DataSource.S3DataSource.S3Uri, src); err != nil {
			return l, fmt.Errorf("channel %s: %w", c.ChannelName, err)
		}
		l.Channels = append(l.Channels, cluster.Channel{Name: c.ChannelName, Source: src,
			Config: cluster.ChannelConfig(mode, c.DataSource.S3DataSource.S3DataDistributionType, c.ContentType)})
	}
	if err := l.Prepare(); err != nil {
		return l, err
	}
	if cc := j.req.CheckpointConfig; cc != nil && cc.S3Uri != "" {
		for _, h := range l.Hosts {
			if err := j.srv.downloadPrefix(ctx, cc.S3Uri, container.Path(l.HostRoot(h), container.CheckpointDir)); err != nil {
				return l, fmt.Errorf("checkpoints: %w", err)
			}
		}
	}
	return l, nil
}

// train runs the trainer once per host, each host's lines going to its
// CloudWatch Logs stream and the metric definitions, and waits for all of
// them; an interrupt or the maximum runtime stops them.
func (j *job) train(ctx context.Context, l cluster.Layout, intr chan struct{}) (cluster.Result, error) {
	var metricRes []*regexp.Regexp
	var metricNames []string
	for _, m := range j.req.AlgorithmSpecification.MetricDefinitions {
		metricRes = append(metricRes, regexp.MustCompile(m.Regex)) // validated by create
		metricNames = append(metricNames, m.Name)
	}
	logs := map[string]*logWriter{}
	for _, h := range l.Hosts {
		logs[h] = j.srv.newLogWriter(fmt.Sprintf("%s/%s-%d", j.name, h, time.Now().Unix()))
	}
	defer func() {
		for _, lw := range logs {
			lw.close(ctx)
		}
	}()
	env := append(j.srv.env(), container.EnvTrainingJobName+"="+j.name)
	for k, v := range j.req.Environment {
		env = append(env, k+"="+v)
	}
	run, err := cluster.Start(cluster.Trainers{
		Layout: l, Command: j.srv.opt.Trainer, Env: env, Grace: j.srv.opt.StopGrace, OwnGroup: true,
		Line: func(h, line string) {
			logs[h].add(line)
			j.matchMetrics(line, metricRes, metricNames)
		},
	})
	if err != nil {
		return cluster.Result{}, err
	}
	var deadline <-chan time.Time
	if sc := j.req.StoppingCondition; sc != nil && sc.MaxRuntimeInSeconds > 0 {
		deadline = time.After(time.Duration(sc.MaxRuntimeInSeconds) * time.Second)
	}
	select {
	case <-run.Done():
	case <-intr:
		run.Stop()
	case <-ctx.Done():
		run.Stop()
	case <-deadline:
		j.mu.Lock()
		j.stopAsked = true
		j.setLocked("Stopping", "MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds", "")
		j.mu.Unlock()
		run.Stop()
	}
	return run.Wait(), nil
}

func (j *job) matchMetrics(line string, res []*regexp.Regexp, names []string) {
	for i, re := range res {
		m := re.FindStringSubmatch(line)
		if len(m) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(m[1]), 64)
		if err != nil {
			continue
		}
		j.mu.Lock()
		if j.metrics == nil {
			j.metrics = map[string]metricDatum{}
		}
		j.metrics[names[i]] = metricDatum{MetricName: names[i], Value: v, Timestamp: toEpoch(time.Now())}
		j.mu.Unlock()
	}
}

// upload tars every host's model and output/data folders (merged, host 1
// last so it wins a clash) and puts them where SageMaker does.
func (j *job) upload(ctx context.Context, work string, roots []string, withModel bool) error {
	base := strings.TrimSuffix(j.req.OutputDataConfig.S3OutputPath, "/") + "/" + j.name + "/output/"
	kinds := []struct{ sub, file string }{{container.OutputDataDir, container.OutputArchive}}
	if withModel {
		kinds = append(kinds, struct{ sub, file string }{container.ModelDir, container.ModelArchive})
	}
	for _, k := range kinds {
		merged := filepath.Join(work, "merged-"+k.file)
		for i := len(roots) - 1; i >= 0; i-- {
			if err := mergeInto(container.Path(roots[i], k.sub), merged); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(merged, 0o755); err != nil {
			return err
		}
		arch := filepath.Join(work, k.file)
		if err := artifacts.CreateTarGz(merged, arch); err != nil {
			return err
		}
		if err := j.srv.putFile(ctx, base+k.file, arch); err != nil {
			return err
		}
		if k.file == container.ModelArchive {
			j.mu.Lock()
			j.modelURI = base + k.file
			j.mu.Unlock()
		}
	}
	if cc := j.req.CheckpointConfig; cc != nil && cc.S3Uri != "" {
		if err := j.srv.uploadDir(ctx, container.Path(roots[0], container.CheckpointDir), cc.S3Uri); err != nil {
			return fmt.Errorf("checkpoints: %w", err)
		}
	}
	return nil
}

// mergeInto copies src's files into dst, overwriting.
func mergeInto(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func splitS3(uri string) (bucket, key string, err error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("not an s3:// URI: %q", uri)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

// downloadPrefix copies every object under an S3 prefix into dest, keeping
// the key's path below the prefix (as SageMaker's File mode does).
func (s *Server) downloadPrefix(ctx context.Context, uri, dest string) error {
	_, err := dataset.DownloadPrefix(ctx, s.s3, uri, dest)
	return err
}

func (s *Server) putFile(ctx context.Context, uri, file string) error {
	bucket, key, err := splitS3(uri)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f})
	return err
}

func (s *Server) uploadDir(ctx context.Context, dir, uri string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return s.putFile(ctx, strings.TrimSuffix(uri, "/")+"/"+path.Clean(filepath.ToSlash(rel)), p)
	})
}

// logWriter batches one host's lines into its CloudWatch Logs stream.
type logWriter struct {
	srv    *Server
	stream string
	mu     sync.Mutex
	buf    []cwtypes.InputLogEvent
	last   int64
	quit   chan struct{}
	flushd chan struct{}
	err    error
}

func (s *Server) newLogWriter(stream string) *logWriter {
	w := &logWriter{srv: s, stream: stream, quit: make(chan struct{}), flushd: make(chan struct{})}
	if w.err = s.ensureLogGroup(); w.err == nil {
		_, w.err = s.logs.CreateLogStream(s.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(LogGroup), LogStreamName: aws.String(stream)})
	}
	go func() {
		defer close(w.flushd)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.flush(s.ctx)
			case <-w.quit:
				return
			}
		}
	}()
	return w
}

func (w *logWriter) add(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := time.Now().UnixMilli()
	if ts < w.last { // CloudWatch wants non-decreasing times within a stream
		ts = w.last
	}
	w.last = ts
	if line == "" {
		line = " " // CloudWatch refuses empty messages
	}
	w.buf = append(w.buf, cwtypes.InputLogEvent{Message: aws.String(line), Timestamp: aws.Int64(ts)})
}

func (w *logWriter) flush(ctx context.Context) {
	w.mu.Lock()
	batch := w.buf
	w.buf = nil
	w.mu.Unlock()
	for len(batch) > 0 && w.err == nil {
		n := min(len(batch), 1000)
		_, w.err = w.srv.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(LogGroup), LogStreamName: aws.String(w.stream), LogEvents: batch[:n]})
		batch = batch[n:]
	}
}

// close flushes what is left and stops the ticker.
func (w *logWriter) close(ctx context.Context) {
	close(w.quit)
	<-w.flushd
	w.flush(ctx)
}
