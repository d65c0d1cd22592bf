package api

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every server path a job request names must resolve inside a data root.
func TestSubmitPathsMustBeInsideDataRoots(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	ds := filepath.Join(root, "training")
	for _, d := range []string{ds, filepath.Join(root, "test"), filepath.Join(outside, "secret")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ds, "metadata.csv"), []byte("filename,age_years\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link inside the root that leads out of it.
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "passwd.csv")); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.DataRoots = []string{root} })
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := []struct{ field, body string }{
		{"dataset_folder", `{"job_name":"a","dataset_folder":"/etc"}`},
		{"dataset_folder", `{"job_name":"a","dataset_folder":"file:///etc"}`},
		{"dataset_folder", `{"job_name":"a","dataset_folder":` + q(filepath.Join(root, "escape")) + `}`},
		{"dataset_folder", `{"job_name":"a","dataset_folder":` + q(filepath.Join(root, "escape", "not-yet")) + `}`},
		{"dataset_folder", `{"job_name":"a","dataset_folder":` + q(root+"/../"+filepath.Base(outside)) + `}`},
		{"dataset_folder", `{"job_name":"a","dataset_folder":"relative/dir"}`},
		{"metadata_file", `{"job_name":"a","dataset_folder":` + q(ds) + `,"metadata_file":"/proc/self/environ"}`},
		{"metadata_file", `{"job_name":"a","dataset_folder":` + q(ds) + `,"metadata_file":"../passwd.csv"}`},
		{"metadata_file", `{"job_name":"a","dataset_folder":` + q(ds) + `,"metadata_file":"../../../../../../etc/passwd"}`},
		{"channels.test", `{"job_name":"a","dataset_folder":` + q(ds) + `,"channels":{"test":"/tmp"}}`},
		{"channels.test", `{"job_name":"a","input_data_s3_uri":"s3://b/p","channels":{"test":` + q(filepath.Join(root, "escape")) + `}}`},
		{"output_s3_uri", `{"job_name":"a","dataset_folder":` + q(ds) + `,"output_s3_uri":"/anywhere"}`},
		{"output_s3_uri", `{"job_name":"a","dataset_folder":` + q(ds) + `,"output_s3_uri":` + q(filepath.Join(root, "out")) + `}`},
		{"input_data_s3_uri", `{"job_name":"a","input_data_s3_uri":"file:///etc"}`},
	}
	for _, c := range cases {
		code, b, _ := h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(c.body))
		if code != 403 || errorCode(t, b) != "forbidden_path" || !strings.Contains(string(b), c.field) || !strings.Contains(string(b), "--data-root") {
			t.Errorf("%s: %d %s", c.body, code, b)
		}
	}
	// Inside the roots, and s3:// inputs, pass.
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"ok","dataset_folder":`+q(ds)+`,"channels":{"test":`+q(filepath.Join(root, "test"))+`}}`, 201, &j)
	h.json("POST", Prefix+"/jobs", `{"job_name":"s3","input_data_s3_uri":"s3://bucket/prefix","channels":{"test":"s3://bucket/t"}}`, 201, &j)
}

func TestSubmitWithoutDataRootRefusesServerPaths(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	code, b, _ := h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(fmt.Sprintf(`{"job_name":"a","dataset_folder":%q}`, dir)))
	if code != 403 || !strings.Contains(string(b), "no data root") || !strings.Contains(string(b), "dataset_folder") {
		t.Fatalf("%d %s", code, b)
	}
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"s3","input_data_s3_uri":"s3://bucket/prefix"}`, 201, &j)
}

func TestResolveDataRoots(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	got, err := ResolveDataRoots([]string{a}, b+": ")
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ResolveDataRoots([]string{filepath.Join(a, "missing")}, ""); err == nil {
		t.Fatal("a missing data root was accepted")
	}
	if _, err := ResolveDataRoots([]string{"/"}, ""); err == nil {
		t.Fatal("/ was accepted as a data root")
	}
}
