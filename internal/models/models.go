package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer"
)

// Export formats.
const (
	FormatSagetrain = "sagetrain"
	FormatONNX      = "onnx"
)

// Files of an export folder.
const (
	ExportFile          = "export.json"
	ONNXFile            = "model.onnx"
	ExportFormat        = "sagetrain-model-export"
	ExportFormatVersion = 1
)

// Service exports, validates, deploys and scores.
type Service struct {
	models store.ModelStore
	jobs   store.Store
	root   string

	mu     sync.Mutex
	loaded map[string]*trainer.Model // verified exports, by id
}

// New returns a service keeping export folders under root.
func New(models store.ModelStore, jobs store.Store, root string) *Service {
	return &Service{models: models, jobs: jobs, root: root, loaded: map[string]*trainer.Model{}}
}

// Root is the folder of the export folders.
func (s *Service) Root() string { return s.root }

// ExportRequest asks for an export of a completed job.
type ExportRequest struct {
	JobID          string
	Format         string // "" = sagetrain
	AgeMin, AgeMax *int   // both or neither: the groups lying inside [AgeMin, AgeMax]
	By             string
}

// exportManifest is export.json.
type exportManifest struct {
	Format             string    `json:"format"`
	FormatVersion      int       `json:"format_version"`
	ID                 string    `json:"id"`
	JobID              string    `json:"job_id"`
	JobName            string    `json:"job_name"`
	ModelFormat        string    `json:"model_format"`
	AgeMin             int       `json:"age_min"`
	AgeMax             int       `json:"age_max"`
	Groups             []string  `json:"groups"`
	TrainerVersion     string    `json:"trainer_version"`
	DataManifestDigest string    `json:"data_manifest_digest,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	// Provenance is the trained model.json's block as is (see provenance.go).
	Provenance json.RawMessage `json:"provenance,omitempty"`
}

// Export writes an export of a completed job's model and records it.
func (s *Service) Export(ctx context.Context, req ExportRequest) (*store.Export, error) {
	format := strings.ToLower(strings.TrimSpace(req.Format))
	switch format {
	case "", FormatSagetrain, "pytorch", "native":
		format = FormatSagetrain
	case FormatONNX:
	default:
		return nil, errs.Configuration(fmt.Sprintf("export format %q is unknown", clip(req.Format)), "use sagetrain or onnx", nil)
	}
	if (req.AgeMin == nil) != (req.AgeMax == nil) {
		return nil, errs.Configuration("only one end of the age range was given", "give both age_group_min and age_group_max, or neither to export every group", nil)
	}
	if req.AgeMin != nil && *req.AgeMin > *req.AgeMax {
		return nil, errs.Configuration(fmt.Sprintf("age range %d-%d is empty", *req.AgeMin, *req.AgeMax), "give age_group_min <= age_group_max", nil)
	}
	job, err := s.jobs.Get(ctx, req.JobID)
	if err != nil {
		return nil, err
	}
	if job.Status != store.StatusCompleted {
		return nil, &errs.Error{Family: errs.ErrConflict, Msg: fmt.Sprintf("job %s is %s, not completed", job.ID, job.Status),
			Fix: "export a completed job; wait for it with 'sagetrain status --watch " + job.ID + "'"}
	}
	modelDir := jobModelDir(job)
	id := store.NewID()
	dir := filepath.Join(s.root, id)
	tmp := dir + ".partial"
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, errs.Configuration("cannot create the export folder "+s.root, "check its permissions", err)
	}
	defer os.RemoveAll(tmp)
	keep := func(trainer.ModelGroup) bool { return true }
	if req.AgeMin != nil {
		lo, hi := *req.AgeMin, *req.AgeMax
		keep = func(g trainer.ModelGroup) bool { return g.Min >= lo && g.Max <= hi }
	}
	man, err := trainer.WriteSubset(modelDir, tmp, keep)
	if err != nil {
		return nil, err
	}
	prov, err := rawProvenance(modelDir)
	if err != nil {
		return nil, errs.Job("cannot read the provenance of the job's model.json", "check the job's model folder "+modelDir, err)
	}
	if err := keepProvenance(tmp, prov); err != nil {
		return nil, err
	}
	if format == FormatONNX {
		m, err := trainer.LoadModel(tmp)
		if err != nil {
			return nil, err
		}
		b, err := m.ONNX()
		if err != nil {
			return nil, errs.Job("cannot encode the model as ONNX", "report this as a bug", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, ONNXFile), b, 0o644); err != nil {
			return nil, err
		}
	}
	e := &store.Export{ID: id, JobID: job.ID, Format: format, TrainerVersion: buildinfo.Get().String(),
		DataManifestDigest: dataManifestDigest(job), CreatedAt: store.Now(), CreatedBy: req.By, Location: dir}
	e.AgeMin, e.AgeMax = man.Groups[0].Min, man.Groups[len(man.Groups)-1].Max
	if req.AgeMin != nil {
		e.AgeMin, e.AgeMax = *req.AgeMin, *req.AgeMax
	}
	for _, g := range man.Groups {
		e.Groups = append(e.Groups, g.Name)
	}
	e.Metrics = exportMetrics(tmp, e.Groups)
	em := exportManifest{Format: ExportFormat, FormatVersion: ExportFormatVersion, ID: id, JobID: job.ID, JobName: job.Name,
		ModelFormat: format, AgeMin: e.AgeMin, AgeMax: e.AgeMax, Groups: e.Groups, TrainerVersion: e.TrainerVersion,
		DataManifestDigest: e.DataManifestDigest, CreatedAt: e.CreatedAt, Provenance: prov}
	b, _ := json.MarshalIndent(em, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, ExportFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if e.SHA256, e.SizeBytes, err = Digest(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, errs.Configuration("cannot move the export into "+dir, "check the export folder's permissions", err)
	}
	if err := s.models.CreateExport(ctx, e); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return e, nil
}

// jobModelDir is where a completed job's model was unpacked.
func jobModelDir(j *store.Job) string {
	var r struct {
		ModelDir string `json:"model_dir"`
	}
	if json.Unmarshal(j.Report, &r) == nil && r.ModelDir != "" {
		return r.ModelDir
	}
	return filepath.Join(j.ArtifactDir, "model")
}

// dataManifestDigest is the SHA-256 of the training data's manifest.json
// (written by `sagetrain upload`) when the job's dataset folder has one.
func dataManifestDigest(j *store.Job) string {
	var sp struct {
		DatasetFolder string `json:"dataset_folder"`
	}
	if json.Unmarshal(j.Spec, &sp) != nil || sp.DatasetFolder == "" {
		return ""
	}
	f, err := os.Open(filepath.Join(sp.DatasetFolder, "manifest.json"))
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<20)); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// exportMetrics are the job's overall test metrics and those of the
// exported groups, from the export's metrics.json.
func exportMetrics(dir string, groups []string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join(dir, trainer.MetricsFile))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range m {
		if strings.HasPrefix(k, "test_") || k == "n_test" || k == "n_test_anomalies" || k == "threshold_percentile" {
			out[k] = v
		}
	}
	if all, ok := m["groups"].(map[string]any); ok {
		sub := map[string]any{}
		for _, g := range groups {
			if v, ok := all[g]; ok {
				sub[g] = v
			}
		}
		out["groups"] = sub
	}
	raw, _ := json.Marshal(out)
	return raw
}

// Digest is the SHA-256 of an export folder: every regular file in name
// order, each as its name, NUL, its size in decimal, NUL, its bytes. It
// also returns the total size. A link or a folder inside is an error.
func Digest(dir string) (string, int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	h := sha256.New()
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return "", 0, fmt.Errorf("%s in the export is not a regular file", e.Name())
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return "", 0, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), st.Size())
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", 0, err
		}
		total += n
	}
	return hex.EncodeToString(h.Sum(nil)), total, nil
}

// Get returns an export.
func (s *Service) Get(ctx context.Context, id string) (*store.Export, error) {
	return s.models.GetExport(ctx, id)
}

// List lists exports, newest first; jobID "" lists all.
func (s *Service) List(ctx context.Context, jobID string) ([]*store.Export, error) {
	return s.models.ListExports(ctx, jobID)
}

// Check is one line of a validation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Validation is the result of Validate.
type Validation struct {
	ModelID     string          `json:"model_id"`
	Valid       bool            `json:"is_valid"`
	Checks      []Check         `json:"checks"`
	SHA256      string          `json:"sha256"`
	Format      string          `json:"format"`
	Groups      []string        `json:"groups"`
	TestMetrics json.RawMessage `json:"test_metrics,omitempty"`
	CheckedAt   time.Time       `json:"checked_at"`
}

// Validate checks an export: its bytes against the recorded checksum, its
// format version, that it loads (and its ONNX file is the encoding of its
// model), and that it carries the job's test metrics.
func (s *Service) Validate(ctx context.Context, id string) (*Validation, error) {
	e, err := s.models.GetExport(ctx, id)
	if err != nil {
		return nil, err
	}
	v, _ := s.check(e)
	return v, nil
}

func (s *Service) check(e *store.Export) (*Validation, *trainer.Model) {
	v := &Validation{ModelID: e.ID, SHA256: e.SHA256, Format: e.Format, Groups: e.Groups, TestMetrics: e.Metrics, CheckedAt: store.Now()}
	add := func(name string, ok bool, detail string) {
		v.Checks = append(v.Checks, Check{Name: name, OK: ok, Detail: detail})
	}
	dir := filepath.Join(s.root, e.ID)
	sum, _, err := Digest(dir)
	switch {
	case err != nil:
		add("checksum", false, "cannot read the export folder: "+err.Error())
	case sum != e.SHA256:
		add("checksum", false, "the files' SHA-256 is "+sum+", the export recorded "+e.SHA256+": the export was changed after it was written; export the job again")
	default:
		add("checksum", true, "sha256 "+sum)
	}
	var em exportManifest
	b, err := os.ReadFile(filepath.Join(dir, ExportFile))
	if err == nil {
		err = json.Unmarshal(b, &em)
	}
	switch {
	case err != nil:
		add("format_version", false, "export.json is unreadable: "+err.Error())
	case em.Format != ExportFormat || em.FormatVersion != ExportFormatVersion || em.ID != e.ID:
		add("format_version", false, fmt.Sprintf("export.json is %q version %d of model %q; this sagetrain reads %q version %d", clip(em.Format), em.FormatVersion, clip(em.ID), ExportFormat, ExportFormatVersion))
	default:
		add("format_version", true, fmt.Sprintf("%s version %d, model %s version %d", ExportFormat, ExportFormatVersion, trainer.ModelFormat, trainer.FormatVersion))
	}
	m, err := trainer.LoadModel(dir)
	if err != nil {
		add("loads", false, err.Error())
	} else {
		names := make([]string, len(m.Manifest.Groups))
		for i, g := range m.Manifest.Groups {
			names[i] = g.Name
		}
		ok := strings.Join(names, ",") == strings.Join(e.Groups, ",")
		detail := fmt.Sprintf("%d groups (%s), %d inputs", len(names), strings.Join(names, ", "), m.Manifest.Architecture.Input)
		if !ok {
			detail = "the model's groups " + strings.Join(names, ",") + " are not the export's " + strings.Join(e.Groups, ",")
		}
		if ok && e.Format == FormatONNX {
			want, err := m.ONNX()
			got, rerr := os.ReadFile(filepath.Join(dir, ONNXFile))
			switch {
			case err != nil || rerr != nil:
				ok, detail = false, "model.onnx cannot be read or rebuilt"
			case string(want) != string(got):
				ok, detail = false, "model.onnx is not the ONNX encoding of the export's model"
			default:
				detail += fmt.Sprintf("; model.onnx (%d bytes, opset %d) encodes it", len(got), trainer.ONNXOpset)
			}
		}
		add("loads", ok, detail)
	}
	var tm map[string]any
	if json.Unmarshal(e.Metrics, &tm) != nil || len(tm) == 0 {
		add("test_metrics", false, "the export records no test metrics (the job wrote no metrics.json)")
	} else {
		d := "recorded"
		if a, ok := tm["test_auroc"].(float64); ok {
			d = fmt.Sprintf("test ROC AUC %.4f", a)
		} else if n, ok := tm["n_test"].(float64); ok {
			d = fmt.Sprintf("%d test samples, no ROC AUC (the test split has no anomalies)", int(n))
		}
		add("test_metrics", true, d)
	}
	v.Valid = true
	for _, c := range v.Checks {
		v.Valid = v.Valid && c.OK
	}
	if !v.Valid {
		return v, nil
	}
	return v, m
}

// DeployRequest asks to make an export the active model for an age range.
type DeployRequest struct {
	ModelID        string
	AgeMin, AgeMax *int // default: the export's range
	Replace        bool // replace active deployments overlapping the range
	Backup         bool // keep the replaced ones to come back on undeploy
	By             string
}

// Deploy validates the export and makes it active for the range.
func (s *Service) Deploy(ctx context.Context, req DeployRequest) (*store.Deployment, []*store.Deployment, error) {
	e, err := s.models.GetExport(ctx, req.ModelID)
	if err != nil {
		return nil, nil, err
	}
	if (req.AgeMin == nil) != (req.AgeMax == nil) {
		return nil, nil, errs.Configuration("only one end of the age range was given", "give both age_group_min and age_group_max, or neither to use the export's range", nil)
	}
	d := &store.Deployment{ModelID: e.ID, AgeMin: e.AgeMin, AgeMax: e.AgeMax, DeployedBy: req.By}
	if req.AgeMin != nil {
		d.AgeMin, d.AgeMax = *req.AgeMin, *req.AgeMax
	}
	if d.AgeMin < e.AgeMin || d.AgeMax > e.AgeMax || d.AgeMin > d.AgeMax {
		return nil, nil, errs.Configuration(fmt.Sprintf("ages %d-%d are not inside the export's range %d-%d", d.AgeMin, d.AgeMax, e.AgeMin, e.AgeMax),
			"deploy a range inside the export's, or export the job for the range you need", nil)
	}
	v, m := s.check(e)
	if !v.Valid {
		var bad []string
		for _, c := range v.Checks {
			if !c.OK {
				bad = append(bad, c.Name+": "+c.Detail)
			}
		}
		return nil, nil, &errs.Error{Family: errs.ErrConflict, Msg: "model " + e.ID + " fails validation (" + strings.Join(bad, "; ") + ")",
			Fix: "export the job again and deploy the new export"}
	}
	d.ThresholdSource = thresholdSource(m)
	replaced, err := s.models.Deploy(ctx, d, req.Replace, req.Backup)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.loaded[e.ID] = m
	s.mu.Unlock()
	return d, replaced, nil
}

func thresholdSource(m *trainer.Model) string {
	seen := map[string]bool{}
	var out []string
	for _, g := range m.Manifest.Groups {
		if !seen[g.ThresholdSource] {
			seen[g.ThresholdSource] = true
			out = append(out, g.ThresholdSource)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "+") + " normals, p" + fmt.Sprint(m.Manifest.ThresholdPercentile)
}

// Undeploy ends a deployment; the ones it replaced with a backup come back.
func (s *Service) Undeploy(ctx context.Context, id, by string) (*store.Deployment, []*store.Deployment, error) {
	return s.models.Undeploy(ctx, id, by)
}

// Deployed lists deployments (activeOnly: the active ones).
func (s *Service) Deployed(ctx context.Context, activeOnly bool) ([]*store.Deployment, error) {
	return s.models.ListDeployments(ctx, activeOnly)
}

// Result is the verdict on one drawing from the active deployment.
type Result struct {
	Image               string  `json:"image,omitempty"`
	ModelID             string  `json:"model_id"`
	DeploymentID        string  `json:"deployment_id"`
	AgeYears            float64 `json:"age_years"`
	AgeGroup            string  `json:"age_group"`
	GroupExact          bool    `json:"group_exact"`
	Score               float64 `json:"score"`
	Threshold           float64 `json:"threshold"`
	ReconstructionError float64 `json:"reconstruction_error"`
	Verdict             string  `json:"verdict"` // "anomalous", "normal", or "undetermined" (no honest threshold for the group)
	Note                string  `json:"note,omitempty"`

	// What the threshold promises (the trainer's calibration), and how much
	// of the error one feature carries: above 0.5 one feature decides the
	// score, and a clinician should look at the drawing before trusting it.
	ThresholdMethod     string     `json:"threshold_method,omitempty"`
	ExpectedFPR         float64    `json:"expected_fpr,omitempty"`
	ExpectedFPRInterval [2]float64 `json:"expected_fpr_interval_90,omitempty"`
	NCalibration        int        `json:"n_calibration,omitempty"`
	LargestFeature      string     `json:"largest_feature,omitempty"`
	LargestFeatureShare float64    `json:"largest_feature_share"`
}

// NoDeployment is the conflict of a score for an age no deployment covers.
func NoDeployment(age float64) error {
	return &errs.Error{Family: errs.ErrConflict, Msg: fmt.Sprintf("no active deployment covers age %g", age),
		Fix: "deploy a model for this age: 'sagetrain model deploy MODEL_ID --age-min A --age-max B' (POST /api/v1/training/models/deploy)"}
}

// Active returns the active deployment for a child of ageYears and its
// model, loaded and verified (once per export).
func (s *Service) Active(ctx context.Context, ageYears float64) (*store.Deployment, *trainer.Model, error) {
	if math.IsNaN(ageYears) || math.IsInf(ageYears, 0) || ageYears <= 0 || ageYears > 150 {
		return nil, nil, errs.Configuration(fmt.Sprintf("age %g is not a child's age in years", ageYears), "give age_years, e.g. 7.5", nil)
	}
	ds, err := s.models.ListDeployments(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	y := int(math.Floor(ageYears))
	var d *store.Deployment
	for _, x := range ds {
		if x.AgeMin <= y && y <= x.AgeMax {
			d = x
			break
		}
	}
	if d == nil {
		return nil, nil, NoDeployment(ageYears)
	}
	s.mu.Lock()
	m := s.loaded[d.ModelID]
	s.mu.Unlock()
	if m == nil {
		e, err := s.models.GetExport(ctx, d.ModelID)
		if err != nil {
			return nil, nil, err
		}
		v, lm := s.check(e)
		if !v.Valid {
			return nil, nil, errs.Job("the deployed model "+e.ID+" fails validation", "deploy another export (sagetrain model validate "+e.ID+" says why)", nil)
		}
		s.mu.Lock()
		s.loaded[d.ModelID] = lm
		s.mu.Unlock()
		m = lm
	}
	return d, m, nil
}

// ScoreVector scores a precomputed feature vector.
func (s *Service) ScoreVector(ctx context.Context, x []float32, ageYears float64) (*Result, error) {
	d, m, err := s.Active(ctx, ageYears)
	if err != nil {
		return nil, err
	}
	sc, err := m.ScoreVector(x, ageYears)
	if err != nil {
		return nil, err
	}
	return result(d, sc), nil
}

// ScoreImage scores an image held in memory with the trainer's own
// decoding rules and descriptor.
func (s *Service) ScoreImage(ctx context.Context, name string, img []byte, subject string, ageYears float64) (*Result, error) {
	d, m, err := s.Active(ctx, ageYears)
	if err != nil {
		return nil, err
	}
	sc, err := m.ScoreImageBytes(img, subject, ageYears)
	if err != nil {
		return nil, err
	}
	r := result(d, sc)
	r.Image = name
	return r, nil
}

func result(d *store.Deployment, sc trainer.Score) *Result {
	return &Result{ModelID: d.ModelID, DeploymentID: d.ID, AgeYears: sc.AgeYears, AgeGroup: sc.Group, GroupExact: sc.GroupExact,
		Score: sc.Score, Threshold: sc.Threshold, ReconstructionError: sc.Error, Verdict: sc.Verdict, Note: sc.Note,
		ThresholdMethod: sc.ThresholdMethod, ExpectedFPR: sc.ExpectedFPR, ExpectedFPRInterval: sc.ExpectedFPRInterval,
		NCalibration: sc.NCalibration, LargestFeature: sc.LargestFeature, LargestFeatureShare: sc.LargestFeatureShare}
}

// clip bounds a user-given string shown in a message.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// RootBeside is the export folder of a setup: "models" beside the job
// artifacts' folder, so one folder holds a whole setup.
func RootBeside(artifactRoot string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(artifactRoot)), "models")
}

// Open returns the service on a job store that also keeps models (both
// sagetrain drivers do).
func Open(st store.Store, artifactRoot string) (*Service, error) {
	ms, ok := st.(store.ModelStore)
	if !ok {
		return nil, errs.Configuration("this job store keeps no models", "use the SQLite or PostgreSQL store", nil)
	}
	return New(ms, st, RootBeside(artifactRoot)), nil
}
