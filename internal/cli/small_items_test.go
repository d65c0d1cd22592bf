package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// Values that used to be bent quietly are refused with the valid ones.
func TestRefusedFlagValues(t *testing.T) {
	db := filepath.Join(t.TempDir(), "jobs.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "-o", "yaml", "--db", db}, "use -o table or -o json"},
		{[]string{"list", "--backend", "aws", "--db", db}, "--backend local or --backend sagemaker"},
		{[]string{"list", "--limit", "5000", "--db", db}, "1 to 1000"},
		{[]string{"role", "create", "sagetrain-training", "--bucket", "b", "--repository", "r", "--input-prefix", "s3://b/data"}, "is a URI, not a key prefix"},
		{[]string{"role", "create", "bad name!", "--bucket", "b", "--repository", "r"}, "not a valid IAM role name"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// The "more:" hint repeats the filters, so it shows the next page of the same list.
func TestListMoreKeepsFilters(t *testing.T) {
	db := filepath.Join(t.TempDir(), "jobs.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		j := &store.Job{ID: store.NewID(), Name: "nightly", RemoteName: "nightly-" + string(rune('a'+i)), Backend: "local", Spec: []byte(`{}`), Status: store.StatusFailed}
		if _, _, err := st.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errOut := runCLI(t, "list", "--db", db, "--name", "nightly", "--status", "failed", "--limit", "1")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	i := strings.Index(out, "more: sagetrain list ")
	if i < 0 {
		t.Fatalf("no more: hint:\n%s", out)
	}
	hint := out[i:]
	for _, want := range []string{"--name nightly", "--status failed", "--limit 1", "--db " + db, "--cursor "} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q lacks %q", hint, want)
		}
	}
}

// Ctrl-C: exit 130 and one short line.
func TestInterruptExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"list", "--db", filepath.Join(t.TempDir(), "jobs.db")}, &out, &errb)
	if code != 130 || !strings.HasPrefix(errb.String(), "interrupted") || strings.Count(errb.String(), "\n") > 1 {
		t.Errorf("interrupted list: exit %d, %q", code, errb.String())
	}
}
