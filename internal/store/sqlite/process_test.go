package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// The test binary doubles as a second process on the store file when these
// variables are set (see TestTwoProcessesOneFile).
const (
	childPath  = "SAGETRAIN_SQLITE_CHILD_PATH"
	childJob   = "SAGETRAIN_SQLITE_CHILD_JOB"
	childOwner = "SAGETRAIN_SQLITE_CHILD_OWNER"
)

func TestMain(m *testing.M) {
	if p := os.Getenv(childPath); p != "" {
		if err := child(p, os.Getenv(childJob), os.Getenv(childOwner)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const childIncrements = 15

// child increments the counter job childIncrements times (re-reading on
// conflict), then claims 5 jobs with a long lease and prints their ids.
func child(path, jobID, owner string) error {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	for i := 0; i < childIncrements; {
		j, err := s.Get(ctx, jobID)
		if err != nil {
			return err
		}
		j.BillableSeconds++
		err = s.Update(ctx, j)
		if errors.Is(err, errs.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		i++
	}
	var ids []string
	for i := 0; i < 5; i++ { // repeated claims only renew what the owner has
		got, err := s.Claim(ctx, owner, time.Hour, 5)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, j := range got {
			ids = append(ids, j.ID)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(ids)
}

// Real processes, each with its own SQLite connections, on one file: no
// lost update, no job leased twice.
func TestTwoProcessesOneFile(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "jobs.db")
	s := open(t, p)
	counter, _, err := s.Create(ctx, &store.Job{Name: "counter", Status: store.StatusCompleted})
	if err != nil {
		t.Fatal(err)
	}
	const procs = 3
	for i := 0; i < procs*5; i++ {
		if _, _, err := s.Create(ctx, &store.Job{Name: fmt.Sprintf("live-%d", i), Status: store.StatusRunning}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		outs = make([][]byte, procs)
		errs = make([]error, procs)
	)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childPath+"="+p, childJob+"="+counter.ID, fmt.Sprintf("%s=proc-%d", childOwner, i))
			cmd.Stderr = os.Stderr
			outs[i], errs[i] = cmd.Output()
		}(i)
	}
	wg.Wait()
	owner := map[string]int{}
	for i := 0; i < procs; i++ {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		var ids []string
		if err := json.Unmarshal(outs[i], &ids); err != nil {
			t.Fatalf("process %d printed %q: %v", i, outs[i], err)
		}
		if len(ids) != 5 {
			t.Errorf("process %d holds %d jobs, want 5: %v", i, len(ids), ids)
		}
		for _, id := range ids {
			if o, ok := owner[id]; ok {
				t.Errorf("job %s leased to process %d and %d", id, o, i)
			}
			owner[id] = i
		}
	}
	if len(owner) != procs*5 {
		keys := make([]string, 0, len(owner))
		for k := range owner {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("%d distinct jobs leased, want %d: %s", len(owner), procs*5, strings.Join(keys, " "))
	}
	got, err := s.Get(ctx, counter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.BillableSeconds != procs*childIncrements || got.Version != procs*childIncrements+1 {
		t.Fatalf("%d processes x %d increments = %d (version %d): updates lost", procs, childIncrements, got.BillableSeconds, got.Version)
	}
}
