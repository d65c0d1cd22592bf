package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// One local job on a SQLite store, from submit to its report. (sagetrainBin
// is this binary's trainer and sampleDir a generated data set, made by
// TestMain; a program would use os.Executable() and its own data.)
func Example_localJobOnSQLite() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sagetrain-example-")
	defer os.RemoveAll(dir)

	st, err := sqlite.Open(ctx, filepath.Join(dir, "jobs.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	lb, err := local.New(local.Options{Root: filepath.Join(dir, "local-jobs"), Executable: sagetrainBin})
	if err != nil {
		fmt.Println(err)
		return
	}
	svc := New(st, Options{Backends: map[string]backend.Backend{"local": lb}, ArtifactRoot: filepath.Join(dir, "artifacts")})

	j, _, err := svc.Submit(ctx, &spec.Spec{
		JobName:         "example",
		DatasetFolder:   filepath.Join(sampleDir, "training"),
		Channels:        map[string]string{"test": filepath.Join(sampleDir, "test")},
		Hyperparameters: map[string]string{"epochs": "3", "min_samples": "15", "hidden_sizes": "32,16"},
	}, SubmitOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for deadline := time.Now().Add(2 * time.Minute); !j.Status.Terminal() && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if err := svc.ReconcileJob(ctx, j.ID); err != nil {
			fmt.Println(err)
		}
		if j, err = svc.Get(ctx, j.ID); err != nil {
			fmt.Println(err)
			return
		}
	}
	r, err := svc.Report(ctx, j.ID)
	if err != nil {
		fmt.Println(j.Status, err)
		return
	}
	fmt.Println(r.Status, r.Backend)
	fmt.Println(slices.Contains(r.Files, "model/model.json"), r.Metrics != nil)
	// Output:
	// completed local
	// true true
}
