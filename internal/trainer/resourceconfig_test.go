package trainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// TestResourceConfigRejectsBadHosts: an empty or duplicate host name, or a
// current host missing from the list, must fail at once with a
// configuration error instead of hanging the host exchange.
func TestResourceConfigRejectsBadHosts(t *testing.T) {
	cases := map[string]string{
		"empty host":     `{"current_host":"algo-1","hosts":["algo-1",""]}`,
		"duplicate host": `{"current_host":"algo-1","hosts":["algo-1","algo-1"]}`,
		"missing host":   `{"current_host":"algo-3","hosts":["algo-1","algo-2"]}`,
	}
	for name, doc := range cases {
		root := t.TempDir()
		l := Layout{Root: root}
		if err := os.MkdirAll(l.ConfigDir(), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(l.ConfigDir(), "resourceconfig.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readResourceConfig(l); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("%s: want a configuration error, got %v", name, err)
		}
	}
}
