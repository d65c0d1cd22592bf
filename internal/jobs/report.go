package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer"
)

// Report is a completed job's training report. Its numbers are the
// trainer's own metrics.json, as written; nothing is computed here.
type Report struct {
	JobID      string       `json:"job_id"`
	JobName    string       `json:"job_name"`
	RemoteName string       `json:"remote_name"`
	Backend    string       `json:"backend"`
	Status     store.Status `json:"status"`
	// Metrics is the trainer's metrics.json as is (age groups, thresholds,
	// test ROC AUC, ...); nil if the trainer wrote none.
	Metrics map[string]any `json:"metrics"`
	// FinalMetrics are the backend's last values of the metric definitions.
	FinalMetrics map[string]float64 `json:"final_metrics,omitempty"`

	ArtifactDir       string   `json:"artifact_dir"` // holds model/ and output/
	ModelDir          string   `json:"model_dir"`    // model.tar.gz unpacked
	OutputDir         string   `json:"output_dir"`   // output.tar.gz unpacked
	ModelArtifactURI  string   `json:"model_artifact_uri"`
	OutputArtifactURI string   `json:"output_artifact_uri,omitempty"`
	Plots             []string `json:"plots"` // image files among the artifacts
	Files             []string `json:"files"` // every unpacked file, relative to ArtifactDir

	StartedAt       *time.Time `json:"started_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	TrainingSeconds float64    `json:"training_seconds,omitempty"`
	BillableSeconds int64      `json:"billable_seconds"`
	Notes           []string   `json:"notes,omitempty"`
	// Provenance: image digest, data digest, trainer build, hyperparameters
	// as parsed, seed; the same values as model.json's.
	Provenance *provenance.Provenance `json:"provenance,omitempty"`
	// CPUSeconds is the trainer's CPU time (output/usage.json), when it wrote it.
	CPUSeconds *float64  `json:"cpu_seconds,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// Partial: the job stopped or failed before its end; the report holds
	// only the age groups it finished (partialreport.go).
	Partial          bool                   `json:"partial,omitempty"`
	PartialReason    string                 `json:"partial_reason,omitempty"`
	GroupsFinished   []trainer.PartialGroup `json:"groups_finished,omitempty"`
	GroupsNotTrained []string               `json:"groups_not_trained,omitempty"`
}

// Report returns a completed job's report; errs.ErrConflict while the job
// has not completed (or ended otherwise).
func (s *Service) Report(ctx context.Context, id string) (*Report, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	// A stopped or failed job may have a partial report (partialreport.go).
	if !j.Status.Terminal() || len(j.Report) == 0 {
		fix := "wait for it to complete ('sagetrain status --watch " + j.ID + "')"
		if j.Status.Terminal() {
			fix = "only completed jobs, and stopped or failed ones that finished an age group, have a report; see 'sagetrain status " + j.ID + "' and its logs"
		}
		return nil, errs.Conflict(fmt.Sprintf("job %s has no report: it is %s", j.ID, j.Status), fix, nil)
	}
	var r Report
	if err := json.Unmarshal(j.Report, &r); err != nil {
		return nil, errs.Job("the stored report of job "+j.ID+" is unreadable", "report this as a bug", err)
	}
	r.Status = j.Status
	return &r, nil
}

// collected is the result of fetching a completed job's artifacts.
type collected struct {
	raw json.RawMessage
	dir string
}

// collect fetches the job's artifacts into ArtifactRoot/<job id>/, unpacks
// them safely (model/, output/) and builds the report from the trainer's
// metrics.json. The folder appears complete or not at all.
func (s *Service) collect(ctx context.Context, be backend.Backend, j *store.Job, o backend.Observation) (*collected, error) {
	if o.ModelArtifacts == "" {
		return nil, errs.Job("the backend reports job "+j.RemoteName+" completed without a model artifact", "check the job's logs", nil)
	}
	dir := filepath.Join(s.artRoot, j.ID)
	tmp := dir + ".partial-" + randomHex(4)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, errs.Job("cannot create "+tmp, "check the artifact root's permissions", err)
	}
	defer os.RemoveAll(tmp)
	defer lockPartial(tmp)() // released before the removal above
	dl := filepath.Join(tmp, "download")
	if err := be.FetchArtifacts(ctx, o, dl); err != nil {
		return nil, err
	}
	r := &Report{
		JobID: j.ID, JobName: j.Name, RemoteName: j.RemoteName, Backend: j.Backend, Status: store.StatusCompleted,
		FinalMetrics: o.FinalMetrics, ArtifactDir: dir,
		ModelDir: filepath.Join(dir, "model"), OutputDir: filepath.Join(dir, "output"),
		ModelArtifactURI: o.ModelArtifacts, OutputArtifactURI: o.OutputArtifacts,
		StartedAt: o.StartedAt, EndedAt: o.EndedAt, BillableSeconds: o.BillableSeconds, CreatedAt: store.Now(),
	}
	if o.StartedAt != nil && o.EndedAt != nil {
		r.TrainingSeconds = o.EndedAt.Sub(*o.StartedAt).Seconds()
	}
	for _, a := range []struct{ archive, into string }{{"model.tar.gz", "model"}, {"output.tar.gz", "output"}} {
		p := filepath.Join(dl, a.archive)
		if _, err := os.Stat(p); err != nil {
			if a.archive == "model.tar.gz" {
				return nil, errs.Job("the backend gave no model.tar.gz for job "+j.RemoteName+" (looked for "+o.ModelArtifacts+")", "check the job's output location", nil)
			}
			r.Notes = append(r.Notes, "no output.tar.gz: the job wrote no output data")
			continue
		}
		if err := artifacts.ExtractTarGz(p, filepath.Join(tmp, a.into), artifacts.Limits{}); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(dl); err != nil {
		return nil, errs.Job("cannot clean "+dl, "check the artifact root's permissions", err)
	}
	m, where, err := readMetrics(tmp)
	if err != nil {
		return nil, err
	}
	if m == nil {
		r.Notes = append(r.Notes, "the trainer wrote no metrics.json")
	} else {
		r.Metrics = m
		r.Notes = append(r.Notes, "metrics from "+where)
	}
	_ = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tmp, p)
		r.Files = append(r.Files, rel)
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".svg", ".jpg", ".jpeg", ".pdf":
			r.Plots = append(r.Plots, filepath.Join(dir, rel))
		}
		return nil
	})
	r.CPUSeconds = readCPUSeconds(tmp)
	pv, note := s.reportProvenance(ctx, j, tmp)
	r.Provenance = pv
	if note != "" {
		r.Notes = append(r.Notes, note)
	}
	sort.Strings(r.Files)
	sort.Strings(r.Plots)
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, errs.Job("cannot encode the report of job "+j.ID, "report this as a bug", err)
	}
	// A previous attempt may have got this far and crashed before recording.
	if err := os.RemoveAll(dir); err != nil {
		return nil, errs.Job("cannot replace "+dir, "check the artifact root's permissions", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, errs.Job("cannot move the artifacts into "+dir, "check the artifact root's permissions", err)
	}
	return &collected{raw: raw, dir: dir}, nil
}

// readMetrics reads the trainer's metrics.json from the model (where the
// trainer writes it) or the output data.
func readMetrics(dir string) (map[string]any, string, error) {
	for _, rel := range []string{"model/metrics.json", "output/metrics.json"} {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", errs.Job("cannot read "+rel, "check the artifacts", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, "", errs.Job("the trainer's "+rel+" is not a JSON object", "check the trainer's output", err)
		}
		return m, rel, nil
	}
	return nil, "", nil
}

// readCPUSeconds reads the trainer's output/usage.json (nil when absent).
func readCPUSeconds(dir string) *float64 {
	b, err := os.ReadFile(filepath.Join(dir, "output", "usage.json"))
	if err != nil {
		return nil
	}
	var u struct {
		CPUSeconds *float64 `json:"cpu_seconds"`
	}
	if json.Unmarshal(b, &u) != nil {
		return nil
	}
	return u.CPUSeconds
}
