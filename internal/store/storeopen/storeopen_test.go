package storeopen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/store/storeopen"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func TestDefaultPath(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	p, err := storeopen.DefaultPath()
	if err != nil || p != filepath.Join(xdg, "sagetrain", "jobs.db") {
		t.Fatalf("with XDG_DATA_HOME: %q %v", p, err)
	}
	home := t.TempDir()
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", home)
	p, err = storeopen.DefaultPath()
	if err != nil || p != filepath.Join(home, ".local", "share", "sagetrain", "jobs.db") {
		t.Fatalf("without XDG_DATA_HOME: %q %v", p, err)
	}
}

func TestOpenDefaultCreatesFileAndFolder(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	t.Setenv(storeopen.EnvVar, "")
	s, err := storeopen.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlite.Store); !ok {
		t.Fatalf("default store is %T, want *sqlite.Store", s)
	}
	if _, err := os.Stat(filepath.Join(xdg, "sagetrain", "jobs.db")); err != nil {
		t.Fatalf("default file not created: %v", err)
	}
}

func TestOpenPicksDriver(t *testing.T) {
	ctx := context.Background()
	envFile := filepath.Join(t.TempDir(), "env.db")
	t.Setenv(storeopen.EnvVar, envFile)
	s, err := storeopen.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if sq, ok := s.(*sqlite.Store); !ok || sq.Path() != envFile {
		t.Fatalf("$%s not used: %T", storeopen.EnvVar, s)
	}
	s.Close()

	// An explicit DSN wins over the environment.
	explicit := filepath.Join(t.TempDir(), "explicit.db")
	s, err = storeopen.Open(ctx, explicit)
	if err != nil {
		t.Fatal(err)
	}
	if sq, ok := s.(*sqlite.Store); !ok || sq.Path() != explicit {
		t.Fatalf("explicit path not used: %T", s)
	}
	s.Close()

	dsn := testpeer.PostgresDSN(t)
	for _, d := range []string{dsn, "postgresql" + dsn[len("postgres"):]} {
		s, err := storeopen.Open(ctx, d)
		if err != nil {
			t.Fatalf("Open(%s): %v", d, err)
		}
		if _, ok := s.(*postgres.Store); !ok {
			t.Fatalf("Open(%s) gave %T", d, s)
		}
		if _, _, err := s.Create(ctx, &store.Job{Name: "pg"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

func TestOpenSchemes(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "url.db")
	s, err := storeopen.Open(ctx, "sqlite://"+p)
	if err != nil {
		t.Fatal(err)
	}
	if sq, ok := s.(*sqlite.Store); !ok || sq.Path() != p {
		t.Fatalf("sqlite:// not resolved to %s: %T", p, s)
	}
	s.Close()
	for _, bad := range []string{"mysql://u@h/db", "redis://x"} {
		if _, err := storeopen.Open(ctx, bad); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("Open(%q): want a configuration error, got %v", bad, err)
		}
	}
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	loc, err := storeopen.Parse("sqlite://" + dir + "/x/jobs.db")
	if err != nil || loc.SQLitePath != filepath.Join(dir, "x", "jobs.db") || loc.Postgres() {
		t.Fatalf("Parse(sqlite://...) = %+v, %v", loc, err)
	}
	loc, err = storeopen.Parse("postgres://u@h/db")
	if err != nil || !loc.Postgres() || loc.DSN != "postgres://u@h/db" {
		t.Fatalf("Parse(postgres://...) = %+v, %v", loc, err)
	}
	if _, err := storeopen.Parse("mysql://h/db"); err == nil {
		t.Fatal("Parse accepted mysql://")
	}
	if _, err := storeopen.Parse("sqlite://"); err == nil {
		t.Fatal("Parse accepted sqlite:// with no path")
	}
}
