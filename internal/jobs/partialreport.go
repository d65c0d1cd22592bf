package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/sagetrain/sagetrain/internal/artifacts"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer"
)

// wantsPartial reports whether a job that ended without completing may
// have left the groups it finished: stopped or failed with output data.
func wantsPartial(j *store.Job, o backend.Observation) bool {
	return (o.Status == store.StatusStopped || o.Status == store.StatusFailed) &&
		len(j.Report) == 0 && o.OutputArtifacts != ""
}

// collectPartial fetches what a stopped or failed job left (its output
// data, and its model archive when there is one) into ArtifactRoot/<job
// id>/ and builds a report marked partial from the trainer's
// output/data/partial.json. It returns nil (no report) when the trainer
// wrote none or finished no group: a partial report is best effort and
// never holds up recording the job's end.
func (s *Service) collectPartial(ctx context.Context, be backend.Backend, j *store.Job, o backend.Observation) *collected {
	dir := filepath.Join(s.artRoot, j.ID)
	tmp := dir + ".partial-" + randomHex(4)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil
	}
	defer os.RemoveAll(tmp)
	defer lockPartial(tmp)()
	dl := filepath.Join(tmp, "download")
	if err := be.FetchArtifacts(ctx, o, dl); err != nil {
		// A stopped job may have no model archive; its output data is enough.
		withoutModel := o
		withoutModel.ModelArtifacts = ""
		if o.ModelArtifacts == "" || be.FetchArtifacts(ctx, withoutModel, dl) != nil {
			return nil
		}
	}
	for _, a := range []struct{ archive, into string }{{"model.tar.gz", "model"}, {"output.tar.gz", "output"}} {
		p := filepath.Join(dl, a.archive)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := artifacts.ExtractTarGz(p, filepath.Join(tmp, a.into), artifacts.Limits{}); err != nil {
			return nil // unsafe or oversized: no report rather than a doubtful one
		}
	}
	if os.RemoveAll(dl) != nil {
		return nil
	}
	tp, err := readPartial(tmp)
	if err != nil || tp == nil || len(tp.GroupsFinished) == 0 {
		return nil
	}
	r := &Report{
		JobID: j.ID, JobName: j.Name, RemoteName: j.RemoteName, Backend: j.Backend, Status: o.Status,
		FinalMetrics: o.FinalMetrics, ArtifactDir: dir,
		ModelDir: filepath.Join(dir, "model"), OutputDir: filepath.Join(dir, "output"),
		ModelArtifactURI: o.ModelArtifacts, OutputArtifactURI: o.OutputArtifacts,
		StartedAt: o.StartedAt, EndedAt: o.EndedAt, BillableSeconds: o.BillableSeconds, CreatedAt: store.Now(),
		Partial: true, PartialReason: tp.Reason, GroupsFinished: tp.GroupsFinished,
		GroupsNotTrained: append(append([]string{}, tp.GroupsNotTrained...), tp.GroupsOtherHosts...),
	}
	if o.StartedAt != nil && o.EndedAt != nil {
		r.TrainingSeconds = o.EndedAt.Sub(*o.StartedAt).Seconds()
	}
	r.Notes = append(r.Notes, "partial: the job "+string(o.Status)+" before its end; only the age groups it finished are here (output/"+trainer.PartialFile+"), there is no model to score with")
	if len(tp.GroupsOtherHosts) > 0 {
		r.Notes = append(r.Notes, "the groups of the other hosts are counted as not trained: the output data is "+tp.Host+"'s")
	}
	_ = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(tmp, p)
		r.Files = append(r.Files, rel)
		return nil
	})
	sort.Strings(r.Files)
	r.CPUSeconds = readCPUSeconds(tmp)
	raw, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	if os.RemoveAll(dir) != nil || os.Rename(tmp, dir) != nil {
		return nil
	}
	return &collected{raw: raw, dir: dir}
}

// readPartial reads the trainer's output/partial.json (nil when absent).
func readPartial(dir string) (*trainer.Partial, error) {
	b, err := os.ReadFile(filepath.Join(dir, "output", trainer.PartialFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p trainer.Partial
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errs.Job("the trainer's "+trainer.PartialFile+" is not valid JSON", "check the trainer's output", err)
	}
	if !p.Partial {
		return nil, nil
	}
	return &p, nil
}
