package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

const serveTestToken = "serve-test-token-0123456789"

// serveEnv is the environment of a serve process: a fresh HOME, AWS kept
// out (no region), tokens from the environment.
func serveEnv(home string, extra ...string) []string {
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_DATA_HOME", "SAGETRAIN_DB", "SAGETRAIN_LOCAL_ROOT", "SAGETRAIN_API_TOKENS", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AWS_CONFIG_FILE="+filepath.Join(home, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-aws-credentials"))
	return append(env, extra...)
}

func serveFreeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeRefusesUnsafeSetups(t *testing.T) {
	bin := jobsBuildBinary(t)
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"serve", "--addr", "127.0.0.1:0"}, nil, "no API tokens configured"},
		{[]string{"serve", "--addr", "0.0.0.0:0", "--insecure-no-auth"}, nil, "only allowed on a loopback address"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--insecure-no-auth"}, []string{"SAGETRAIN_API_TOKENS=" + serveTestToken}, "together with API tokens"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--token-file", filepath.Join(home, "missing")}, nil, "cannot read the token file"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = serveEnv(home, c.env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("sagetrain %v: %v\n%s\nwant exit 2 and %q", c.args, err, out, c.want)
		}
	}
}

// TestServeRunsJobsEndToEnd starts `sagetrain serve` as a process, submits a
// local job over HTTP, and waits for its reconciler to complete it.
func TestServeRunsJobsEndToEnd(t *testing.T) {
	bin := jobsBuildBinary(t)
	home := t.TempDir()
	data := filepath.Join(home, "data")
	if out, err := exec.Command(bin, "sample-data", data, "--train", "160", "--test", "40", "--size", "32").CombinedOutput(); err != nil {
		t.Fatalf("sample-data: %v\n%s", err, out)
	}
	addr := serveFreeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--poll", "300ms", "-o", "json", "--data-root", data)
	cmd.Env = serveEnv(home, "SAGETRAIN_API_TOKENS="+serveTestToken)
	stdout, _ := cmd.StdoutPipe()
	stderr := &testpeer.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
	}()
	var hello struct {
		URL      string   `json:"url"`
		Backends []string `json:"backends"`
	}
	if err := json.NewDecoder(stdout).Decode(&hello); err != nil || hello.URL != "http://"+addr {
		t.Fatalf("serve said %+v (%v); stderr:\n%s", hello, err, stderr.String())
	}
	if len(hello.Backends) != 1 || hello.Backends[0] != "local" {
		t.Fatalf("backends without AWS: %v", hello.Backends)
	}
	call := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, hello.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+serveTestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	spec := fmt.Sprintf(`{"job_name":"served","environment":"local","dataset_folder":%q,"channels":{"test":%q},"hyperparameters":{"epochs":"3","min_samples":"15","hidden_sizes":"32,16"}}`,
		filepath.Join(data, "training"), filepath.Join(data, "test"))
	code, b := call("POST", "/api/v1/training/jobs", spec)
	if code != 201 {
		t.Fatalf("submit = %d %s", code, b)
	}
	var job struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal(b, &job)
	deadline := time.Now().Add(120 * time.Second)
	for job.Status != "completed" {
		if time.Now().After(deadline) || job.Status == "failed" || job.Status == "stopped" {
			t.Fatalf("job is %s; serve stderr:\n%s", job.Status, stderr.String())
		}
		time.Sleep(300 * time.Millisecond)
		code, b = call("GET", "/api/v1/training/jobs/"+job.ID, "")
		if code != 200 {
			t.Fatalf("get = %d %s", code, b)
		}
		_ = json.Unmarshal(b, &job)
	}
	code, b = call("GET", "/api/v1/training/jobs/"+job.ID+"/reports", "")
	if code != 200 || !strings.Contains(string(b), "test_auroc") {
		t.Fatalf("report = %d %s", code, b)
	}
	code, b = call("GET", "/api/v1/training/environments/status?environment=sagemaker", "")
	if code != 503 {
		t.Fatalf("sagemaker status without AWS = %d %s", code, b)
	}
	code, b = call("GET", "/metrics", "")
	if code != 200 || !strings.Contains(string(b), `sagetrain_jobs{status="completed"} 1`) || !strings.Contains(string(b), "sagetrain_reconcile_duration_seconds_count") {
		t.Fatalf("metrics = %d", code)
	}
	// SIGTERM: a clean exit.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
}
