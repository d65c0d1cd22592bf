package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sagetrain/sagetrain/internal/container"
)

// Trainers says how to start the trainer on every host of a layout.
type Trainers struct {
	Layout Layout
	// Command is the trainer; host h runs Command --ml-root <its root>, in
	// its root.
	Command []string
	// Env is every host's environment; each host adds its own name, HOME
	// (its root) and, with several hosts, the addresses they find each
	// other at.
	Env []string
	// Grace is the time between SIGTERM and SIGKILL.
	Grace time.Duration
	// OwnGroup puts each trainer in a process group of its own and signals
	// the group, reaching the trainer's children; otherwise a trainer stays
	// in its parent's group and is killed when its parent dies.
	OwnGroup bool
	// Line gets each line a trainer writes (stdout and stderr), from one
	// goroutine per host; every call has returned when Wait returns.
	Line func(host, line string)
}

// outputDrain is how long a trainer's output may go on after it exited.
const outputDrain = 2 * time.Second

// Run is the trainers of one job, started.
type Run struct {
	hosts    []string
	cmds     []*exec.Cmd
	grace    time.Duration
	ownGroup bool
	done     chan struct{}

	mu      sync.Mutex
	exits   map[string]error
	failed  string
	stopped bool
	kill    *time.Timer
}

// Result is how the trainers ended.
type Result struct {
	// Exits are each host's exit: nil for status 0, else what waiting for
	// the trainer returned (an *exec.ExitError for a non-zero status).
	Exits map[string]error
	// FailedHost is the first host whose trainer failed before any stop
	// was asked; one host failing stops the others.
	FailedHost string
	// Stopped is whether Stop was called.
	Stopped bool
}

// ExitCode is the status an exit error stands for: 0 for nil, -1 when the
// trainer did not exit by itself (a signal).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// ExitCodes are the hosts' exit statuses (see ExitCode).
func (r Result) ExitCodes() map[string]int {
	codes := make(map[string]int, len(r.Exits))
	for h, err := range r.Exits {
		codes[h] = ExitCode(err)
	}
	return codes
}

// Start starts one trainer per host. When one cannot start, those started
// are killed and waited for, and the error says why.
func Start(t Trainers) (*Run, error) {
	hosts := t.Layout.Hosts
	env := append([]string(nil), t.Env...)
	if len(hosts) > 1 {
		addrs := make([]string, len(hosts))
		for i, h := range hosts {
			port, err := freePort()
			if err != nil {
				return nil, err
			}
			addrs[i] = fmt.Sprintf("%s=127.0.0.1:%d", h, port)
		}
		env = append(env, container.EnvHostAddresses+"="+strings.Join(addrs, ","))
	}
	r := &Run{hosts: hosts, grace: t.Grace, ownGroup: t.OwnGroup, done: make(chan struct{}), exits: map[string]error{}}
	var wg sync.WaitGroup
	for _, h := range hosts {
		root := t.Layout.HostRoot(h)
		cmd := exec.Command(t.Command[0], append(append([]string(nil), t.Command[1:]...), "--ml-root", root)...)
		cmd.Dir = root
		// SAGETRAIN_CURRENT_HOST is the name local trainers always had.
		cmd.Env = append(append([]string(nil), env...), container.EnvCurrentHost+"="+h, "SAGETRAIN_CURRENT_HOST="+h, "HOME="+root)
		if t.OwnGroup {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		} else {
			// Trainers die with their parent, so an interrupted job leaves nothing behind.
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		// A trainer's child that outlives it (killed after the grace, its
		// children not) would hold the output pipe open and Wait with it:
		// once the trainer has exited, its output gets this long to end.
		cmd.WaitDelay = outputDrain
		if err := cmd.Start(); err != nil {
			pw.Close()
			r.mu.Lock()
			r.signal(syscall.SIGKILL)
			r.mu.Unlock()
			wg.Wait()
			r.cancelKill()
			return nil, fmt.Errorf("start the trainer on %s: %w", h, err)
		}
		// Under r.mu: a host started earlier may already have failed and be
		// signalling the others (exited -> terminate) while this one starts;
		// a host that starts after that is told to stop as well.
		r.mu.Lock()
		r.cmds = append(r.cmds, cmd)
		if r.kill != nil {
			r.signal(syscall.SIGTERM)
		}
		r.mu.Unlock()
		wg.Add(2)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64*1024), 1<<20)
			for sc.Scan() {
				if t.Line != nil {
					t.Line(h, sc.Text())
				}
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			pw.Close()
			r.exited(h, err)
		}()
	}
	go func() {
		wg.Wait()
		r.cancelKill()
		close(r.done)
	}()
	return r, nil
}

func (r *Run) exited(h string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exits[h] = err
	if err != nil && r.failed == "" && !r.stopped {
		r.failed = h
		// One host failing fails the job: do not leave the others waiting for it.
		r.terminate(false)
	}
}

// terminate sends SIGTERM and SIGKILL after the grace period; restart
// starts the grace period again when it runs already. r.mu is held.
func (r *Run) terminate(restart bool) {
	r.signal(syscall.SIGTERM)
	switch {
	case r.kill == nil:
		r.kill = time.AfterFunc(r.grace, func() {
			select {
			case <-r.done:
			default:
				r.mu.Lock()
				r.signal(syscall.SIGKILL)
				r.mu.Unlock()
			}
		})
	case restart:
		r.kill.Reset(r.grace)
	}
}

// cancelKill stops a pending SIGKILL once every trainer has exited.
func (r *Run) cancelKill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kill != nil {
		r.kill.Stop()
	}
}

// signal sends sig to every trainer started so far. r.mu is held.
func (r *Run) signal(sig syscall.Signal) {
	for _, c := range r.cmds {
		if r.ownGroup {
			_ = syscall.Kill(-c.Process.Pid, sig)
		} else {
			_ = c.Process.Signal(sig)
		}
	}
}

// Stop asks every trainer to stop: SIGTERM, then SIGKILL after the grace
// period. Stopping more than once does nothing more.
func (r *Run) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	r.terminate(true)
}

// Done is closed once every trainer has exited and its output is read.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait waits for every trainer and tells how they ended.
func (r *Run) Wait() Result {
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{Exits: maps.Clone(r.exits), FailedHost: r.failed, Stopped: r.stopped}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
