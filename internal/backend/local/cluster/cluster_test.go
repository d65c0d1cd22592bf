package cluster

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/container"
)

// sh runs script as the trainer: $2 is the host's ml-root.
func sh(script string) []string { return []string{"/bin/sh", "-c", script, "sh"} }

func prepared(t *testing.T, n int) Layout {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(src+"/a.csv", []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := Layout{Root: t.TempDir(), Hosts: Hosts(n), HyperParameters: map[string]string{"epochs": "2"},
		Channels: []Channel{{Name: "training", Source: src, Config: ChannelConfig("File", "FullyReplicated", "")}}}
	if err := l.Prepare(); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPrepareLaysOutEveryHost(t *testing.T) {
	l := prepared(t, 2)
	for _, h := range l.Hosts {
		root := l.HostRoot(h)
		if b, err := os.ReadFile(container.Path(root, container.DataDir, "training", "a.csv")); err != nil || string(b) != "x\n" {
			t.Fatalf("%s's channel: %q %v", h, b, err)
		}
		rc, err := os.ReadFile(container.Path(root, container.ConfigDir, container.ResourceConfigFile))
		if err != nil || !strings.HasPrefix(string(rc), `{"current_host":"`+h+`","current_instance_type":"","hosts":["algo-1","algo-2"]`) {
			t.Fatalf("%s's resourceconfig.json: %s %v", h, rc, err)
		}
		if hp, _ := os.ReadFile(container.Path(root, container.ConfigDir, container.HyperparametersFile)); string(hp) != `{"epochs":"2"}` {
			t.Fatalf("%s's hyperparameters.json: %s", h, hp)
		}
	}
}

func TestOneHostFailingStopsTheOthers(t *testing.T) {
	l := prepared(t, 2)
	var mu sync.Mutex
	var lines []string
	// algo-2 fails once algo-1 has its TERM trap and its child: a SIGTERM
	// that came earlier would find the shell's default action, a race of
	// the script's and not of Start's (seen under -race on a busy machine).
	ready := t.TempDir() + "/algo-1-ready"
	run, err := Start(Trainers{Layout: l, Grace: 5 * time.Second,
		Command: sh(`trap 'echo term; kill $!; exit 143' TERM
if [ "$SM_CURRENT_HOST" = algo-2 ]; then
  while [ ! -e ` + ready + ` ]; do sleep 0.01; done
  echo broken > "$2/output/failure"; exit 3
fi
echo "up $SAGETRAIN_HOST_ADDRESSES"; sleep 30 & touch ` + ready + `; wait $!`),
		Line: func(h, line string) { mu.Lock(); lines = append(lines, h+": "+line); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := run.Wait()
	if time.Since(start) > 4*time.Second {
		t.Fatalf("algo-1 was not stopped when algo-2 failed (%s)", time.Since(start))
	}
	if res.FailedHost != "algo-2" || res.Stopped || res.ExitCodes()["algo-2"] != 3 || res.ExitCodes()["algo-1"] != 143 {
		t.Fatalf("result %+v codes %v", res, res.ExitCodes())
	}
	if got := l.Failure("algo-2"); got != "broken" {
		t.Fatalf("failure %q", got)
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "algo-1: up algo-1=127.0.0.1:") || !strings.Contains(all, "algo-1: term") {
		t.Fatalf("lines:\n%s", all)
	}
}

func TestStopKillsAfterTheGrace(t *testing.T) {
	l := prepared(t, 1)
	run, err := Start(Trainers{Layout: l, Grace: 200 * time.Millisecond, OwnGroup: true,
		Command: sh(`trap '' TERM; echo ready; while :; do sleep 1; done`)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	run.Stop()
	select {
	case <-run.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a trainer ignoring SIGTERM was not killed")
	}
	if res := run.Wait(); !res.Stopped || res.FailedHost != "" || res.ExitCodes()["algo-1"] != -1 {
		t.Fatalf("result %+v", res)
	}
}

func TestStartFailureSaysWhich(t *testing.T) {
	l := prepared(t, 1)
	if _, err := Start(Trainers{Layout: l, Command: []string{"/no/such/trainer"}}); err == nil || !strings.Contains(err.Error(), "algo-1") {
		t.Fatalf("err %v", err)
	}
}

func TestAChildHoldingTheOutputDoesNotHoldWait(t *testing.T) {
	l := prepared(t, 1)
	// The shell ignores SIGTERM and is killed after the grace; its sleep,
	// outside the signalled process, keeps the output pipe open for 30 s.
	run, err := Start(Trainers{Layout: l, Grace: 200 * time.Millisecond,
		Command: sh(`trap '' TERM; sleep 30 & echo ready; while :; do sleep 1; done`)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	run.Stop()
	select {
	case <-run.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Wait waited for the trainer's child")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("done after %s, before the grace", d)
	}
	if res := run.Wait(); res.ExitCodes()["algo-1"] != -1 {
		t.Fatalf("result %+v", res)
	}
}
