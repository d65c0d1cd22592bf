package sqlite_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/migrations"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs every area of the contract (jobs, models, sweeps,
// subject events).
func TestContract(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "jobs.db"))
	})
}

// Two instances on one file stand for two processes (the CLI and `serve`):
// each has its own connection pool and its own writer mutex.
func TestTwoInstancesOneFile(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		p := filepath.Join(t.TempDir(), "jobs.db")
		return open(t, p), open(t, p)
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "nested", "dir", "jobs.db") // folders created on first use
	a := open(t, p)
	j, _, err := a.Create(ctx, &store.Job{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := open(t, p)
	if _, err := b.Get(ctx, j.ID); err != nil {
		t.Fatalf("job lost on reopen: %v", err)
	}
	latest, err := migrations.Latest(migrations.SQLite)
	if err != nil || latest < 1 {
		t.Fatalf("Latest: %d %v", latest, err)
	}
	v, err := migrations.Version(ctx, b.DB(), migrations.SQLite)
	if err != nil || v != latest {
		t.Fatalf("goose version %d (err %v), want %d", v, err, latest)
	}
	// Branches number their migrations apart, so versions may have gaps:
	// count the files shipped, not the latest number.
	files, err := fs.Glob(mustFS(t, migrations.SQLite), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	shipped := int64(len(files))
	var applied int
	if err := b.DB().QueryRow("SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil || int64(applied) != shipped {
		t.Fatalf("goose recorded %d migrations (err %v), want %d: reopening re-applied them", applied, err, shipped)
	}
	var mode string
	if err := b.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (err %v), want wal", mode, err)
	}
}

// Several instances creating the same fresh file at once all end up with
// one migrated schema.
func TestConcurrentFirstOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "jobs.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stores[i], errs[i] = sqlite.Open(context.Background(), p)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	for i, s := range stores {
		if _, _, err := s.Create(context.Background(), &store.Job{Name: "x"}); err != nil {
			t.Fatalf("create through #%d: %v", i, err)
		}
	}
}

func TestBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := sqlite.Open(context.Background(), p); err == nil {
			t.Errorf("Open(%q) accepted", p)
		}
	}
}

func TestCreateMany(t *testing.T) {
	storetest.RunSeed(t, open(t, filepath.Join(t.TempDir(), "jobs.db")), 1000)
}

// A store made by the first schema version gets its search column filled
// when the second migration runs.
func TestMigrationBackfillsSearch(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "jobs.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := migrations.FS(migrations.SQLite)
	prov, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prov.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO jobs (id, name, remote_name, status, created_at, updated_at) VALUES ('old', 'Kids_V1', 'kids-v1-abc', 'completed', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, p)
	for _, q := range []string{"kids_v1", "V1-ABC"} {
		got, _, err := s.List(ctx, store.ListFilter{NameContains: q})
		if err != nil || len(got) != 1 || got[0].ID != "old" {
			t.Fatalf("List name~%s on a migrated store: %d jobs, err %v", q, len(got), err)
		}
	}
}

func mustFS(t *testing.T, d migrations.Dialect) fs.FS {
	t.Helper()
	f, err := migrations.FS(d)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClockContract(t *testing.T) {
	storetest.RunClock(t, func(t *testing.T, opts ...store.Option) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
