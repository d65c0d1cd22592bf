package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/excerpt"
	"github.com/sagetrain/sagetrain/internal/jobtype"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// DefaultStopGrace is how long a trainer has between SIGTERM and SIGKILL.
const DefaultStopGrace = 10 * time.Second

// Options configure the local backend. Zero values take the defaults.
type Options struct {
	// Root is where job folders are made (default DefaultRoot()).
	Root string
	// Executable is the sagetrain binary that runs `local-run` and `train`
	// (default: this process's own executable). Tests point it at a binary
	// they built.
	Executable string
	// StopGrace is the time between SIGTERM and SIGKILL on stop (default 10 s).
	StopGrace time.Duration
	// Env is added to the runner's environment and is all a trainer gets of
	// this process's (tests use it); the job's own Environment comes on top.
	Env []string
}

// Backend runs jobs as local processes. It is safe for concurrent use, and
// any number of processes may use the same Root at once.
type Backend struct {
	root   string
	exe    string
	grace  time.Duration
	env    []string
	faults *stateFaults
}

var _ backend.Backend = (*Backend)(nil)

// DataDir is sagetrain's per-user data folder (the job store's default
// folder too): $XDG_DATA_HOME/sagetrain, else ~/.local/share/sagetrain.
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sagetrain")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "sagetrain")
	}
	return filepath.Join(home, ".local", "share", "sagetrain")
}

// DefaultRoot is where local job folders go by default: DataDir()/local-jobs.
func DefaultRoot() string { return filepath.Join(DataDir(), "local-jobs") }

// New returns a local backend.
func New(o Options) (*Backend, error) {
	if o.Root == "" {
		o.Root = DefaultRoot()
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, errs.Configuration("local backend root "+o.Root+" is not a usable path", "give an absolute folder", err)
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, errs.Configuration("cannot find the sagetrain executable to run local jobs", "run sagetrain from a regular file", err)
		}
		o.Executable = exe
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	return &Backend{root: root, exe: o.Executable, grace: o.StopGrace, env: o.Env, faults: newStateFaults()}, nil
}

// Root is the folder holding the job folders.
func (b *Backend) Root() string { return b.root }

// JobDir is the folder of the job with this remote name.
func (b *Backend) JobDir(name string) string { return filepath.Join(b.root, name) }

// ARN is the local backend's identifier of a job, shaped like SageMaker's.
func ARN(name string) string { return "arn:sagetrain:local::training-job/" + name }

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func conflict(name string) error {
	return errs.Conflict("local training job "+name+" already exists",
		"use its ARN, or submit under another name", nil)
}

// Create starts the job named *in.TrainingJobName as a detached process
// group. A name that already has a running or ended job returns its ARN and
// an errs.ErrConflict error; a folder left by a Create that crashed before
// starting the runner is resumed.
func (b *Backend) Create(ctx context.Context, in *sagemaker.CreateTrainingJobInput) (string, error) {
	return b.CreateWithServiceEnv(ctx, in, nil)
}

var _ backend.ServiceEnvCreator = (*Backend)(nil)

// CreateWithServiceEnv is Create, with variables the job service itself
// gives the trainer (not the caller's: they skip the refusal of
// SAGETRAIN_* names that in.Environment gets).
func (b *Backend) CreateWithServiceEnv(ctx context.Context, in *sagemaker.CreateTrainingJobInput, serviceEnv map[string]string) (string, error) {
	if in == nil {
		return "", errs.Configuration("no training job request", "pass a CreateTrainingJobInput", nil)
	}
	name := aws.ToString(in.TrainingJobName)
	if !namePattern.MatchString(name) {
		return "", errs.Configuration(fmt.Sprintf("training job name %q is not valid", name),
			"use 1-63 letters, digits and dashes, starting with a letter or digit", nil)
	}
	outBase, err := b.outputBase(in, name)
	if err != nil {
		return "", err
	}
	for _, ch := range in.InputDataConfig {
		if _, _, err := channelSource(ch); err != nil {
			return "", err
		}
	}
	for k := range in.Environment {
		if why := spec.RefusedLocalEnv(k); why != "" {
			return "", errs.Configuration("environment variable "+excerpt.Clean(k, 64)+" "+why, "remove it from the job's environment_variables", nil)
		}
	}
	for k := range serviceEnv {
		// The service gives only its own SAGETRAIN_* settings, never the loader's or the shell's.
		if !strings.HasPrefix(k, "SAGETRAIN_") {
			return "", errs.Configuration("service variable "+excerpt.Clean(k, 64)+" is not a SAGETRAIN_* variable", "give the trainer only sagetrain's own settings this way", nil)
		}
	}
	if err := os.MkdirAll(b.root, 0o755); err != nil {
		return "", errs.Configuration("cannot create the local jobs folder "+b.root, "check its permissions or pick another root", err)
	}
	dir := b.JobDir(name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", errs.Job("cannot create the job folder "+dir, "check the folder's permissions", err)
	}
	unlock, err := lockFile(filepath.Join(dir, fileLock), true)
	if err != nil {
		return "", errs.Job("cannot lock the job folder "+dir, "check the folder's permissions", err)
	}
	defer unlock()
	arn := ARN(name)
	if _, err := os.Stat(filepath.Join(dir, filePid)); err == nil {
		return arn, conflict(name)
	}
	var jf jobFile
	if err := readJSON(filepath.Join(dir, fileJob), &jf); err != nil {
		now := time.Now().UTC()
		jf = jobFile{Name: name, ARN: arn, CreatedAt: now, Executable: b.exe, StopGrace: b.grace, OutputBase: outBase, Request: in, TrainerEnv: b.env, ServiceEnv: serviceEnv}
		if err := writeJSONAtomic(filepath.Join(dir, fileJob), jf); err != nil {
			return "", errs.Job("cannot write "+fileJob+" in "+dir, "check the folder's permissions", err)
		}
		var st stateFile
		st.transition(jobtype.StatusPreparing, "Starting", "Preparing the instances for training", now)
		if err := writeJSONAtomic(filepath.Join(dir, fileState), st); err != nil {
			return "", errs.Job("cannot write "+fileState+" in "+dir, "check the folder's permissions", err)
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, fileLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", errs.Job("cannot open the job log in "+dir, "check the folder's permissions", err)
	}
	defer logf.Close()
	cmd := exec.Command(jf.Executable, "local-run", dir)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), b.env...)
	// Its own session: the job survives the CLI command, and Stop can reach
	// the runner and its trainers as one process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", errs.Job("cannot start the local job runner "+jf.Executable, "check the sagetrain executable path", err)
	}
	_, ticks, err := procStat(cmd.Process.Pid)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", errs.Job("cannot read the runner's process record", "is /proc mounted?", err)
	}
	if err := writeJSONAtomic(filepath.Join(dir, filePid), pidFile{Pid: cmd.Process.Pid, StartTicks: ticks}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", errs.Job("cannot write "+filePid+" in "+dir, "check the folder's permissions", err)
	}
	// Reap the runner when it ends, should this process outlive it.
	go func() { _ = cmd.Wait() }()
	return arn, nil
}

// outputBase is the folder under which <name>/output/{model,output}.tar.gz go.
func (b *Backend) outputBase(in *sagemaker.CreateTrainingJobInput, name string) (string, error) {
	p := ""
	if in.OutputDataConfig != nil {
		p = aws.ToString(in.OutputDataConfig.S3OutputPath)
	}
	switch {
	case p == "" || strings.HasPrefix(p, "s3://"):
		// The local backend does not upload: artifacts stay in the job folder.
		return filepath.Join(b.JobDir(name), "artifacts"), nil
	case strings.HasPrefix(p, "file://"):
		p = strings.TrimPrefix(p, "file://")
	case strings.Contains(p, "://"):
		return "", errs.Configuration("output path "+p+" is not supported by the local backend", "use a local folder, a file:// URI or an s3:// URI", nil)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", errs.Configuration("output path "+p+" is not usable", "give an absolute folder", err)
	}
	return abs, nil
}

// channelSource returns a channel's name and its source (a local path or an
// s3:// URI).
func channelSource(ch sagemakerChannel) (name, src string, err error) {
	name = aws.ToString(ch.ChannelName)
	if ch.DataSource == nil || ch.DataSource.S3DataSource == nil {
		return "", "", errs.Configuration("channel "+name+" has no S3DataSource", "give the channel an S3 or file:// URI", nil)
	}
	u := aws.ToString(ch.DataSource.S3DataSource.S3Uri)
	switch {
	case strings.HasPrefix(u, "s3://"):
		return name, u, nil
	case strings.HasPrefix(u, "file://"):
		u = strings.TrimPrefix(u, "file://")
	case strings.Contains(u, "://"):
		return "", "", errs.Configuration("channel "+name+" URI "+u+" is not supported by the local backend", "use a local folder, a file:// URI or an s3:// URI", nil)
	}
	if !filepath.IsAbs(u) {
		return "", "", errs.Configuration("channel "+name+" path "+u+" is not absolute", "give an absolute path or a file:// URI", nil)
	}
	return name, filepath.Clean(u), nil
}

// Describe returns what is known of one job. A job whose runner is gone
// without an exit record is recorded (once) as failed, reason "interrupted",
// or stopped if a stop had been asked.
func (b *Backend) Describe(ctx context.Context, name string) (backend.Observation, error) {
	dir := b.JobDir(name)
	var jf jobFile
	if !namePattern.MatchString(name) {
		return backend.Observation{}, errs.NotFound("local training job " + name)
	}
	if err := readJSON(filepath.Join(dir, fileJob), &jf); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return backend.Observation{}, errs.NotFound("local training job " + name)
		}
		return backend.Observation{}, errs.Job("cannot read "+fileJob+" of local job "+name, "check "+dir, err)
	}
	st, err := b.settle(dir)
	if err != nil {
		return backend.Observation{}, err
	}
	return b.observation(dir, &jf, st), nil
}

// settle reads a job's state, turning a runner that vanished without an exit
// record into one.
func (b *Backend) settle(dir string) (*stateFile, error) {
	var pf pidFile
	pidErr := readJSON(filepath.Join(dir, filePid), &pf)
	alive := pidErr == nil && pf.alive()
	var st stateFile
	if err := readJSON(filepath.Join(dir, fileState), &st); err != nil {
		return nil, errs.Job("cannot read "+fileState+" in "+dir, "check the job folder", err)
	}
	if st.Final || alive {
		b.markStopping(dir, &st)
		return &st, nil
	}
	if pidErr != nil {
		// No runner yet: either Create is under way (it holds the lock) or
		// it crashed before starting one.
		unlock, err := lockFile(filepath.Join(dir, fileLock), false)
		if err != nil {
			b.markStopping(dir, &st)
			return &st, nil
		}
		defer unlock()
	}
	// The runner is gone. It writes its exit record before exiting, so read
	// the state again now that we know.
	if err := readJSON(filepath.Join(dir, fileState), &st); err != nil {
		return nil, errs.Job("cannot read "+fileState+" in "+dir, "check the job folder", err)
	}
	if st.Final {
		return &st, nil
	}
	now := time.Now().UTC()
	if _, err := os.Stat(filepath.Join(dir, fileStop)); err == nil {
		b.markStopping(dir, &st)
		if n := len(st.Transitions); n > 0 && st.Transitions[n-1].StartTime.After(now) {
			now = st.Transitions[n-1].StartTime
		}
		st.finish(jobtype.StatusStopped, "Stopped", "Training job stopped", "", now)
	} else {
		st.finish(jobtype.StatusFailed, "Failed", "The job's process ended without an exit record", "interrupted", now)
	}
	if err := writeJSONAtomic(filepath.Join(dir, fileState), st); err != nil {
		return nil, errs.Job("cannot write "+fileState+" in "+dir, "check the folder's permissions", err)
	}
	return &st, nil
}

// markStopping shows a live job as stopping once a stop was asked, even
// before the runner noticed.
func (b *Backend) markStopping(dir string, st *stateFile) {
	if st.Final || st.Status == jobtype.StatusStopping {
		return
	}
	fi, err := os.Stat(filepath.Join(dir, fileStop))
	if err != nil {
		return
	}
	st.Status, st.SecondaryStatus, st.Message = jobtype.StatusStopping, "Stopping", "Stopping the training job"
	// The history shows the stop too, where it happened, so a reconciler
	// that recorded "stopping" when it asked finds it there and never
	// replays earlier steps after it.
	if n := len(st.Transitions); n == 0 || st.Transitions[n-1].Status != "Stopping" {
		at := fi.ModTime().UTC()
		if n > 0 {
			if st.Transitions[n-1].StartTime.After(at) {
				at = st.Transitions[n-1].StartTime
			}
			if st.Transitions[n-1].EndTime == nil {
				end := at
				st.Transitions[n-1].EndTime = &end
			}
		}
		st.Transitions = append(st.Transitions, backend.Transition{Status: "Stopping", StartTime: at, StatusMessage: st.Message})
	}
}

func (b *Backend) observation(dir string, jf *jobFile, st *stateFile) backend.Observation {
	obs := backend.Observation{
		RemoteName:      jf.Name,
		ARN:             jf.ARN,
		Status:          st.Status,
		SecondaryStatus: st.SecondaryStatus,
		Message:         st.Message,
		FailureReason:   st.FailureReason,
		LastModified:    st.LastModified,
		StartedAt:       st.StartedAt,
		EndedAt:         st.EndedAt,
		Transitions:     append([]backend.Transition(nil), st.Transitions...),
		ModelArtifacts:  st.ModelArtifacts,
		OutputArtifacts: st.OutputArtifacts,
	}
	if st.StartedAt != nil {
		end := time.Now()
		if st.EndedAt != nil {
			end = *st.EndedAt
		}
		n := int64(1)
		if jf.Request != nil && jf.Request.ResourceConfig != nil && aws.ToInt32(jf.Request.ResourceConfig.InstanceCount) > 1 {
			n = int64(aws.ToInt32(jf.Request.ResourceConfig.InstanceCount))
		}
		// Like SageMaker: training time times instances, at least one second.
		secs := int64(end.Sub(*st.StartedAt).Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		obs.BillableSeconds = secs * n
	}
	if st.Final && jf.Request != nil && len(jf.Request.AlgorithmSpecification.MetricDefinitions) > 0 {
		obs.FinalMetrics = finalMetrics(filepath.Join(dir, fileLog), jf.Request)
	}
	return obs
}

// finalMetrics scans the log with the job's metric definitions; the last
// match of each wins, as in SageMaker's FinalMetricDataList.
func finalMetrics(logPath string, in *sagemaker.CreateTrainingJobInput) map[string]float64 {
	type def struct {
		name string
		re   *regexp.Regexp
	}
	var defs []def
	for _, md := range in.AlgorithmSpecification.MetricDefinitions {
		re, err := regexp.Compile(aws.ToString(md.Regex))
		if err != nil || re.NumSubexp() < 1 {
			continue
		}
		defs = append(defs, def{aws.ToString(md.Name), re})
	}
	f, err := os.Open(logPath)
	if err != nil || len(defs) == 0 {
		return nil
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		for _, d := range defs {
			if m := d.re.FindStringSubmatch(line); m != nil {
				if v, err := strconv.ParseFloat(strings.TrimSpace(m[1]), 64); err == nil {
					out[d.name] = v
				}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Refresh describes each named job; unknown names are left out. A job
// whose files cannot be read does not hold the others back: it alone is
// shown as last seen (or left out, if never seen), and fails with the
// reason once it has stayed unreadable for StateFaultGrace.
func (b *Backend) Refresh(ctx context.Context, names []string) (map[string]backend.Observation, error) {
	out := make(map[string]backend.Observation, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		obs, err := b.Describe(ctx, n)
		if errors.Is(err, errs.ErrNotFound) {
			continue
		}
		if err != nil {
			if o, ok := b.faults.observe(n, err, time.Now()); ok {
				out[n] = o
			}
			continue
		}
		b.faults.ok(n, obs)
		out[n] = obs
	}
	return out, nil
}

// Stop asks a job to stop: it records the request (so a runner that has not
// started training yet stops before it does), sends the runner SIGTERM (it
// passes it on to the trainers and SIGKILLs them after the grace period),
// and, if the runner itself is still there well after the grace period,
// SIGKILLs the whole process group. It returns at once; Describe shows
// "stopping" until the job has stopped. Stopping an ended job does nothing.
func (b *Backend) Stop(ctx context.Context, name string) error {
	dir := b.JobDir(name)
	var jf jobFile
	if !namePattern.MatchString(name) {
		return errs.NotFound("local training job " + name)
	}
	if err := readJSON(filepath.Join(dir, fileJob), &jf); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errs.NotFound("local training job " + name)
		}
		return errs.Job("cannot read "+fileJob+" of local job "+name, "check "+dir, err)
	}
	var st stateFile
	if err := readJSON(filepath.Join(dir, fileState), &st); err == nil && st.Final {
		return nil
	}
	stopPath := filepath.Join(dir, fileStop)
	asked := time.Now()
	if fi, err := os.Stat(stopPath); err == nil {
		asked = fi.ModTime()
	} else if err := os.WriteFile(stopPath, []byte(asked.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		return errs.Job("cannot record the stop request in "+dir, "check the folder's permissions", err)
	}
	var pf pidFile
	if err := readJSON(filepath.Join(dir, filePid), &pf); err != nil {
		return nil // no runner yet: it sees the stop file when it starts
	}
	if time.Since(asked) > jf.StopGrace+10*time.Second {
		return pf.signalGroup(syscall.SIGKILL)
	}
	return pf.signal(syscall.SIGTERM)
}

// Logs copies the job's log to w; with follow it keeps copying until the job
// has ended and its log is drained, or ctx ends.
func (b *Backend) Logs(ctx context.Context, name string, follow bool, w io.Writer) error {
	dir := b.JobDir(name)
	if _, err := os.Stat(filepath.Join(dir, fileJob)); err != nil || !namePattern.MatchString(name) {
		return errs.NotFound("local training job " + name)
	}
	f, err := os.Open(filepath.Join(dir, fileLog))
	if errors.Is(err, fs.ErrNotExist) && follow {
		// The runner creates the log; wait for it.
		for errors.Is(err, fs.ErrNotExist) {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			f, err = os.Open(filepath.Join(dir, fileLog))
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errs.Job("cannot open the log of local job "+name, "check "+dir, err)
	}
	defer f.Close()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		st, err := b.settle(dir)
		if err != nil {
			return err
		}
		if st.Final {
			_, err := io.Copy(w, f) // what was written before the exit record
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// FetchArtifacts copies the job's model.tar.gz and output.tar.gz into dir.
func (b *Backend) FetchArtifacts(ctx context.Context, obs backend.Observation, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errs.Job("cannot create the artifacts folder "+dir, "check its permissions", err)
	}
	for _, a := range []struct{ uri, name string }{{obs.ModelArtifacts, container.ModelArchive}, {obs.OutputArtifacts, container.OutputArchive}} {
		if a.uri == "" {
			continue
		}
		src := strings.TrimPrefix(a.uri, "file://")
		if err := copyFile(src, filepath.Join(dir, a.name)); err != nil {
			return errs.Job("cannot copy "+a.uri+" of job "+obs.RemoteName, "check that the job's output folder still exists", err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o600, func(f *os.File) error {
		_, err := io.Copy(f, in)
		return err
	})
}

// lockFile takes an flock on path; with wait false it fails at once when
// another holder has it.
func lockFile(path string, wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
