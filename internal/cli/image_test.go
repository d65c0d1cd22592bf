package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// image build through the command line: JSON with reference, digest and
// size; an OCI layout and a tarball from one build; the same digest on a
// second build; exit codes of usage and network errors. Pushes are tested
// against real registries in internal/image.
func TestImageBuildCommand(t *testing.T) {
	src, err := filepath.Abs("../image/testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	tarPath := filepath.Join(dir, "img.tar")
	run := func(args ...string) (map[string]any, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, &out, &errb)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var v map[string]any
		if strings.Contains(strings.Join(args, " "), "--output json") || imageTestContains(args, "json") {
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out.String())
			}
		}
		return v, out.String()
	}
	v, _ := run("image", "build", "--source", src, "--revision", "cli-test",
		"--oci-layout", layoutDir, "--tarball", tarPath, "--tag", "sagetrain:cli", "--output", "json")
	digest, _ := v["digest"].(string)
	if !strings.HasPrefix(digest, "sha256:") || v["size_bytes"].(float64) <= 0 {
		t.Fatalf("json %v", v)
	}
	if v["reference"] != tarPath { // the tarball is the main output when no push
		t.Fatalf("reference %v, want %s", v["reference"], tarPath)
	}
	outs, _ := v["outputs"].([]any)
	if len(outs) != 2 || outs[1].(map[string]any)["reference"] != "oci:"+layoutDir+"@"+digest {
		t.Fatalf("outputs %v", outs)
	}
	if _, err := os.Stat(filepath.Join(layoutDir, "oci-layout")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(tarPath); err != nil || st.Size() < 1000 {
		t.Fatalf("tarball: %v", err)
	}

	// Same source, same revision: same digest, in table output too.
	_, text := run("image", "build", "--source", src, "--revision", "cli-test", "--oci-layout", filepath.Join(dir, "again"), "--output", "table")
	if !strings.Contains(text, "@"+digest) {
		t.Fatalf("second build printed %q, want digest %s", text, digest)
	}

	// Errors are configuration errors with exit code 2.
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"image", "build", "--push", "--output", "table"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--push needs --tag") {
		t.Fatalf("--push without --tag: exit %d %s", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"image", "build", "--platform", "windows/amd64"}, &out, &errb); code != 2 {
		t.Fatalf("bad platform: exit %d %s", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"image", "push", filepath.Join(dir, "nothing"), "127.0.0.1:1/x/y"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "neither a file") {
		t.Fatalf("push of a missing image: exit %d %s", code, errb.String())
	}
	errb.Reset()
	// a real image to a closed port: a container (network) error, exit 5
	if code := Main(context.Background(), []string{"image", "push", layoutDir, "127.0.0.1:1/x/y:1"}, &out, &errb); code != 5 || !strings.Contains(errb.String(), "cannot reach the registry") {
		t.Fatalf("push to a closed port: exit %d %s", code, errb.String())
	}
}

func imageTestContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
