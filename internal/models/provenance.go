package models

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/sagetrain/sagetrain/internal/trainer"
)

// An export carries the trained model's provenance (image digest, data
// digest, trainer build, hyperparameters as parsed, seed) as model.json
// wrote it: in the export's model.json and in export.json.

// rawProvenance is the provenance block of dir's model.json, compacted;
// nil when there is none (a model trained before provenance existed).
func rawProvenance(dir string) (json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join(dir, trainer.ManifestFile))
	if err != nil {
		return nil, err
	}
	var m struct {
		Provenance json.RawMessage `json:"provenance"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m.Provenance) == 0 || string(m.Provenance) == "null" {
		return nil, nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, m.Provenance); err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

// keepProvenance makes the export's model.json (in dst) carry want, the
// source's block, byte for byte. WriteSubset re-encodes the manifest, which
// gives the same bytes unless the source had fields this build does not
// know (a newer trainer): then the block is put back as it was.
func keepProvenance(dst string, want json.RawMessage) error {
	if want == nil {
		return nil
	}
	got, err := rawProvenance(dst)
	if err != nil || bytes.Equal(got, want) {
		return err
	}
	path := filepath.Join(dst, trainer.ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	m["provenance"] = want
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}
