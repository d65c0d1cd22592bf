package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/store"
)

// ScorePath is the screening application's scoring route.
const ScorePath = "/api/v1/score"

// MaxScoreBodyBytes bounds a POST /score body (several drawings' images).
const MaxScoreBodyBytes = 64 << 20

// maxScoreItems bounds the drawings of one POST /score.
const maxScoreItems = 64

func (s *Server) registerModels() {
	p := Prefix
	s.handle("POST", p+"/models/export", "bearer", true, s.exportModel)
	s.handle("GET", p+"/models/exports", "bearer", true, s.listExports)
	s.handle("POST", p+"/models/validate", "bearer", true, s.validateModel)
	s.handle("POST", p+"/models/deploy", "bearer", true, s.deployModel)
	s.handle("GET", p+"/models/deployed", "bearer", true, s.listDeployed)
	s.handle("POST", p+"/models/{id}/undeploy", "bearer", true, s.undeployModel)
	s.handle("POST", p+"/deploy", "bearer", true, s.deployJob)
	s.handle("POST", ScorePath, "bearer", true, s.score)
}

// ExportView is an export as the API shows it.
type ExportView struct {
	ModelID            string          `json:"model_id"`
	TrainingJobID      string          `json:"training_job_id"`
	ExportFormat       string          `json:"export_format"`
	AgeGroupMin        int             `json:"age_group_min"`
	AgeGroupMax        int             `json:"age_group_max"`
	AgeGroups          []string        `json:"age_groups"`
	SHA256             string          `json:"sha256"`
	SizeBytes          int64           `json:"size_bytes"`
	TrainerVersion     string          `json:"trainer_version"`
	DataManifestDigest string          `json:"data_manifest_digest,omitempty"`
	Metrics            json.RawMessage `json:"metrics,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	CreatedBy          string          `json:"created_by,omitempty"`
}

// NewExportView converts a stored export.
func NewExportView(e *store.Export) ExportView {
	return ExportView{ModelID: e.ID, TrainingJobID: e.JobID, ExportFormat: e.Format, AgeGroupMin: e.AgeMin, AgeGroupMax: e.AgeMax,
		AgeGroups: e.Groups, SHA256: e.SHA256, SizeBytes: e.SizeBytes, TrainerVersion: e.TrainerVersion,
		DataManifestDigest: e.DataManifestDigest, Metrics: e.Metrics, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy}
}

// DeploymentView is a deployment as the API shows it.
type DeploymentView struct {
	ID              string     `json:"id"`
	ModelID         string     `json:"model_id"`
	AgeGroupMin     int        `json:"age_group_min"`
	AgeGroupMax     int        `json:"age_group_max"`
	Active          bool       `json:"active"`
	ThresholdSource string     `json:"threshold_source"`
	DeployedAt      time.Time  `json:"deployed_at"`
	DeployedBy      string     `json:"deployed_by"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	EndedBy         string     `json:"ended_by,omitempty"`
	EndReason       string     `json:"end_reason,omitempty"`
	SupersededBy    string     `json:"superseded_by,omitempty"`
}

// NewDeploymentView converts a stored deployment.
func NewDeploymentView(d *store.Deployment) DeploymentView {
	return DeploymentView{ID: d.ID, ModelID: d.ModelID, AgeGroupMin: d.AgeMin, AgeGroupMax: d.AgeMax, Active: d.Active,
		ThresholdSource: d.ThresholdSource, DeployedAt: d.DeployedAt, DeployedBy: d.DeployedBy, EndedAt: d.EndedAt,
		EndedBy: d.EndedBy, EndReason: d.EndReason, SupersededBy: d.SupersededBy}
}

func deploymentViews(ds []*store.Deployment) []DeploymentView {
	out := make([]DeploymentView, 0, len(ds))
	for _, d := range ds {
		out = append(out, NewDeploymentView(d))
	}
	return out
}

// caller names who made a change without revealing the token: a short
// hash of the bearer token.
func caller(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return "token:" + hex.EncodeToString(sum[:4])
}

// params are a route's parameters from the query string (as the original
// application sends them) and, for a JSON body, from the body too.
type params map[string]any

func readParams(r *http.Request, allowed ...string) (params, string) {
	p := params{}
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for k, v := range r.URL.Query() {
		if !ok[k] {
			return nil, "unknown parameter " + strconv.Quote(clipText(k)) + "; this route takes " + strings.Join(allowed, ", ")
		}
		p[k] = v[0]
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body map[string]any
		err := json.NewDecoder(r.Body).Decode(&body)
		switch {
		case errors.Is(err, io.EOF):
		case err != nil:
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, "request body is too large"
			}
			return nil, "request body is not a JSON object: " + clipText(err.Error())
		}
		for k, v := range body {
			if !ok[k] {
				return nil, "unknown field " + strconv.Quote(clipText(k)) + "; this route takes " + strings.Join(allowed, ", ")
			}
			if _, dup := p[k]; dup {
				return nil, k + " is given both in the query and in the body; give it once"
			}
			p[k] = v
		}
	}
	return p, ""
}

func (p params) str(k string) (string, string) {
	switch v := p[k].(type) {
	case nil:
		return "", ""
	case string:
		v = strings.TrimSpace(v)
		if strings.HasSuffix(k, "_id") && !validID(v) {
			return "", k + " is not an id (letters, digits, '.', '_' and '-', up to 128 characters)"
		}
		return v, ""
	default:
		return "", k + " must be a string"
	}
}

// validID bounds an id taken from a request before it reaches the store
// or a message.
func validID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// years reads a whole number of years (the original sent 2.0 as well as 2).
func (p params) years(k string) (*int, string) {
	var f float64
	switch v := p[k].(type) {
	case nil:
		return nil, ""
	case float64:
		f = v
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, ""
		}
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return nil, k + " " + strconv.Quote(clipText(v)) + " is not a number of years"
		}
	default:
		return nil, k + " must be a number of years"
	}
	if f != math.Trunc(f) || f < 0 || f > 150 {
		return nil, fmt.Sprintf("%s %v is not a whole number of years from 0 to 150 (age groups are whole years on floor(age))", k, f)
	}
	n := int(f)
	return &n, ""
}

func (p params) boolean(k string, def bool) (bool, string) {
	switch v := p[k].(type) {
	case nil:
		return def, ""
	case bool:
		return v, ""
	case string:
		if v == "" {
			return def, ""
		}
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return false, k + " " + strconv.Quote(clipText(v)) + " is not true or false"
		}
		return b, ""
	default:
		return false, k + " must be true or false"
	}
}

func clipText(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// firstMsg returns the first non-empty message.
func firstMsg(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}

func (s *Server) modelsOff(w http.ResponseWriter) bool {
	if s.opt.Models == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "model export and deployment are not configured on this server")
		return true
	}
	return false
}

// exportRequest reads the original's export parameters (training_job_id,
// export_format, age_group_min, age_group_max) for POST /models/export and
// POST /deploy. The message is the first problem: of those parameters, then
// of the caller's own (more), then a missing training_job_id.
func exportRequest(r *http.Request, p params, more ...string) (models.ExportRequest, string) {
	job, m1 := p.str("training_job_id")
	format, m2 := p.str("export_format")
	lo, m3 := p.years("age_group_min")
	hi, m4 := p.years("age_group_max")
	if msg := firstMsg(append([]string{m1, m2, m3, m4}, more...)...); msg != "" {
		return models.ExportRequest{}, msg
	}
	if job == "" {
		return models.ExportRequest{}, "training_job_id is required: the id of a completed job"
	}
	return models.ExportRequest{JobID: job, Format: format, AgeMin: lo, AgeMax: hi, By: caller(r)}, ""
}

func (s *Server) exportModel(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "training_job_id", "age_group_min", "age_group_max", "export_format")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	req, msg := exportRequest(r, p)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	e, err := s.opt.Models.Export(r.Context(), req)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	v := NewExportView(e)
	writeJSON(w, http.StatusCreated, map[string]any{"success": true, "model_id": e.ID, "model": v,
		"message": fmt.Sprintf("exported job %s as %s model %s (ages %d-%d)", e.JobID, e.Format, e.ID, e.AgeMin, e.AgeMax)})
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "training_job_id")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	job, _ := p.str("training_job_id")
	es, err := s.opt.Models.List(r.Context(), job)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	out := make([]ExportView, 0, len(es))
	for _, e := range es {
		out = append(out, NewExportView(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "count": len(out), "models": out})
}

func (s *Server) validateModel(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "model_id")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	id, _ := p.str("model_id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "model_id is required: the id of an export (GET /models/exports lists them)")
		return
	}
	v, err := s.opt.Models.Validate(r.Context(), id)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "is_valid": v.Valid, "validation_result": v})
}

func (s *Server) deployModel(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "model_id", "age_group_min", "age_group_max", "replace_existing", "backup_existing")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	id, m1 := p.str("model_id")
	lo, m2 := p.years("age_group_min")
	hi, m3 := p.years("age_group_max")
	replace, m4 := p.boolean("replace_existing", false)
	backup, m5 := p.boolean("backup_existing", true)
	if msg := firstMsg(m1, m2, m3, m4, m5); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if id == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "model_id is required: the id of an export (GET /models/exports lists them)")
		return
	}
	s.finishDeploy(w, r, models.DeployRequest{ModelID: id, AgeMin: lo, AgeMax: hi, Replace: replace, Backup: backup, By: caller(r)}, nil)
}

func (s *Server) finishDeploy(w http.ResponseWriter, r *http.Request, req models.DeployRequest, export *store.Export) {
	d, replaced, err := s.opt.Models.Deploy(r.Context(), req)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	body := map[string]any{"success": true, "deployment_id": d.ID, "model_id": d.ModelID, "deployment": NewDeploymentView(d),
		"replaced": deploymentViews(replaced),
		"message":  fmt.Sprintf("model %s is active for ages %d-%d", d.ModelID, d.AgeMin, d.AgeMax)}
	if export != nil {
		body["model"] = NewExportView(export)
	}
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) listDeployed(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "include_history")
	all, m2 := p.boolean("include_history", false)
	if msg = firstMsg(msg, m2); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	ds, err := s.opt.Models.Deployed(r.Context(), !all)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	out := deploymentViews(ds)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "count": len(out), "models": out})
}

func (s *Server) undeployModel(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	if !validID(r.PathValue("id")) {
		writeError(w, http.StatusBadRequest, "bad_request", "the deployment id is not an id (letters, digits, '.', '_' and '-', up to 128 characters)")
		return
	}
	d, restored, err := s.opt.Models.Undeploy(r.Context(), r.PathValue("id"), caller(r))
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "undeployed": NewDeploymentView(d), "restored": deploymentViews(restored)})
}

// deployJob is the original's POST /deploy: export a completed job's model
// and make it active in one call.
func (s *Server) deployJob(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	p, msg := readParams(r, "training_job_id", "age_group_min", "age_group_max", "export_format", "replace_existing", "backup_existing")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	replace, m5 := p.boolean("replace_existing", false)
	backup, m6 := p.boolean("backup_existing", true)
	req, msg := exportRequest(r, p, m5, m6)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	e, err := s.opt.Models.Export(r.Context(), req)
	if err != nil {
		writeErr(w, r, s.log, err)
		return
	}
	s.finishDeploy(w, r, models.DeployRequest{ModelID: e.ID, Replace: replace, Backup: backup, By: caller(r)}, e)
}

// scoreJSON is the JSON body of POST /score: precomputed feature vectors.
type scoreJSON struct {
	Features json.RawMessage `json:"features"`  // one vector or a list of vectors
	AgeYears json.RawMessage `json:"age_years"` // one age or one per vector
}

func (s *Server) score(w http.ResponseWriter, r *http.Request) {
	if s.modelsOff(w) {
		return
	}
	var results []*models.Result
	var err error
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "multipart/form-data"):
		results, err = s.scoreImages(r)
	case strings.HasPrefix(ct, "application/json"):
		results, err = s.scoreFeatures(r)
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send multipart/form-data with image files, age_years and optionally subject, or application/json with features and age_years")
		return
	}
	if err != nil {
		var bad badRequest
		if errors.As(err, &bad) {
			writeError(w, http.StatusBadRequest, "bad_request", string(bad))
			return
		}
		writeErr(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "count": len(results), "results": results})
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

func (s *Server) scoreImages(r *http.Request) ([]*models.Result, error) {
	if err := r.ParseMultipartForm(16 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest(fmt.Sprintf("request body is larger than %d MiB; send fewer or smaller images", MaxScoreBodyBytes>>20))
		}
		return nil, badRequest("the multipart form cannot be read: " + clipText(err.Error()))
	}
	defer r.MultipartForm.RemoveAll()
	files := r.MultipartForm.File["image"]
	if len(files) == 0 {
		files = r.MultipartForm.File["images"]
	}
	if len(files) == 0 || len(files) > maxScoreItems {
		return nil, badRequest(fmt.Sprintf("send 1 to %d drawings as 'image' file fields (got %d)", maxScoreItems, len(files)))
	}
	ages := r.MultipartForm.Value["age_years"]
	if len(ages) != 1 && len(ages) != len(files) {
		return nil, badRequest("age_years is required: one age for every image, or one age per image in the same order")
	}
	subjects := r.MultipartForm.Value["subject"]
	if len(subjects) > 1 && len(subjects) != len(files) {
		return nil, badRequest("subject: give one for every image, or one per image in the same order")
	}
	var out []*models.Result
	for i, fh := range files {
		a := ages[0]
		if len(ages) > 1 {
			a = ages[i]
		}
		age, err := strconv.ParseFloat(strings.TrimSpace(a), 64)
		if err != nil {
			return nil, badRequest("age_years " + strconv.Quote(clipText(a)) + " is not a number of years")
		}
		subj := ""
		if len(subjects) == 1 {
			subj = subjects[0]
		} else if len(subjects) > 1 {
			subj = subjects[i]
		}
		b, err := readPart(fh)
		if err != nil {
			return nil, err
		}
		res, err := s.opt.Models.ScoreImage(r.Context(), clipText(fh.Filename), b, subj, age)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, badRequest("image " + strconv.Quote(clipText(fh.Filename)) + " cannot be read")
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (s *Server) scoreFeatures(r *http.Request) ([]*models.Result, error) {
	var req scoreJSON
	if code, msg := decodeJSON(r, &req); code != 0 {
		return nil, badRequest(msg)
	}
	var vecs [][]float32
	if err := json.Unmarshal(req.Features, &vecs); err != nil {
		var one []float32
		if err := json.Unmarshal(req.Features, &one); err != nil || len(one) == 0 {
			return nil, badRequest("features must be a vector of numbers or a list of vectors")
		}
		vecs = [][]float32{one}
	}
	if len(vecs) == 0 || len(vecs) > maxScoreItems {
		return nil, badRequest(fmt.Sprintf("send 1 to %d feature vectors", maxScoreItems))
	}
	var ages []float64
	if err := json.Unmarshal(req.AgeYears, &ages); err != nil {
		var one float64
		if err := json.Unmarshal(req.AgeYears, &one); err != nil {
			return nil, badRequest("age_years is required: a number, or one number per vector")
		}
		ages = []float64{one}
	}
	if len(ages) != 1 && len(ages) != len(vecs) {
		return nil, badRequest("age_years: give one age for every vector, or one per vector")
	}
	var out []*models.Result
	for i, v := range vecs {
		age := ages[0]
		if len(ages) > 1 {
			age = ages[i]
		}
		res, err := s.opt.Models.ScoreVector(r.Context(), v, age)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}
