package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// hostileModel is a model.tar.gz whose plot is a hard link to a symlink
// that leads out of the artifact folder (a -> ".", b -> "a/..").
func hostileModel(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Name: "metrics.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
		{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "."},
		{Name: "b", Typeflag: tar.TypeSymlink, Linkname: "a/.."},
		{Name: "plots/loss_5.png", Typeflag: tar.TypeLink, Linkname: "b"},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("{}"))
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// A real local job completes; its model.tar.gz is then swapped for a
// hostile one before the real reconciler collects it. The job fails with
// the archive refused, no link out is left, and the plot route serves
// nothing.
func TestHostileArchiveThroughTheReconcilerAndThePlotRoute(t *testing.T) {
	buildSagetrain(t)
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lb, err := local.New(local.Options{Root: filepath.Join(dir, "local"), Executable: sagetrainBin, StopGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	artRoot := filepath.Join(dir, "artifacts")
	svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, ArtifactRoot: artRoot})
	ts := httptest.NewServer(New(Options{Jobs: FromJobs(svc), Store: st, Tokens: []string{testToken}, DataRoots: []string{sampleDir}}))
	t.Cleanup(ts.Close)
	h := &harness{t: t, ts: ts}
	var j JobView
	h.json("POST", Prefix+"/jobs", fmt.Sprintf(`{"job_name":"hostile","dataset_folder":%q,"hyperparameters":{"epochs":"2","min_samples":"15","hidden_sizes":"32,16"}}`,
		filepath.Join(sampleDir, "training")), 201, &j)
	var obs backend.Observation
	for deadline := time.Now().Add(150 * time.Second); ; {
		obs, err = lb.Describe(ctx, j.RemoteName)
		if err == nil && obs.Status.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not done: %+v %v", obs, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if obs.Status != store.StatusCompleted {
		t.Fatalf("the real job ended %s: %s", obs.Status, obs.FailureReason)
	}
	if err := os.WriteFile(strings.TrimPrefix(obs.ModelArtifacts, "file://"), hostileModel(t), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = svc.ReconcileOnce(ctx)
	got, err := svc.Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusFailed || !strings.Contains(got.FailureReason, "refus") {
		t.Fatalf("job %s: %q / %q", got.Status, got.FailureReason, got.StatusMessage)
	}
	_ = filepath.WalkDir(artRoot, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSymlink != 0 {
			if real, err := filepath.EvalSymlinks(p); err != nil || !strings.HasPrefix(real, artRoot+"/") {
				t.Errorf("link %s -> %s left in the artifact root", p, real)
			}
		}
		return nil
	})
	code, b, _ := h.do("GET", Prefix+"/jobs/"+j.ID+"/plots/loss_5.png", testToken, nil)
	if code == 200 {
		t.Fatalf("the plot route served %d bytes of a hostile archive", len(b))
	}
}
