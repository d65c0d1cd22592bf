package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// The sweep routes on the real job and sweep services. The local backend
// runs /bin/true for a runner, so every trial "dies" at once (failed,
// interrupted): the scheduling is real, the training is not needed.
func TestSweepRoutes(t *testing.T) {
	var (
		js *jobs.Service
		sw *sweep.Service
	)
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "metadata.csv"), []byte("image_path,age\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) {
		lb, err := local.New(local.Options{Root: t.TempDir(), Executable: "/bin/true"})
		if err != nil {
			t.Fatal(err)
		}
		js = jobs.New(o.Store, jobs.Options{Backends: map[string]backend.Backend{"local": lb}, ArtifactRoot: t.TempDir()})
		if sw, err = sweep.New(js); err != nil {
			t.Fatal(err)
		}
		o.Jobs, o.Sweeps = FromJobs(js), sw
	})
	body := func(extra string) string {
		return fmt.Sprintf(`{"spec":{"job_name":"api-sweep","input_data_s3_uri":"s3://drawings/training/"},"objective":"val_loss:min","max_parallel":2,%s}`, extra)
	}
	var v sweep.View
	h.json("POST", Prefix+"/sweeps", body(`"grid":{"hyperparameters.learning_rate":["0.001","0.002","0.003"]}`), 201, &v)
	if len(v.Trials) != 3 || v.Status != "running" || v.Counts.Waiting != 3 {
		t.Fatalf("created sweep: %+v", v)
	}
	ctx := context.Background()
	for i := 0; i < 50 && !store.SweepTerminal(v.Status); i++ {
		if err := sw.Step(ctx); err != nil {
			t.Fatal(err)
		}
		_ = js.ReconcileOnce(ctx)
		h.json("GET", Prefix+"/sweeps/"+v.ID, "", 200, &v)
		if v.Counts.Live > 2 {
			t.Fatalf("%d trials live with max_parallel 2", v.Counts.Live)
		}
	}
	if v.Status != "failed" || v.Counts.Failed != 3 || v.Best != nil {
		t.Fatalf("a sweep whose trials all died: %+v", v)
	}
	var list struct {
		Sweeps []sweep.View `json:"sweeps"`
	}
	h.json("GET", Prefix+"/sweeps", "", 200, &list)
	if len(list.Sweeps) != 1 || list.Sweeps[0].ID != v.ID {
		t.Fatalf("list: %+v", list)
	}
	h.json("POST", Prefix+"/sweeps/"+v.ID+"/cancel", "", 409, nil)

	// A fresh sweep cancelled before its trials start starts none.
	h.json("POST", Prefix+"/sweeps", body(`"grid":{"instance_count":["1","2"]}`), 201, &v)
	h.json("POST", Prefix+"/sweeps/"+v.ID+"/cancel", "", 202, &v)
	if v.Status != "stopped" || v.Counts.Stopped != 2 {
		t.Fatalf("cancelled sweep: %+v", v)
	}

	// Hostile input: fields outside training settings, resume_from, bad objectives and ranges.
	for _, bad := range []string{
		body(`"grid":{"dataset_folder":["/etc"]}`),
		// A server path in the spec itself: this server has no data root, so POST /jobs's path check refuses it.
		fmt.Sprintf(`{"spec":{"job_name":"x","dataset_folder":%q},"objective":"val_loss:min","grid":{"hyperparameters.epochs":["1"]}}`, data),
		body(`"grid":{"environment_variables.LD_PRELOAD":["/tmp/x.so"]}`),
		body(`"random":2,"ranges":{"output_s3_uri":"1:2"}`),
		fmt.Sprintf(`{"spec":{"job_name":"x","dataset_folder":%q,"resume_from":"file:///etc"},"objective":"val_loss:min","grid":{"hyperparameters.epochs":["1"]}}`, data),
		fmt.Sprintf(`{"spec":{"job_name":"x","dataset_folder":%q},"objective":"val_loss:sideways","grid":{"hyperparameters.epochs":["1"]}}`, data),
		body(`"random":2,"ranges":{"hyperparameters.learning_rate":"0:1:log"}`),
		body(`"max_parallel":0,"grid":{}`),
	} {
		h.json("POST", Prefix+"/sweeps", bad, 422, nil)
	}
	h.json("POST", Prefix+"/jobs", `{"job_name":"x","resume_from":"file:///etc"}`, 422, nil)
	h.json("GET", Prefix+"/sweeps/nope", "", 404, nil)
}
