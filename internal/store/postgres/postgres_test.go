package postgres_test

import (
	"context"
	"io/fs"
	"sync"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/migrations"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/storetest"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs every area of the contract (jobs, models, sweeps,
// subject events).
func TestContract(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store {
		return open(t, testpeer.PostgresDSN(t))
	})
}

// Two pools on one database stand for two processes sharing it.
func TestTwoInstancesOneDatabase(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		dsn := testpeer.PostgresDSN(t)
		return open(t, dsn), open(t, dsn)
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := testpeer.PostgresDSN(t)
	// Three processes starting at once on an empty database.
	var wg sync.WaitGroup
	opened := make([]*postgres.Store, 3)
	errs := make([]error, 3)
	for i := range opened {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			opened[i], errs[i] = postgres.Open(ctx, dsn)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open #%d: %v", i, err)
		}
		opened[i].Close()
	}
	a := open(t, dsn)
	j, _, err := a.Create(ctx, &store.Job{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := open(t, dsn)
	if _, err := b.Get(ctx, j.ID); err != nil {
		t.Fatalf("job lost on reopen: %v", err)
	}
	db := b.DB()
	defer db.Close()
	latest, err := migrations.Latest(migrations.Postgres)
	if err != nil || latest < 1 {
		t.Fatalf("Latest: %d %v", latest, err)
	}
	v, err := migrations.Version(ctx, db, migrations.Postgres)
	if err != nil || v != latest {
		t.Fatalf("goose version %d (err %v), want %d", v, err, latest)
	}
	// Branches number their migrations apart, so versions may have gaps:
	// count the files shipped, not the latest number.
	files, err := fs.Glob(mustFS(t, migrations.Postgres), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	shipped := int64(len(files))
	var applied int64
	if err := db.QueryRow("SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil || applied != shipped {
		t.Fatalf("goose recorded %d migrations (err %v), want %d: an open re-applied them", applied, err, shipped)
	}
}

func TestBadDSN(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}

func TestCreateMany(t *testing.T) {
	storetest.RunSeed(t, open(t, testpeer.PostgresDSN(t)), 1000)
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
		s, err := postgres.Open(context.Background(), testpeer.PostgresDSN(t), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
