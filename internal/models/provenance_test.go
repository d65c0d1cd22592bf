package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A provenance block with a field this build does not know (written by a
// newer trainer) is put back in the export as it was; one this build
// re-encodes identically leaves the file untouched.
func TestKeepProvenancePutsTheSourceBlockBack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	reencoded := "{\n  \"format\": \"x\",\n  \"provenance\": {\"data_digest\": \"sha256:ab\", \"seed\": 7}\n}\n"
	if err := os.WriteFile(path, []byte(reencoded), 0o644); err != nil {
		t.Fatal(err)
	}
	same := json.RawMessage(`{"data_digest":"sha256:ab","seed":7}`)
	if err := keepProvenance(dir, same); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != reencoded {
		t.Fatalf("an equal block rewrote model.json:\n%s", b)
	}
	newer := json.RawMessage(`{"data_digest":"sha256:ab","seed":7,"sbom":"sha256:cd"}`)
	if err := keepProvenance(dir, newer); err != nil {
		t.Fatal(err)
	}
	got, err := rawProvenance(dir)
	if err != nil || string(got) != string(newer) {
		t.Fatalf("provenance after keepProvenance: %s (%v), want %s", got, err, newer)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"format": "x"`) {
		t.Fatalf("the rest of model.json was lost:\n%s", b)
	}
	if err := keepProvenance(dir, nil); err != nil {
		t.Fatal(err)
	}
}
