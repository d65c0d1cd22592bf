package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/trainer"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

func TestModelCycleSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jobs.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	modelCycle(t, dir, open, true)
}

func TestModelCyclePostgres(t *testing.T) {
	t.Parallel()
	dsn := testpeer.PostgresDSN(t)
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	modelCycle(t, t.TempDir(), open, false)
}

// modelCycle runs two replicas (each its own store handle, job service,
// reconciler and API server, sharing the artifact folder) through the
// whole way of a model: the original's job body, train, export in both
// formats, validate, tampered bytes, deploy, overlap, score, replace,
// undeploy (the old one is back), undeploy again (409 on score).
func modelCycle(t *testing.T, dir string, open func() store.Store, browser bool) {
	buildSagetrain(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var reps []*harness
	for _, owner := range []string{"a", "b"} {
		st := open()
		lb, err := local.New(local.Options{Root: filepath.Join(dir, "local"), Executable: sagetrainBin, StopGrace: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		svc := jobs.New(st, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, Owner: owner,
			PollInterval: 200 * time.Millisecond, ArtifactRoot: filepath.Join(dir, "artifacts")})
		ms, err := models.Open(st, svc.ArtifactRoot())
		if err != nil {
			t.Fatal(err)
		}
		srv := New(Options{Jobs: FromJobs(svc), Store: st, Tokens: []string{testToken}, Models: ms, ListCacheTTL: -1, DataRoots: []string{sampleDir}})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		reps = append(reps, &harness{t: t, srv: srv, ts: ts})
		done := make(chan struct{})
		go func() { defer close(done); RunReconciler(ctx, svc, 200*time.Millisecond, nil, nil) }()
		t.Cleanup(func() { stop(); <-done })
	}
	a, b := reps[0], reps[1]

	// The original application's TrainingConfigRequest, top-level fields and all.
	body := fmt.Sprintf(`{"job_name":"cycle","environment":"local","dataset_folder":%q,"metadata_file":%q,"channels":{"test":%q},
		"epochs":3,"learning_rate":0.002,"batch_size":16,"train_split":0.7,"validation_split":0.15,"test_split":0.15,
		"instance_type":"ml.m5.large","instance_count":1,"hyperparameters":{"min_samples":"15","hidden_sizes":"32,16"}}`,
		filepath.Join(sampleDir, "training"), filepath.Join(sampleDir, "training", "metadata.csv"), filepath.Join(sampleDir, "test"))
	var job JobView
	a.json("POST", Prefix+"/jobs", body, 201, &job)
	var sp map[string]any
	if err := json.Unmarshal(job.Spec, &sp); err != nil {
		t.Fatal(err)
	}
	hp, _ := sp["hyperparameters"].(map[string]any)
	if hp["epochs"] != "3" || hp["learning_rate"] != "0.002" || hp["batch_size"] != "16" || hp["min_samples"] != "15" || sp["instance_type"] != "ml.m5.large" {
		t.Fatalf("the original's fields did not reach the spec: %s", job.Spec)
	}
	a.json("POST", Prefix+"/jobs", `{"job_name":"bad-splits","epochs":3,"train_split":0.9,"test_split":0.2}`, 422, nil)
	deadline := time.Now().Add(150 * time.Second)
	for {
		var v JobView
		b.json("GET", Prefix+"/jobs/"+job.ID, "", 200, &v)
		if v.Status == "completed" {
			break
		}
		if store.Status(v.Status).Terminal() || time.Now().After(deadline) {
			t.Fatalf("job %s is %s: %s", job.ID, v.Status, v.FailureReason)
		}
		time.Sleep(200 * time.Millisecond)
	}

	type exportResp struct {
		ModelID string     `json:"model_id"`
		Model   ExportView `json:"model"`
	}
	var full, onnx, spoilt exportResp
	a.json("POST", Prefix+"/models/export?training_job_id="+job.ID, "", 201, &full)
	b.json("POST", Prefix+"/models/export", `{"training_job_id":"`+job.ID+`","export_format":"onnx","age_group_min":2,"age_group_max":18}`, 201, &onnx)
	a.json("POST", Prefix+"/models/export?training_job_id="+job.ID, "", 201, &spoilt)
	if full.Model.ExportFormat != "sagetrain" || onnx.Model.ExportFormat != "onnx" || len(full.Model.SHA256) != 64 ||
		full.Model.TrainerVersion == "" || !strings.Contains(string(full.Model.Metrics), "test_auroc") || full.Model.TrainingJobID != job.ID {
		t.Fatalf("exports: %+v %+v", full.Model, onnx.Model)
	}
	if onnx.Model.AgeGroupMin != 2 || onnx.Model.AgeGroupMax != 18 {
		t.Fatalf("onnx export range %d-%d", onnx.Model.AgeGroupMin, onnx.Model.AgeGroupMax)
	}
	a.json("POST", Prefix+"/models/export", `{"training_job_id":"`+job.ID+`","age_group_min":40,"age_group_max":41}`, 422, nil)
	a.json("POST", Prefix+"/models/export", `{"training_job_id":"`+job.ID+`","export_format":"zip"}`, 422, nil)
	var list struct {
		Success bool
		Count   int
		Models  []ExportView
	}
	b.json("GET", Prefix+"/models/exports", "", 200, &list)
	if !list.Success || list.Count != 3 || len(list.Models) != 3 {
		t.Fatalf("exports list: %+v", list)
	}
	type validation struct {
		IsValid bool `json:"is_valid"`
		Result  struct {
			Checks []models.Check `json:"checks"`
		} `json:"validation_result"`
	}
	for _, id := range []string{full.ModelID, onnx.ModelID} {
		var v validation
		b.json("POST", Prefix+"/models/validate?model_id="+id, "", 200, &v)
		if !v.IsValid || len(v.Result.Checks) != 4 {
			t.Fatalf("validate %s: %+v", id, v)
		}
	}
	// One changed byte of the weights fails validation, and deploy refuses it.
	wf := filepath.Join(dir, "models", spoilt.ModelID, trainer.WeightsFile)
	w, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	w[len(w)/2] ^= 1
	if err := os.WriteFile(wf, w, 0o644); err != nil {
		t.Fatal(err)
	}
	var bad validation
	a.json("POST", Prefix+"/models/validate?model_id="+spoilt.ModelID, "", 200, &bad)
	if bad.IsValid || bad.Result.Checks[0].Name != "checksum" || bad.Result.Checks[0].OK {
		t.Fatalf("tampered export validates: %+v", bad)
	}
	a.json("POST", Prefix+"/models/deploy?model_id="+spoilt.ModelID, "", 409, nil)

	// The drawing to score, and its feature vector for the JSON form.
	img, age := firstTestImage(t)
	vec, err := features.ImageFileVector(img, "")
	if err != nil {
		t.Fatal(err)
	}
	score := func(h *harness, want int) []models.Result {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", filepath.Base(img))
		raw, _ := os.ReadFile(img)
		fw.Write(raw)
		mw.WriteField("age_years", fmt.Sprint(age))
		mw.Close()
		req, _ := http.NewRequest("POST", h.ts.URL+ScorePath, &buf)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Results []models.Result }
		var rawBody bytes.Buffer
		rawBody.ReadFrom(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("score = %d, want %d: %s", resp.StatusCode, want, rawBody.String())
		}
		json.Unmarshal(rawBody.Bytes(), &out)
		return out.Results
	}
	score(a, 409) // nothing deployed yet

	type deployResp struct {
		DeploymentID string         `json:"deployment_id"`
		Deployment   DeploymentView `json:"deployment"`
	}
	var d1, d2 deployResp
	a.json("POST", Prefix+"/models/deploy?model_id="+full.ModelID+"&replace_existing=false", "", 201, &d1)
	b.json("POST", Prefix+"/models/deploy", `{"model_id":"`+onnx.ModelID+`","age_group_min":5,"age_group_max":6}`, 409, nil)
	r := score(b, 200)
	if len(r) != 1 || r[0].ModelID != full.ModelID || r[0].DeploymentID != d1.DeploymentID || r[0].AgeGroup == "" || r[0].Threshold <= 0 {
		t.Fatalf("score with d1: %+v", r)
	}
	// The same drawing scored by the export folder itself, and as JSON features.
	m, err := trainer.LoadModel(filepath.Join(dir, "models", full.ModelID))
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.ScoreImage(img, "", age)
	if err != nil {
		t.Fatal(err)
	}
	if r[0].Score != want.Score || r[0].Verdict != want.Verdict || r[0].AgeGroup != want.Group {
		t.Fatalf("API score %+v, the model's own %+v", r[0], want)
	}
	// What the threshold promises and the single-feature guard come through too.
	if r[0].ThresholdMethod != want.ThresholdMethod || r[0].ExpectedFPR != want.ExpectedFPR ||
		r[0].LargestFeatureShare != want.LargestFeatureShare || r[0].LargestFeature != want.LargestFeature || r[0].ThresholdMethod == "" {
		t.Fatalf("API score lacks the calibration or the feature guard: %+v, the model's own %+v", r[0], want)
	}
	vb, _ := json.Marshal(map[string]any{"features": vec, "age_years": age})
	var jr struct{ Results []models.Result }
	a.json("POST", ScorePath, string(vb), 200, &jr)
	if len(jr.Results) != 1 || jr.Results[0].Score != want.Score {
		t.Fatalf("JSON features score %+v, want %g", jr.Results, want.Score)
	}

	// Replace with the ONNX export (backup kept), then undeploy it: d1 is back.
	b.json("POST", Prefix+"/models/deploy", `{"model_id":"`+onnx.ModelID+`","age_group_min":2,"age_group_max":18,"replace_existing":true}`, 201, &d2)
	var deployed struct {
		Count  int
		Models []DeploymentView
	}
	a.json("GET", Prefix+"/models/deployed", "", 200, &deployed)
	if deployed.Count != 1 || deployed.Models[0].ID != d2.DeploymentID || deployed.Models[0].ModelID != onnx.ModelID ||
		!strings.HasPrefix(deployed.Models[0].DeployedBy, "token:") || deployed.Models[0].ThresholdSource == "" {
		t.Fatalf("deployed after replace: %+v", deployed)
	}
	if r := score(a, 200); r[0].DeploymentID != d2.DeploymentID || r[0].ModelID != onnx.ModelID {
		t.Fatalf("score after replace: %+v", r)
	}
	var und struct {
		Restored []DeploymentView
	}
	a.json("POST", Prefix+"/models/"+d2.DeploymentID+"/undeploy", "", 200, &und)
	if len(und.Restored) != 1 || und.Restored[0].ID != d1.DeploymentID {
		t.Fatalf("undeploy restored %+v, want %s", und.Restored, d1.DeploymentID)
	}
	if r := score(b, 200); r[0].DeploymentID != d1.DeploymentID {
		t.Fatalf("score after undeploy: %+v, want the old deployment back", r)
	}
	b.json("POST", Prefix+"/models/"+d1.DeploymentID+"/undeploy", "", 200, nil)
	b.json("POST", Prefix+"/models/"+d1.DeploymentID+"/undeploy", "", 409, nil)
	score(a, 409)
	var hist struct{ Count int }
	a.json("GET", Prefix+"/models/deployed?include_history=true", "", 200, &hist)
	if hist.Count != 2 {
		t.Fatalf("history holds %d deployments, want 2", hist.Count)
	}

	// The dashboard: the age-group table, the exports and their buttons.
	cl := a.login(t, testToken)
	page := func() string {
		resp, err := cl.Get(a.ts.URL + "/jobs/" + job.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return b.String()
	}
	html := page()
	for _, want := range []string{`id="groups"`, "AUROC", "FPR", `id="exports"`, full.ModelID, `class="deploy-button"`, "ROC curve, all age groups", "test scores, age group"} {
		if !strings.Contains(html, want) {
			t.Fatalf("job page lacks %q", want)
		}
	}
	noRedirect := &http.Client{Jar: cl.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code := a.dashDo(t, noRedirect, "POST", "/jobs/"+job.ID+"/models/"+full.ModelID+"/deploy"); code != http.StatusSeeOther {
		t.Fatalf("dashboard deploy answered %d", code)
	}
	if html := page(); !strings.Contains(html, `class="undeploy-button"`) {
		t.Fatal("after the dashboard's deploy the page shows no undeploy button")
	}
	var after struct{ Models []DeploymentView }
	a.json("GET", Prefix+"/models/deployed", "", 200, &after)
	if len(after.Models) != 1 || after.Models[0].DeployedBy != "dashboard" {
		t.Fatalf("deployed after the dashboard: %+v", after.Models)
	}
	if code := a.dashDo(t, noRedirect, "POST", "/jobs/"+job.ID+"/deployments/"+after.Models[0].ID+"/undeploy"); code != http.StatusSeeOther {
		t.Fatalf("dashboard undeploy answered %d", code)
	}

	if browser {
		browserDeploy(t, a, job.ID, full.ModelID)
	}

	// The original's one-call /deploy.
	var dj deployResp
	a.json("POST", Prefix+"/deploy?training_job_id="+job.ID, "", 201, &dj)
	if r := score(b, 200); r[0].DeploymentID != dj.DeploymentID {
		t.Fatalf("score after /deploy: %+v", r)
	}
}

// firstTestImage is a test image of the sample data and its age.
func firstTestImage(t *testing.T) (string, float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(sampleDir, "test", "metadata.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("test metadata: %v", err)
	}
	var age float64
	fmt.Sscan(rows[1][1], &age)
	return filepath.Join(sampleDir, "test", "images", rows[1][0]), age
}

// Hostile input to the model routes gets a clear 4xx, never a 500 or an echo.
func TestModelRoutesRefuseHostileInput(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("a", 5000)
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", Prefix + "/models/validate?model_id=" + long, "", 400},
		{"POST", Prefix + "/models/validate?model_id=%3Cscript%3E", "", 400},
		{"POST", Prefix + "/models/export?training_job_id=x&bogus=1", "", 400},
		{"POST", Prefix + "/models/export", `{"training_job_id":"x","age_group_min":2.5,"age_group_max":4}`, 400},
		{"POST", Prefix + "/models/export", `{"training_job_id":"x","age_group_min":2}`, 422},
		{"POST", Prefix + "/models/deploy", `{"model_id":"x","replace_existing":"maybe"}`, 400},
		{"POST", Prefix + "/models/" + long + "/undeploy", "", 400},
		{"POST", ScorePath, `{"features":"nope","age_years":7}`, 400},
		{"POST", ScorePath, `{"features":[1,2],"age_years":-3}`, 422},
		{"POST", ScorePath, `{"features":[1,2]}`, 400},
	} {
		code, raw, _ := h.do(c.method, c.path, testToken, strings.NewReader(c.body))
		if code != c.want || strings.Contains(string(raw), long[:200]) || strings.Contains(string(raw), "<script>") {
			t.Errorf("%s %s %s = %d %.200s, want %d", c.method, c.path[:min(len(c.path), 90)], c.body, code, raw, c.want)
		}
		errorCode(t, raw)
	}
	code, raw, _ := h.do("POST", ScorePath, testToken, nil, "Content-Type", "text/plain")
	if code != 415 {
		t.Errorf("score as text/plain = %d %s", code, raw)
	}
}
