package backendtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// Backend is what the contract checks: what the job service calls, and
// Describe, which the service does not call but every backend has (its
// Refresh rests on it) and which must tell an unknown job.
type Backend interface {
	backend.Backend
	// Describe returns one job's observation; errs.ErrNotFound if the
	// backend has never heard of it.
	Describe(ctx context.Context, name string) (backend.Observation, error)
}

// Harness is one backend under test and how to give it work.
type Harness struct {
	Backend Backend

	// Request returns the request of a job named name (a fresh name each
	// call) that completes quickly and writes a model and output data.
	Request func(t *testing.T, name string) *sagemaker.CreateTrainingJobInput

	// Name returns a job name never used before on this backend.
	Name func(t *testing.T) string

	// LogEnd is a piece of text the job's log holds only once the trainer
	// is done (its last line).
	LogEnd string

	// Within is how long a job may take to complete (default 2 minutes).
	Within time.Duration
}

// Run checks h.Backend against the backend.Backend contract with one job
// from creation to its artifacts.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Within == 0 {
		h.Within = 2 * time.Minute
	}
	ctx := context.Background()
	b := h.Backend
	name := h.Name(t)
	in := h.Request(t, name)

	arn, err := b.Create(ctx, in)
	if err != nil || arn == "" {
		t.Fatalf("Create %s: arn %q, %v", name, arn, err)
	}

	// Logs follow from the start and return by themselves when the job ends.
	var (
		logs    bytes.Buffer
		logErr  error
		logDone = make(chan struct{})
		logMu   sync.Mutex
	)
	go func() {
		defer close(logDone)
		var w lockedWriter
		w.mu, w.buf = &logMu, &logs
		lctx, cancel := context.WithTimeout(ctx, h.Within+time.Minute)
		defer cancel()
		logErr = b.Logs(lctx, name, true, w)
	}()

	t.Run("CreateTwiceConflictsWithTheSameARN", func(t *testing.T) {
		again, err := b.Create(ctx, h.Request(t, name))
		if !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("second Create of %s: %v, want errs.ErrConflict", name, err)
		}
		if again != arn {
			t.Fatalf("second Create of %s returned ARN %q, want the first one's %q", name, again, arn)
		}
	})

	unknown := h.Name(t)
	t.Run("DescribeUnknownIsNotFound", func(t *testing.T) {
		if _, err := b.Describe(ctx, unknown); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("Describe of a name never created: %v, want errs.ErrNotFound", err)
		}
	})

	t.Run("RefreshLeavesUnknownNamesOut", func(t *testing.T) {
		got, err := b.Refresh(ctx, []string{name, unknown})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got[unknown]; ok {
			t.Fatalf("Refresh returned an observation for %s, which was never created", unknown)
		}
		if o, ok := got[name]; !ok || o.RemoteName != name || o.ARN != arn {
			t.Fatalf("Refresh of a live job: %+v (present %v), want %s with ARN %s", o, ok, name, arn)
		}
	})

	obs := waitEnded(t, b, name, h.Within)
	if obs.Status != jobtype.StatusCompleted {
		t.Fatalf("job %s ended %s (%s), want completed", name, obs.Status, obs.FailureReason)
	}
	for i, tr := range obs.Transitions {
		if !tr.JobStatus.Valid() {
			t.Errorf("transition %d (%s) has no valid status: %q", i, tr.Status, tr.JobStatus)
		}
	}

	t.Run("StopOnAnEndedJobIsNotAnError", func(t *testing.T) {
		if err := b.Stop(ctx, name); err != nil {
			t.Fatalf("Stop of completed %s: %v", name, err)
		}
		if o, err := b.Describe(ctx, name); err != nil || o.Status != jobtype.StatusCompleted {
			t.Fatalf("after Stop the completed job is %s (%v)", o.Status, err)
		}
	})

	t.Run("LogsFollowToTheEnd", func(t *testing.T) {
		select {
		case <-logDone:
		case <-time.After(time.Minute):
			t.Fatal("Logs with follow did not return within a minute of the job's end")
		}
		logMu.Lock()
		got := logs.String()
		logMu.Unlock()
		if logErr != nil || !strings.Contains(got, h.LogEnd) {
			t.Fatalf("followed log (%v) lacks its end %q:\n%s", logErr, h.LogEnd, tail(got))
		}
		var again bytes.Buffer // without follow: the whole log, at once
		if err := b.Logs(ctx, name, false, &again); err != nil || !strings.Contains(again.String(), h.LogEnd) {
			t.Fatalf("log of the ended job (%v) lacks %q:\n%s", err, h.LogEnd, tail(again.String()))
		}
	})

	t.Run("ArtifactsAreFetchedAsTheObservationSays", func(t *testing.T) {
		if obs.ModelArtifacts == "" || obs.OutputArtifacts == "" {
			t.Fatalf("a completed job's observation names model %q and output %q, want both", obs.ModelArtifacts, obs.OutputArtifacts)
		}
		dir := t.TempDir()
		if err := b.FetchArtifacts(ctx, obs, dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{container.ModelArchive, container.OutputArchive} {
			checkGzip(t, filepath.Join(dir, f))
		}
		// an observation without a model (a failed job's) fetches only the output
		noModel := obs
		noModel.ModelArtifacts = ""
		dir = t.TempDir()
		if err := b.FetchArtifacts(ctx, noModel, dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, container.ModelArchive)); !os.IsNotExist(err) {
			t.Fatalf("the observation named no model, yet %s was fetched (%v)", container.ModelArchive, err)
		}
		checkGzip(t, filepath.Join(dir, container.OutputArchive))
	})
}

// waitEnded describes name until it is terminal.
func waitEnded(t *testing.T, b Backend, name string, within time.Duration) backend.Observation {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		o, err := b.Describe(context.Background(), name)
		if err != nil {
			t.Fatalf("Describe %s: %v", name, err)
		}
		if o.Status.Terminal() {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s/%s after %s", name, o.Status, o.SecondaryStatus, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkGzip(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatalf("artifact not fetched: %v", err)
	}
	defer f.Close()
	if _, err := gzip.NewReader(f); err != nil {
		t.Fatalf("%s is not gzip: %v", p, err)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// lockedWriter lets the test read the log while Logs writes it.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
