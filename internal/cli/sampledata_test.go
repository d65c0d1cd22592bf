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

func TestSampleDataCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"sample-data", dir, "--train", "12", "--test", "8", "--size", "40", "--anomaly-rate", "0.5", "--output", "json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var s struct {
		Training struct{ Images int }
		Test     struct {
			Images int
			Labels map[string]int
		}
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if s.Training.Images != 12 || s.Test.Images != 8 || s.Test.Labels["normal"] != 4 {
		t.Fatalf("summary %+v", s)
	}
	imgs, _ := filepath.Glob(filepath.Join(dir, "test", "images", "*.png"))
	if len(imgs) != 8 {
		t.Fatalf("%d test images written", len(imgs))
	}
	if _, err := os.Stat(filepath.Join(dir, "training", "metadata.csv")); err != nil {
		t.Fatal(err)
	}

	// an explicit --anomaly-rate 0 writes no anomalies
	out.Reset()
	globals.Output = "table"
	code = Main(context.Background(), []string{"sample-data", filepath.Join(dir, "b"), "--train", "4", "--test", "6", "--size", "32", "--anomaly-rate", "0"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "normal 6") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}

	// a bad size is a configuration error (exit 2) that says what to use
	errOut.Reset()
	code = Main(context.Background(), []string{"sample-data", filepath.Join(dir, "c"), "--size", "4"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "16 to 4096") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
