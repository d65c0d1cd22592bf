package storeopen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/postgres"
	"github.com/sagetrain/sagetrain/internal/store/sqlite"
)

// EnvVar names the environment variable read when no DSN is given.
const EnvVar = "SAGETRAIN_DB"

// DefaultPath is the SQLite file used when neither --db nor $SAGETRAIN_DB is
// set: $XDG_DATA_HOME/sagetrain/jobs.db, else ~/.local/share/sagetrain/jobs.db.
// The file and its folder are created on first use.
func DefaultPath() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "sagetrain", "jobs.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errs.Configuration("cannot find the default job store: no home directory",
			"set "+EnvVar+" or pass --db with a file path or a postgres:// URL", err)
	}
	return filepath.Join(home, ".local", "share", "sagetrain", "jobs.db"), nil
}

// Resolve returns the DSN Open would use for dsn.
func Resolve(dsn string) (string, error) {
	if dsn != "" {
		return dsn, nil
	}
	if env := os.Getenv(EnvVar); env != "" {
		return env, nil
	}
	return DefaultPath()
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Open opens the store dsn names (see the package comment), migrating its
// schema to the latest version.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	st, _, err := OpenLocation(ctx, dsn)
	return st, err
}

// Location is where a DSN put the store, parsed once so that no caller
// parses a DSN again.
type Location struct {
	DSN        string // the resolved DSN
	SQLitePath string // the SQLite file, absolute; "" for PostgreSQL
}

// Postgres reports whether the store is a PostgreSQL database.
func (l Location) Postgres() bool { return l.SQLitePath == "" }

// Parse resolves dsn (see the package comment) into a Location.
func Parse(dsn string) (Location, error) {
	dsn, err := Resolve(dsn)
	if err != nil {
		return Location{}, err
	}
	if IsPostgres(dsn) {
		return Location{DSN: dsn}, nil
	}
	p := dsn
	if rest, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		p = rest
	} else if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\.`) {
		return Location{}, errs.Configuration(fmt.Sprintf("unsupported job store URL scheme %q", scheme),
			"use a SQLite file path (or sqlite://PATH) or a postgres:// URL", nil)
	}
	if p == "" {
		return Location{}, errs.Configuration("the job store DSN "+dsn+" names no file", "give a path, e.g. --db sqlite:///var/lib/sagetrain/jobs.db", nil)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return Location{}, errs.Configuration("cannot make the job store path "+p+" absolute", "give an absolute path", err)
	}
	return Location{DSN: dsn, SQLitePath: abs}, nil
}

// OpenLocation is Open that also says where the store is.
func OpenLocation(ctx context.Context, dsn string) (store.Store, Location, error) {
	loc, err := Parse(dsn)
	if err != nil {
		return nil, loc, err
	}
	var st store.Store
	if loc.Postgres() {
		st, err = postgres.Open(ctx, loc.DSN)
	} else {
		st, err = sqlite.Open(ctx, loc.SQLitePath)
	}
	return st, loc, err
}
