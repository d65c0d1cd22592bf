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
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/events"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// hookReceiver records the webhook deliveries it accepts; it refuses the
// first failFirst with a 500.
type hookReceiver struct {
	mu        sync.Mutex
	failFirst int
	n         int
	got       []hookDelivery
}

type hookDelivery struct {
	id, sig string
	body    []byte
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	if h.n <= h.failFirst {
		w.WriteHeader(500)
		return
	}
	h.got = append(h.got, hookDelivery{id: r.Header.Get(events.EventIDHeader), sig: r.Header.Get(events.SignatureHeader), body: b})
	w.WriteHeader(204)
}

func (h *hookReceiver) deliveries() []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookDelivery(nil), h.got...)
}

// TestServeKilledBeforeDeliveryDeliversAfterRestart: a local job runs to
// completed under a serve whose webhook receiver is down, so every status
// change is committed and none delivered; serve is killed (SIGKILL). The
// receiver comes up, refusing its first two deliveries; a new serve on the
// same store delivers every event of the job, each once after
// de-duplication by id, signed, in order.
func TestServeKilledBeforeDeliveryDeliversAfterRestart(t *testing.T) {
	bin := jobsBuildBinary(t)
	home := t.TempDir()
	data := filepath.Join(home, "data")
	if out, err := exec.Command(bin, "sample-data", data, "--train", "160", "--test", "40", "--size", "32").CombinedOutput(); err != nil {
		t.Fatalf("sample-data: %v\n%s", err, out)
	}
	secretFile := filepath.Join(home, "secret")
	if err := os.WriteFile(secretFile, []byte("a-webhook-secret-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hookAddr := serveFreeAddr(t) // nothing listens there yet
	db := filepath.Join(home, "jobs.db")
	start := func() (string, *exec.Cmd, *testpeer.SyncBuffer) {
		addr := serveFreeAddr(t)
		cmd := exec.Command(bin, "serve", "--addr", addr, "--poll", "300ms", "--db", db, "-o", "json", "--data-root", data,
			"--webhook-url", "http://"+hookAddr+"/hook", "--webhook-secret-file", secretFile)
		cmd.Env = serveEnv(home, "SAGETRAIN_API_TOKENS="+serveTestToken)
		stdout, _ := cmd.StdoutPipe()
		stderr := &testpeer.SyncBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		var hello struct{ URL string }
		if err := json.NewDecoder(stdout).Decode(&hello); err != nil {
			t.Fatalf("serve did not start (%v):\n%s", err, stderr.String())
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		return hello.URL, cmd, stderr
	}
	call := func(url, method, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+serveTestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v %s", method, path, err, b)
		}
	}

	url1, serve1, stderr1 := start()
	var job struct{ ID, Status string }
	call(url1, "POST", "/api/v1/training/jobs", fmt.Sprintf(`{"job_name":"hooked","dataset_folder":%q,"hyperparameters":{"epochs":"3","min_samples":"15","hidden_sizes":"32,16"}}`,
		filepath.Join(data, "training")), &job)
	deadline := time.Now().Add(120 * time.Second)
	for job.Status != "completed" {
		if time.Now().After(deadline) || job.Status == "failed" {
			t.Fatalf("job is %s; serve stderr:\n%s", job.Status, stderr1.String())
		}
		time.Sleep(300 * time.Millisecond)
		call(url1, "GET", "/api/v1/training/jobs/"+job.ID, "", &job)
	}
	var page struct {
		Events []struct {
			ID, Type, State string
			Attempts        int
		}
	}
	call(url1, "GET", "/api/v1/training/events?job_id="+job.ID, "", &page)
	if n := len(page.Events); n < 3 || page.Events[n-1].Type != "job.completed" {
		t.Fatalf("outbox before the kill: %+v", page.Events)
	}
	for _, e := range page.Events {
		if e.State != "pending" {
			t.Fatalf("event %s is %s with the receiver down", e.ID, e.State)
		}
	}
	_ = serve1.Process.Kill() // SIGKILL: no shutdown of any kind
	_ = serve1.Wait()

	rcv := &hookReceiver{failFirst: 2}
	ln, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rcv}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	url2, _, stderr2 := start()
	want := len(page.Events)
	deadline = time.Now().Add(90 * time.Second)
	for {
		call(url2, "GET", "/api/v1/training/events?job_id="+job.ID+"&state=pending", "", &page)
		if len(page.Events) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after restart: %+v\nserve stderr:\n%s", page.Events, stderr2.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	call(url2, "GET", "/api/v1/training/events?job_id="+job.ID, "", &page)
	seen := map[string]bool{}
	var order []string
	for _, d := range rcv.deliveries() {
		if !events.Verify([]byte("a-webhook-secret-123"), d.body, d.sig) {
			t.Errorf("event %s: bad signature", d.id)
		}
		var b struct {
			ID  string
			Job struct{ ID, Status string }
		}
		if err := json.Unmarshal(d.body, &b); err != nil || b.ID != d.id || b.Job.ID != job.ID {
			t.Errorf("delivery %s: %s", d.id, d.body)
		}
		if !seen[d.id] {
			seen[d.id] = true
			order = append(order, d.id)
		}
	}
	if len(order) != want || len(page.Events) != want {
		t.Fatalf("received %d distinct events, the outbox holds %d (%d before the kill)", len(order), len(page.Events), want)
	}
	for i, e := range page.Events {
		if e.State != "delivered" || order[i] != e.ID {
			t.Errorf("event %d: %s %s, received as %s", i, e.ID, e.State, order[i])
		}
	}
	if page.Events[0].Attempts < 3 {
		t.Errorf("the first event took %d attempts; the receiver refused two after the restart", page.Events[0].Attempts)
	}
}

func TestServeRefusesBadWebhookSetups(t *testing.T) {
	bin := jobsBuildBinary(t)
	home := t.TempDir()
	secret := filepath.Join(home, "secret")
	short := filepath.Join(home, "short")
	_ = os.WriteFile(secret, []byte("long-enough-secret\n"), 0o600)
	_ = os.WriteFile(short, []byte("abc\n"), 0o600)
	base := []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(home, "jobs.db")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook-url", "http://127.0.0.1:9/x"}, "needs --webhook-secret-file"},
		{[]string{"--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret-file", short}, "shorter than 8"},
		{[]string{"--webhook-url", "ftp://127.0.0.1/x", "--webhook-secret-file", secret}, "not an absolute http"},
		{[]string{"--webhook-url", "http://u:p@127.0.0.1:9/x", "--webhook-secret-file", secret}, "carries credentials"},
		{[]string{"--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret-file", secret, "--webhook-events", "complete"}, "matches no event"},
		{[]string{"--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret-file", secret, "--webhook-format", "xml"}, "unknown --webhook-format"},
	} {
		cmd := exec.Command(bin, append(base, c.args...)...)
		cmd.Env = serveEnv(home, "SAGETRAIN_API_TOKENS="+serveTestToken)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v: %v\n%s\nwant exit 2 and %q", c.args, err, out, c.want)
		}
	}
}
