package api

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

// The job page and the job's JSON show what a SageMaker job cost.
func TestJobCostOnThePageAndInTheAPI(t *testing.T) {
	h := newHarness(t, nil)
	var v JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"costly"}`, 201, &v)
	h.finish(v.ID, store.StatusCompleted, func(j *store.Job) {
		j.Backend = "sagemaker"
		j.RemoteARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/costly-1"
		j.Spec, _ = json.Marshal(map[string]any{"job_name": "costly", "backend": "sagemaker", "instance_type": "ml.m5.xlarge", "instance_count": 1})
		j.BillableSeconds = 3600
	})
	h.json("GET", Prefix+"/jobs/"+v.ID, "", 200, &v)
	if v.CostUSD == nil || *v.CostUSD != 0.23 || v.Cost == nil || !v.Cost.Final {
		t.Fatalf("cost_usd %v, cost %+v", v.CostUSD, v.Cost)
	}
	resp, err := h.login(t, testToken).Get(h.ts.URL + "/jobs/" + v.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `id="job-cost">$0.2300 (final, pinned-table price of`) {
		t.Fatalf("job page without its cost:\n%s", b)
	}
}
