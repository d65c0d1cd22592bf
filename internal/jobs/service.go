package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// Defaults of Options.
const (
	DefaultLeaseTTL     = 60 * time.Second
	DefaultPollInterval = 5 * time.Second
	DefaultArtifactWait = 30 * time.Minute
	// claimLimit bounds the jobs one reconcile round takes on.
	claimLimit = 500
	// updateAttempts bounds the re-read-and-retry loop on update conflicts.
	updateAttempts = 20
)

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Backends     map[string]backend.Backend // "local", "sagemaker"
	Owner        string                     // this process's reconciler identity (default hostname:pid:random)
	LeaseTTL     time.Duration              // how long a claimed job stays ours (default 60 s)
	PollInterval time.Duration              // time between reconcile rounds in Run (default 5 s)
	ArtifactRoot string                     // where completed jobs' artifacts are unpacked (default DataDir/artifacts)
	// Uploader uploads a local data set for a SageMaker job and returns its
	// s3:// URI; nil means such jobs are refused with advice to upload first.
	Uploader func(ctx context.Context, localDir, metadataFile string, s3Prefix string) (string, error)
	// ArtifactWait bounds how long after training ended a job's artifacts
	// are retried before the job fails for them (default 30 min).
	ArtifactWait time.Duration
	// Precheck checks a SageMaker job's S3 input, role and image before it
	// is recorded; nil checks nothing.
	Precheck Prechecker
	// ResolveImage pins an image tag to repo@sha256:... (image.ResolveDigest);
	// nil leaves tags as given. DataDigest reads an uploaded data set's
	// manifest digest (provenance.Digest of its manifest.json); nil leaves it
	// to the trainer.
	ResolveImage func(ctx context.Context, ref string) (string, error)
	DataDigest   func(ctx context.Context, s3URI string) (digest string, files int, err error)
}

// Service runs jobs on its backends and keeps their records in a store. It
// is safe for concurrent use.
type Service struct {
	st       store.Store
	backends map[string]backend.Backend
	owner    string
	ttl      time.Duration
	poll     time.Duration
	artRoot  string
	uploader func(ctx context.Context, localDir, metadataFile string, s3Prefix string) (string, error)
	precheck Prechecker
	// artifactWait bounds the artifact retries after training ended.
	artifactWait time.Duration

	resolveImage func(ctx context.Context, ref string) (string, error)
	dataDigest   func(ctx context.Context, s3URI string) (string, int, error)

	// launching holds the ids this process is creating on a backend right
	// now, so its own reconciler (which may hold the same lease) leaves them be.
	launching sync.Map
}

// New returns a Service on st.
func New(st store.Store, opts Options) *Service {
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), randomHex(4))
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.ArtifactRoot == "" {
		opts.ArtifactRoot = filepath.Join(local.DataDir(), "artifacts")
	}
	if abs, err := filepath.Abs(opts.ArtifactRoot); err == nil {
		opts.ArtifactRoot = abs
	}
	if opts.ArtifactWait <= 0 {
		opts.ArtifactWait = DefaultArtifactWait
	}
	bs := make(map[string]backend.Backend, len(opts.Backends))
	for k, v := range opts.Backends {
		bs[k] = v
	}
	return &Service{st: st, backends: bs, owner: opts.Owner, ttl: opts.LeaseTTL, poll: opts.PollInterval,
		artRoot: opts.ArtifactRoot, uploader: opts.Uploader, precheck: opts.Precheck, artifactWait: opts.ArtifactWait,
		resolveImage: opts.ResolveImage, dataDigest: opts.DataDigest}
}

// Owner is this service's reconciler identity.
func (s *Service) Owner() string { return s.owner }

// Store is the service's store.
func (s *Service) Store() store.Store { return s.st }

// ArtifactRoot is where completed jobs' artifacts are unpacked.
func (s *Service) ArtifactRoot() string { return s.artRoot }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SubmitOptions tune Submit.
type SubmitOptions struct {
	// IdempotencyKey makes Submit return the job first submitted with the
	// same key instead of starting another one.
	IdempotencyKey string
	// Warn receives the checks that could not be made (they do not block).
	Warn func(msg string)
	// RequireDigest refuses an image_uri given by tag.
	RequireDigest bool
}

// Submit validates sp (after defaults), records the job as pending, then
// asks the backend to create it. With an idempotency key already used it
// returns that first job and created=false. If the backend cannot be asked
// now for a passing reason, the job stays pending and the reconciler retries;
// if the request itself is wrong, the job is recorded failed with the reason.
func (s *Service) Submit(ctx context.Context, sp *spec.Spec, o SubmitOptions) (*store.Job, bool, error) {
	if sp == nil {
		return nil, false, errs.Configuration("no job spec", "pass a spec file to submit", nil)
	}
	sp.ApplyDefaults()
	if err := ValidateSpec(sp); err != nil {
		return nil, false, err
	}
	if _, ok := s.backends[sp.Backend]; !ok {
		return nil, false, errs.Configuration(fmt.Sprintf("backend %q is not available in this process", sp.Backend),
			"use backend local, or configure AWS for sagemaker", nil)
	}
	if err := checkLocalData(sp); err != nil {
		return nil, false, err
	}
	if s.precheck != nil && sp.Backend == spec.BackendSageMaker {
		problems, warnings := s.precheck(ctx, sp)
		for _, w := range warnings {
			if o.Warn != nil {
				o.Warn(w)
			}
		}
		if len(problems) > 0 {
			return nil, false, &spec.ValidationError{Violations: problems}
		}
	}
	if sp.Backend != spec.BackendLocal && s.uploader == nil && (sp.DatasetFolder != "" || hasLocalChannel(sp)) {
		return nil, false, errs.Configuration("a "+sp.Backend+" job needs its data in S3, and this process cannot upload local folders",
			"run 'sagetrain upload' and set input_data_s3_uri (and s3:// channels)", nil)
	}
	givenImage, err := s.pinImage(ctx, sp, o)
	if err != nil {
		return nil, false, err
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, false, errs.Configuration("cannot encode the job spec", "check the spec", err)
	}
	now := store.Now()
	job := &store.Job{
		ID:             store.NewID(),
		Name:           sp.JobName,
		RemoteName:     spec.RemoteName(sp.JobName, spec.NewSuffix()),
		Backend:        sp.Backend,
		IdempotencyKey: o.IdempotencyKey,
		Spec:           raw,
		Status:         store.StatusPending,
		StatusMessage:  "submitted; waiting for the " + sp.Backend + " backend",
		// Leased to us from the start: no other reconciler creates it while we do.
		LeaseOwner:   s.owner,
		LeaseExpires: now.Add(s.ttl),
	}
	s.launching.Store(job.ID, true)
	defer s.launching.Delete(job.ID)
	got, created, err := s.st.Create(ctx, job)
	if err != nil {
		return nil, false, err
	}
	if !created {
		return got, false, nil
	}
	if givenImage != sp.ImageURI {
		if ps, ok := s.st.(store.ProvenanceStore); ok {
			raw, _ := json.Marshal(map[string]string{"image": givenImage, "image_digest": sp.ImageURI})
			_ = ps.SetProvenance(ctx, got.ID, raw)
		}
	}
	got, err = s.launch(ctx, got)
	if got != nil {
		_ = s.st.Release(context.WithoutCancel(ctx), got.ID, s.owner)
	}
	return got, true, err
}

// checkLocalData refuses a spec whose local data is missing before a row is
// written: a typo in a path is the user's to fix now.
func checkLocalData(sp *spec.Spec) error {
	if sp.DatasetFolder != "" {
		if st, err := os.Stat(sp.DatasetFolder); err != nil || !st.IsDir() {
			return errs.Configuration("dataset_folder "+sp.DatasetFolder+" is not a folder", "give the folder holding the drawings and "+sp.MetadataFile, err)
		}
		if _, err := os.Stat(metadataPath(sp)); err != nil {
			return errs.Configuration("metadata_file "+metadataPath(sp)+" does not exist", "give the CSV file describing the drawings", err)
		}
	}
	for name, p := range sp.Channels {
		if isRemote(p) {
			continue
		}
		if _, err := os.Stat(trimFile(p)); err != nil {
			return errs.Configuration("channels."+name+" folder "+p+" does not exist", "give an existing folder or an s3:// URI", err)
		}
	}
	return nil
}

func hasLocalChannel(sp *spec.Spec) bool {
	for _, p := range sp.Channels {
		if !isRemote(p) {
			return true
		}
	}
	return false
}

// Get returns a job by id, remote name, or job_name when one job has it.
func (s *Service) Get(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.st.Get(ctx, id)
	if err == nil || !errors.Is(err, errs.ErrNotFound) {
		return j, err
	}
	return s.byJobName(ctx, id, err)
}

// Events returns a job's status history, oldest first.
func (s *Service) Events(ctx context.Context, id string) ([]store.Event, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.st.Events(ctx, j.ID)
}

// List returns jobs newest first and the next page's cursor.
func (s *Service) List(ctx context.Context, f store.ListFilter) ([]*store.Job, string, error) {
	return s.st.List(ctx, f)
}

// Cancel asks for a live job to be stopped. It records the request (so it
// survives restarts; the reconciler repeats it until the backend confirms),
// asks the backend at once, and returns the job, now stopping. A job that
// never reached the backend is stopped right away. errs.ErrConflict if the
// job has already ended.
func (s *Service) Cancel(ctx context.Context, id string) (*store.Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	j, err = s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		if cur.Status.Terminal() {
			return nil, errs.Conflict(fmt.Sprintf("job %s has already ended (%s)", cur.ID, cur.Status),
				"only pending, preparing and running jobs can be cancelled", nil)
		}
		if cur.CancelRequested {
			return nil, errUnchanged
		}
		cur.CancelRequested = true
		now := store.Now()
		if cur.RemoteARN == "" && cur.Status == store.StatusPending {
			// The reconciler stops it on the backend too, should a crashed
			// Create have reached it.
			cur.StatusMessage = "cancel requested before the backend started it"
		} else {
			cur.Status = store.StatusStopping
			cur.StatusMessage = "cancel requested"
		}
		return []store.Event{{At: now, Status: cur.Status, SecondaryStatus: cur.SecondaryStatus, Message: "cancel requested"}}, nil
	})
	if err != nil {
		return nil, err
	}
	if be, ok := s.backends[j.Backend]; ok && j.RemoteARN != "" {
		// Stop is idempotent; should this attempt fail, the reconciler
		// repeats it. The refusal is recorded so that it is seen.
		if err := be.Stop(ctx, j.RemoteName); err != nil && !errors.Is(err, errs.ErrNotFound) {
			if got, merr := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
				if cur.Status.Terminal() {
					return nil, errUnchanged
				}
				cur.StatusMessage = StopRefused + oneLine(err)
				return []store.Event{{At: store.Now(), Status: cur.Status, SecondaryStatus: cur.SecondaryStatus, Message: cur.StatusMessage}}, nil
			}); merr == nil {
				j = got
			}
		}
	}
	return j, nil
}

// Logs writes the job's log to w; with follow, until the job ends or ctx does.
func (s *Service) Logs(ctx context.Context, id string, follow bool, w io.Writer) error {
	j, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	be, ok := s.backends[j.Backend]
	if !ok {
		return errs.Configuration(fmt.Sprintf("backend %q of job %s is not available in this process", j.Backend, j.ID), "configure AWS for sagemaker jobs", nil)
	}
	if j.RemoteARN == "" {
		if !follow {
			return errs.Job("job "+j.ID+" has not started on the backend yet, so it has no log", "try again in a moment, or use --follow", nil)
		}
		for j.RemoteARN == "" {
			if j.Status.Terminal() {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
			if j, err = s.st.Get(ctx, j.ID); err != nil {
				return err
			}
		}
	}
	return be.Logs(ctx, j.RemoteName, follow, w)
}

// errUnchanged tells modify there is nothing to write.
var errUnchanged = errors.New("unchanged")

// modify re-reads the job, applies fn and writes it, retrying on update
// conflicts so no change is lost. fn returning errUnchanged skips the write.
func (s *Service) modify(ctx context.Context, id string, fn func(cur *store.Job) ([]store.Event, error)) (*store.Job, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.st.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		events, err := fn(cur)
		if errors.Is(err, errUnchanged) {
			return cur, nil
		}
		if err != nil {
			return cur, err
		}
		err = s.st.Update(ctx, cur, events...)
		if err == nil {
			return cur, nil
		}
		if !errors.Is(err, errs.ErrConflict) || attempt >= updateAttempts {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

// jobSpec decodes the spec stored with a job.
func jobSpec(j *store.Job) (*spec.Spec, error) {
	var sp spec.Spec
	if err := json.Unmarshal(j.Spec, &sp); err != nil {
		return nil, errs.Job("the stored spec of job "+j.ID+" is unreadable", "submit the job again", err)
	}
	return &sp, nil
}
