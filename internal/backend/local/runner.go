package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/backend/local/cluster"
	"github.com/sagetrain/sagetrain/internal/container"
	ds "github.com/sagetrain/sagetrain/internal/dataset"
	"github.com/sagetrain/sagetrain/internal/excerpt"
	"github.com/sagetrain/sagetrain/internal/jobtype"
	"github.com/sagetrain/sagetrain/internal/spec"
)

type sagemakerChannel = types.Channel

// maxFailureReason is SageMaker's limit on FailureReason.
const maxFailureReason = 1024

// RunJob is the detached runner of one local job (`sagetrain local-run DIR`):
// it prepares the channels and each host's ml-root, runs `<exe> train
// --ml-root HOSTDIR` per host, enforces stop requests and the maximum
// runtime, packs the artifacts as SageMaker does, and writes the exit record.
// Whatever happens to the job, it is recorded in state.json; the returned
// error only reports that the record itself could not be written.
func RunJob(ctx context.Context, dir string) error {
	// First, so a stop that arrives while preparing is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP)
	defer signal.Stop(sigs)

	r := &runner{dir: dir}
	if err := readJSON(filepath.Join(dir, fileJob), &r.job); err != nil {
		return fmt.Errorf("local-run: read %s: %w", fileJob, err)
	}
	if err := readJSON(filepath.Join(dir, fileState), &r.st); err != nil {
		return fmt.Errorf("local-run: read %s: %w", fileState, err)
	}
	if r.st.Final {
		return nil
	}
	r.makeReserve()
	defer r.dropReserve()
	err := r.run(ctx, sigs)
	if err != nil && !r.final() {
		// A step's record could not be written (a full disk): end the job
		// failed with why and where, rather than leave it running.
		if ferr := r.finish(jobtype.StatusFailed, "Failed", "Training job failed", "InternalServerError: cannot record the job's progress in "+r.dir+": "+err.Error()); ferr == nil {
			return nil
		}
	}
	return err
}

type runner struct {
	dir string
	job jobFile
	mu  sync.Mutex // guards st
	st  stateFile
	// maxRuntime is whether the stop came from MaxRuntimeInSeconds.
	maxRuntime bool
}

func (r *runner) save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.LastModified = time.Now().UTC()
	p := filepath.Join(r.dir, fileState)
	err := writeJSONAtomic(p, r.st)
	if err != nil && r.st.Final && errors.Is(err, syscall.ENOSPC) && r.dropReserve() {
		// The exit record must get written: it may use the reserve.
		err = writeJSONAtomic(p, r.st)
	}
	return err
}

func (r *runner) final() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Final
}

// reserveBytes are held on the job's disk while it runs, so that the exit
// record can still be written when the job fills the disk.
const reserveBytes = 256 << 10

func (r *runner) makeReserve() {
	_ = os.WriteFile(filepath.Join(r.dir, fileReserve), make([]byte, reserveBytes), 0o600)
}

// dropReserve frees the reserve; it reports whether there was one.
func (r *runner) dropReserve() bool {
	return os.Remove(filepath.Join(r.dir, fileReserve)) == nil
}

func (r *runner) transition(status jobtype.Status, secondary, message string) error {
	r.mu.Lock()
	r.st.transition(status, secondary, message, time.Now().UTC())
	r.mu.Unlock()
	return r.save()
}

func (r *runner) finish(status jobtype.Status, secondary, message, reason string) error {
	reason = excerpt.Clean(reason, maxFailureReason)
	r.mu.Lock()
	r.st.finish(status, secondary, message, reason, time.Now().UTC())
	r.mu.Unlock()
	return r.save()
}

// stopBeforeStart records a stop that came before training: Stopping, then
// Stopped, so the history reads in time order whatever a reconciler
// recorded when it asked for the stop.
func (r *runner) stopBeforeStart() error {
	if err := r.transition(jobtype.StatusStopping, "Stopping", "Stopping the training job"); err != nil {
		return err
	}
	return r.finish(jobtype.StatusStopped, "Stopped", "Training job stopped before it started", "")
}

func (r *runner) stopAsked() bool {
	_, err := os.Stat(filepath.Join(r.dir, fileStop))
	return err == nil
}

func (r *runner) logf(format string, args ...any) {
	f, err := os.OpenFile(filepath.Join(r.dir, fileLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\n", excerpt.Line(fmt.Sprintf("[sagetrain local] "+format, args...)))
}

func (r *runner) hosts() []string {
	n := 1
	if rc := r.job.Request.ResourceConfig; rc != nil {
		n = int(aws.ToInt32(rc.InstanceCount))
	}
	return cluster.Hosts(n)
}

// layout is where the job's hosts are: hosts/algo-N in its folder.
func (r *runner) layout(hosts []string) cluster.Layout {
	return cluster.Layout{Root: filepath.Join(r.dir, "hosts"), Hosts: hosts}
}

func (r *runner) run(ctx context.Context, sigs <-chan os.Signal) error {
	if r.stopAsked() {
		return r.stopBeforeStart()
	}
	if err := r.transition(jobtype.StatusPreparing, "Downloading", "Downloading input data"); err != nil {
		return err
	}
	hosts := r.hosts()
	if err := r.prepare(ctx, hosts); err != nil {
		r.logf("preparing the job failed: %v", err)
		return r.finish(jobtype.StatusFailed, "Failed", "Training job failed", "ClientError: "+err.Error())
	}
	select {
	case <-sigs:
		return r.stopBeforeStart()
	default:
	}
	if r.stopAsked() {
		return r.stopBeforeStart()
	}
	env := r.environment()
	now := time.Now().UTC()
	r.mu.Lock()
	r.st.StartedAt = &now
	r.mu.Unlock()
	if err := r.transition(jobtype.StatusRunning, "Training", "Training image download completed. Training in progress."); err != nil {
		return err
	}
	res, err := r.train(hosts, env, sigs)
	if err != nil {
		return r.finish(jobtype.StatusFailed, "Failed", "Training job failed", "InternalServerError: cannot start the trainer: "+err.Error())
	}
	return r.conclude(hosts, res)
}

// prepare makes data/<channel> and every host's ml-root.
func (r *runner) prepare(ctx context.Context, hosts []string) error {
	in := r.job.Request
	dataDir := filepath.Join(r.dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	l := r.layout(hosts)
	l.HyperParameters = in.HyperParameters
	if in.ResourceConfig != nil {
		l.InstanceType = string(in.ResourceConfig.InstanceType)
	}
	for _, ch := range in.InputDataConfig {
		name, src, err := channelSource(ch)
		if err != nil {
			return err
		}
		if strings.HasPrefix(src, "s3://") {
			dst := filepath.Join(dataDir, name)
			_ = os.RemoveAll(dst) // a previous, crashed attempt
			if err := downloadS3(ctx, src, dst); err != nil {
				return fmt.Errorf("download channel %s from %s: %w", name, src, err)
			}
			src = dst
		} else if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("channel %s: %w", name, err)
		}
		mode := string(in.AlgorithmSpecification.TrainingInputMode)
		if ch.InputMode != "" {
			mode = string(ch.InputMode)
		}
		l.Channels = append(l.Channels, cluster.Channel{Name: name, Source: src, Config: cluster.ChannelConfig(mode, "FullyReplicated", aws.ToString(ch.ContentType))})
	}
	if err := l.Prepare(); err != nil {
		return err
	}
	// A resumed job starts from the checkpoints it names.
	return r.restoreCheckpoints(hosts)
}

// trainerPath is the PATH a trainer gets, as in a container image.
const trainerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// environment is the trainers' environment, built from scratch: nothing of
// the server's own (its AWS credentials, API tokens, store DSN, loader
// settings) reaches a job. It holds what the container contract needs, the
// backend's test variables, the job's own variables (minus refused ones,
// which Create turned away already), the job service's own variables (the
// provenance digests) and, for several hosts, the addresses
// they find each other at. Each host adds its own name and HOME.
func (r *runner) environment() []string {
	env := []string{"PATH=" + trainerPath, "LANG=C.UTF-8", container.EnvTrainingJobName + "=" + r.job.Name, container.EnvTrainingJobARN + "=" + r.job.ARN}
	env = append(env, r.job.TrainerEnv...)
	keys := make([]string, 0, len(r.job.Request.Environment))
	for k := range r.job.Request.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if why := spec.RefusedLocalEnv(k); why != "" {
			r.logf("environment variable %s %s", k, why)
			continue
		}
		env = append(env, k+"="+r.job.Request.Environment[k])
	}
	keys = keys[:0]
	for k := range r.job.ServiceEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+r.job.ServiceEnv[k])
	}
	return env
}

// train runs one trainer per host and waits for all of them, passing a stop
// (a signal, the stop file, the maximum runtime) on to them.
func (r *runner) train(hosts []string, env []string, sigs <-chan os.Signal) (cluster.Result, error) {
	logf, err := os.OpenFile(filepath.Join(r.dir, fileLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return cluster.Result{}, err
	}
	defer logf.Close()
	var logMu sync.Mutex
	// The trainer is this very binary. /proc/self/exe still runs it when its
	// file is gone, as after `go run ./cmd/sagetrain submit` returns.
	exe := r.job.Executable
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		exe = "/proc/self/exe"
	}
	run, err := cluster.Start(cluster.Trainers{
		Layout: r.layout(hosts), Command: []string{exe, "train"}, Env: env, Grace: r.job.StopGrace,
		Line: func(h, line string) {
			prefix := ""
			if len(hosts) > 1 {
				prefix = "[" + h + "] "
			}
			logMu.Lock()
			defer logMu.Unlock()
			// The trainer's lines carry user data: no terminal escapes.
			fmt.Fprintf(logf, "%s%s\n", prefix, excerpt.Line(line))
		},
	})
	if err != nil {
		return cluster.Result{}, err
	}
	var maxRun <-chan time.Time
	if sc := r.job.Request.StoppingCondition; sc != nil && aws.ToInt32(sc.MaxRuntimeInSeconds) > 0 {
		maxRun = time.After(time.Duration(aws.ToInt32(sc.MaxRuntimeInSeconds)) * time.Second)
	}
	stopFile := time.NewTicker(500 * time.Millisecond)
	defer stopFile.Stop()
	stopping := false
	terminate := func(maxRuntime bool) {
		if stopping {
			return
		}
		stopping, r.maxRuntime = true, maxRuntime
		msg := "Stopping the training job"
		if maxRuntime {
			msg = "Stopping the training job: it exceeded MaxRuntimeInSeconds"
		}
		_ = r.transition(jobtype.StatusStopping, "Stopping", msg)
		run.Stop()
	}
	for {
		select {
		case <-run.Done():
			return run.Wait(), nil
		case <-sigs:
			terminate(false)
		case <-stopFile.C:
			if r.stopAsked() {
				terminate(false)
			}
		case <-maxRun:
			terminate(true)
		}
	}
}

// conclude packs the artifacts and writes the exit record.
func (r *runner) conclude(hosts []string, res cluster.Result) error {
	codes := res.ExitCodes()
	r.mu.Lock()
	r.st.ExitCodes = codes
	r.mu.Unlock()
	failed := res.FailedHost != ""
	if !failed && !res.Stopped {
		if err := r.transition(jobtype.StatusRunning, "Uploading", "Uploading generated training model"); err != nil {
			return err
		}
	}
	// SageMaker keeps the output of every job, and the model of a completed
	// or stopped one.
	artErr := r.pack(hosts[0], !failed)
	switch {
	case res.Stopped:
		secondary, msg := "Stopped", "Training job stopped"
		if r.maxRuntime {
			secondary, msg = "MaxRuntimeExceeded", "Training job stopped: it exceeded MaxRuntimeInSeconds"
		}
		return r.finish(jobtype.StatusStopped, secondary, msg, "")
	case failed:
		return r.finish(jobtype.StatusFailed, "Failed", "Training job failed", r.failureReason(res.FailedHost, codes[res.FailedHost]))
	case artErr != nil:
		return r.finish(jobtype.StatusFailed, "Failed", "Training job failed", "InternalServerError: packing the artifacts failed: "+artErr.Error())
	default:
		return r.finish(jobtype.StatusCompleted, "Completed", "Training job completed", "")
	}
}

// pack writes <output>/<name>/output/model.tar.gz (from algo-1's model/,
// when withModel) and output.tar.gz (algo-1's output/data/).
func (r *runner) pack(host string, withModel bool) error {
	outDir := filepath.Join(r.job.OutputBase, r.job.Name, "output")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	root := r.layout(nil).HostRoot(host)
	var firstErr error
	if withModel {
		p := filepath.Join(outDir, container.ModelArchive)
		if err := artifacts.CreateTarGz(container.Path(root, container.ModelDir), p); err != nil {
			firstErr = err
		} else {
			r.mu.Lock()
			r.st.ModelArtifacts = "file://" + p
			r.mu.Unlock()
		}
	}
	p := filepath.Join(outDir, container.OutputArchive)
	if err := artifacts.CreateTarGz(container.Path(root, container.OutputDataDir), p); err != nil {
		if firstErr == nil {
			firstErr = err
		}
	} else {
		r.mu.Lock()
		r.st.OutputArtifacts = "file://" + p
		r.mu.Unlock()
	}
	return firstErr
}

// failureReason is the failed host's output/failure file, as SageMaker
// reports it, or its exit status when the trainer wrote none.
func (r *runner) failureReason(host string, code int) string {
	l := r.layout(nil)
	if s := l.Failure(host); s != "" {
		return s
	}
	hostDir := l.HostRoot(host)
	var fs syscall.Statfs_t
	if syscall.Statfs(hostDir, &fs) == nil && fs.Bavail*uint64(fs.Bsize) < 2*reserveBytes {
		return fmt.Sprintf("InternalServerError: no space left on device in %s (the trainer on %s exited with status %d); free space there or use another --local-root", hostDir, host, code)
	}
	if code < 0 {
		return fmt.Sprintf("AlgorithmError: the trainer on %s was killed by a signal", host)
	}
	return fmt.Sprintf("AlgorithmError: the trainer on %s exited with status %d and wrote no output/failure", host, code)
}

// downloadS3 copies every object under an s3:// prefix into dst.
func downloadS3(ctx context.Context, uri, dst string) error {
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{})
	if err != nil {
		return err
	}
	n, err := ds.DownloadPrefix(ctx, awssetup.NewS3Client(cfg), uri, dst)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no objects under %s", uri)
	}
	return nil
}
