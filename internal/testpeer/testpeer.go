package testpeer

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testpeer: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lookBin finds a server binary on PATH or in GOPATH/bin.
func lookBin(t testing.TB, name string, extra ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	cands := append([]string{}, extra...)
	if gp := os.Getenv("GOPATH"); gp != "" {
		cands = append(cands, filepath.Join(gp, "bin", name))
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", name))
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	t.Fatalf("testpeer: %s not found; run scripts/test.sh, which installs it", name)
	return ""
}

// Process is a server started for a test.
type Process struct {
	Name   string
	Addr   string // host:port
	proc   *os.Process
	exited chan struct{}
	out    *SyncBuffer
}

// Output returns what the server printed so far (for failure messages).
func (p *Process) Output() string { return p.out.String() }

// Stop kills the server and waits for it to exit. Safe to call twice.
func (p *Process) Stop() {
	_ = p.proc.Kill()
	<-p.exited
}

// Exited is closed when the server process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// start runs cmd, stops it at the end of the test, and waits until addr
// accepts TCP connections.
func start(t testing.TB, name, addr string, cmd *exec.Cmd) *Process {
	t.Helper()
	buf := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("testpeer: start %s: %v", name, err)
	}
	p := &Process{Name: name, Addr: addr, proc: cmd.Process, exited: make(chan struct{}), out: buf}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("testpeer: %s exited early:\n%s", name, buf.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testpeer: %s did not listen on %s within 60s:\n%s", name, addr, buf.String())
	return nil
}

// SyncBuffer is a buffer that one goroutine (or a child process's output
// copier) writes while another reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func addrOf(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
