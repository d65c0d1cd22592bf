package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// pinImage resolves the spec's image tag to a digest before the job is
// recorded, so the backend runs what was pinned (also when it is asked
// again after a crash). The tag as given goes into the provenance.
func (s *Service) pinImage(ctx context.Context, sp *spec.Spec, o SubmitOptions) (given string, err error) {
	given = sp.ImageURI
	if given == "" || provenance.IsDigestRef(given) {
		return given, nil
	}
	if o.RequireDigest {
		return "", errs.Configuration(fmt.Sprintf("image_uri %q is a tag, and --require-digest asks for a digest", short(given)),
			"give image_uri as repository@sha256:<digest> (the output of 'sagetrain image push'), or drop --require-digest", nil)
	}
	if s.resolveImage == nil || sp.Backend == spec.BackendLocal {
		return given, nil // local jobs run this binary: the image is not what trains
	}
	d, err := s.resolveImage(ctx, given)
	if err != nil {
		return "", errs.Configuration("cannot pin image_uri "+short(given)+" to a digest: "+err.Error(),
			"check the registry is reachable with your credentials, or give image_uri as repository@sha256:<digest>", err)
	}
	sp.ImageURI = d
	return given, nil
}

// pin records the job's provenance just before the backend is asked to run
// it (the data is known then), and returns the pinned digests as variables
// for the trainer (see create).
func (s *Service) pin(ctx context.Context, j *store.Job, sp *spec.Spec, channels map[string]string) map[string]string {
	ps, ok := s.st.(store.ProvenanceStore)
	if !ok {
		return nil
	}
	pv := s.provenanceOf(ctx, j)
	if pv == nil {
		pv = &provenance.Provenance{}
	}
	bi := buildinfo.Get()
	pv.SubmittedBy = &bi
	if pv.Image == "" {
		pv.Image = sp.ImageURI
	}
	if provenance.IsDigestRef(sp.ImageURI) {
		pv.ImageDigest = sp.ImageURI
	}
	if j.Backend == spec.BackendLocal {
		// The trainer is this very binary.
		pv.Trainer = &bi
	}
	pv.DataURI = channels["training"]
	switch {
	case strings.HasPrefix(pv.DataURI, "file://"):
		if d, n, err := provenance.FolderDigest(strings.TrimPrefix(pv.DataURI, "file://")); err == nil {
			pv.DataDigest, pv.DataFiles = d, n
		}
	case strings.HasPrefix(pv.DataURI, "s3://") && s.dataDigest != nil:
		if d, n, err := s.dataDigest(ctx, pv.DataURI); err == nil {
			pv.DataDigest, pv.DataFiles = d, n
		}
	}
	env := map[string]string{}
	if pv.ImageDigest != "" {
		env[provenance.EnvImageDigest] = pv.ImageDigest
	}
	if pv.DataDigest != "" {
		env[provenance.EnvDataDigest] = pv.DataDigest
	}
	if raw, err := json.Marshal(pv); err == nil {
		_ = ps.SetProvenance(ctx, j.ID, raw)
	}
	return env
}

// create asks the backend to create the job, giving the trainer the
// service's own variables (serviceEnv) apart from the caller's environment
// where the backend takes them so (the local one refuses SAGETRAIN_* names
// in a job's environment, as a caller must not set them). A SageMaker job
// gets them in its Environment: the container is the caller's anyway. A
// backend that takes neither trains without them (the trainer recomputes
// the data digest itself).
func (s *Service) create(ctx context.Context, be backend.Backend, j *store.Job, in *sagemaker.CreateTrainingJobInput, serviceEnv map[string]string) (string, error) {
	if len(serviceEnv) == 0 {
		return be.Create(ctx, in)
	}
	if sc, ok := be.(backend.ServiceEnvCreator); ok {
		return sc.CreateWithServiceEnv(ctx, in, serviceEnv)
	}
	if j.Backend != spec.BackendLocal && len(in.Environment)+len(serviceEnv) <= spec.MaxEnvironment {
		if in.Environment == nil {
			in.Environment = map[string]string{}
		}
		for k, v := range serviceEnv {
			in.Environment[k] = v
		}
	}
	return be.Create(ctx, in)
}

// provenanceOf reads a job's recorded provenance (nil when none).
func (s *Service) provenanceOf(ctx context.Context, j *store.Job) *provenance.Provenance {
	ps, ok := s.st.(store.ProvenanceStore)
	if !ok {
		return nil
	}
	raw, err := ps.GetProvenance(ctx, j.ID)
	if err != nil || raw == nil {
		return nil
	}
	var pv provenance.Provenance
	if json.Unmarshal(raw, &pv) != nil {
		return nil
	}
	return &pv
}

// Provenance returns what a job was made from: the record pinned at
// submit, completed from model.json once the job has trained.
func (s *Service) Provenance(ctx context.Context, id string) (*provenance.Provenance, error) {
	j, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r, err := s.Report(ctx, j.ID); err == nil && r.Provenance != nil {
		return r.Provenance, nil
	}
	return s.provenanceOf(ctx, j), nil
}

// reportProvenance merges the job's record with model.json's provenance
// (read from the unpacked model in dir): the trainer's own build, the
// hyperparameters as it parsed them and the seed. A data digest the trainer
// computed differently from the submit's is noted.
func (s *Service) reportProvenance(ctx context.Context, j *store.Job, dir string) (*provenance.Provenance, string) {
	pv := s.provenanceOf(ctx, j)
	if pv == nil {
		pv = &provenance.Provenance{}
	}
	b, err := os.ReadFile(filepath.Join(dir, "model", "model.json"))
	if err != nil {
		return pv, ""
	}
	var man struct {
		Provenance *provenance.Provenance `json:"provenance"`
	}
	if json.Unmarshal(b, &man) != nil || man.Provenance == nil {
		return pv, "model.json carries no provenance (trained by an older sagetrain)"
	}
	m := man.Provenance
	pv.Trainer, pv.Hyperparameters, pv.Seed = m.Trainer, m.Hyperparameters, m.Seed
	note := ""
	switch {
	case pv.DataDigest == "":
		pv.DataDigest, pv.DataFiles = m.DataDigest, m.DataFiles
	case m.DataDigest != "" && m.DataDigest != pv.DataDigest:
		note = "the trainer saw data with digest " + m.DataDigest + ", not the " + pv.DataDigest + " pinned at submit"
	}
	if pv.ImageDigest == "" {
		pv.ImageDigest = m.ImageDigest
	}
	return pv, note
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
