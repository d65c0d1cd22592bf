package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/store"
)

// checkExportCarriesProvenance exports the completed job j and checks that
// the export's model.json and export.json carry the trained model.json's
// provenance block byte for byte (compacted), and still validates.
func checkExportCarriesProvenance(t *testing.T, st store.Store, j *store.Job, trainedModelJSON []byte) {
	t.Helper()
	var src struct {
		Provenance json.RawMessage `json:"provenance"`
	}
	if err := json.Unmarshal(trainedModelJSON, &src); err != nil || len(src.Provenance) < 10 {
		t.Fatalf("trained model.json has no provenance block (%v)", err)
	}
	want := compactJSON(t, src.Provenance)
	ms := models.New(st.(store.ModelStore), st, filepath.Join(t.TempDir(), "models"))
	whole, err := ms.Export(context.Background(), models.ExportRequest{JobID: j.ID, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*store.Export{whole} {
		for _, file := range []string{"model.json", models.ExportFile} {
			b, err := os.ReadFile(filepath.Join(e.Location, file))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Provenance json.RawMessage `json:"provenance"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if g := compactJSON(t, got.Provenance); !bytes.Equal(g, want) {
				t.Errorf("export %s %s provenance\n%s\nwant the trained model's\n%s", e.ID, file, g, want)
			}
		}
		v, err := ms.Validate(context.Background(), e.ID)
		if err != nil || !v.Valid {
			t.Errorf("export %s does not validate: %+v %v", e.ID, v, err)
		}
	}
}

func compactJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
