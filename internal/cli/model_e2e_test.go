package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelCommandsEndToEnd trains with quickstart, then exports (ONNX),
// validates, deploys, scores with --deployed (the same score as --model on
// the export folder), undeploys, and scoring then fails with what to do.
func TestModelCommandsEndToEnd(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	out, errOut, code := jobsRun(t, home, "quickstart", "--epochs", "3", "--train", "300", "--test", "80", "--size", "32", "-o", "json")
	if code != 0 {
		t.Fatalf("quickstart exited %d\nstderr:\n%s", code, errOut)
	}
	var rep struct {
		JobID string `json:"job_id"`
	}
	jobsDecode(t, out, &rep)
	data := filepath.Join(t.TempDir(), "data")
	if _, errOut, code := jobsRun(t, home, "sample-data", data, "--train", "0", "--test", "3", "--size", "32"); code != 0 {
		t.Fatalf("sample-data: %s", errOut)
	}
	imgs, _ := filepath.Glob(filepath.Join(data, "test", "images", "*.png"))
	if len(imgs) == 0 {
		t.Fatal("no sample image")
	}

	out, errOut, code = jobsRun(t, home, "model", "export", rep.JobID, "--format", "onnx", "-o", "json")
	if code != 0 {
		t.Fatalf("model export (%d): %s", code, errOut)
	}
	var exp struct {
		ModelID  string `json:"model_id"`
		Location string `json:"location"`
		SHA256   string `json:"sha256"`
	}
	jobsDecode(t, out, &exp)
	if _, err := os.Stat(filepath.Join(exp.Location, "model.onnx")); err != nil || len(exp.SHA256) != 64 {
		t.Fatalf("export %+v: %v", exp, err)
	}
	out, _, code = jobsRun(t, home, "model", "list")
	if code != 0 || !strings.Contains(out, exp.ModelID) {
		t.Fatalf("model list: %s", out)
	}
	if out, errOut, code := jobsRun(t, home, "model", "validate", exp.ModelID); code != 0 || !strings.Contains(out, "checksum") {
		t.Fatalf("model validate (%d): %s %s", code, out, errOut)
	}
	out, errOut, code = jobsRun(t, home, "model", "deploy", exp.ModelID, "-o", "json")
	if code != 0 {
		t.Fatalf("model deploy (%d): %s", code, errOut)
	}
	var dep struct {
		Deployment struct {
			ID string `json:"id"`
		} `json:"deployment"`
	}
	jobsDecode(t, out, &dep)
	if _, errOut, code := jobsRun(t, home, "model", "deploy", exp.ModelID); code == 0 || !strings.Contains(errOut, "replace") {
		t.Fatalf("overlapping deploy without --replace (%d): %s", code, errOut)
	}
	out, _, _ = jobsRun(t, home, "model", "deployed")
	if !strings.Contains(out, dep.Deployment.ID) {
		t.Fatalf("model deployed: %s", out)
	}
	type score struct {
		Score        float64 `json:"score"`
		DeploymentID string  `json:"deployment_id"`
	}
	var viaDeployed, viaModel []score
	out, errOut, code = jobsRun(t, home, "score", "--deployed", "--age", "8.5", imgs[0], "-o", "json")
	if code != 0 {
		t.Fatalf("score --deployed (%d): %s", code, errOut)
	}
	jobsDecode(t, out, &viaDeployed)
	out, errOut, code = jobsRun(t, home, "score", "--model", exp.Location, "--age", "8.5", imgs[0], "-o", "json")
	if code != 0 {
		t.Fatalf("score --model (%d): %s", code, errOut)
	}
	jobsDecode(t, out, &viaModel)
	if len(viaDeployed) != 1 || viaDeployed[0].DeploymentID != dep.Deployment.ID || viaDeployed[0].Score != viaModel[0].Score {
		t.Fatalf("score --deployed %+v, --model %+v", viaDeployed, viaModel)
	}
	if _, errOut, code := jobsRun(t, home, "model", "undeploy", dep.Deployment.ID); code != 0 {
		t.Fatalf("undeploy: %s", errOut)
	}
	if _, errOut, code := jobsRun(t, home, "score", "--deployed", "--age", "8.5", imgs[0]); code == 0 || !strings.Contains(errOut, "no active deployment") {
		t.Fatalf("score after undeploy (%d): %s", code, errOut)
	}
}
