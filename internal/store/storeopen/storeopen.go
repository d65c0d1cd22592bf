// Package storeopen picks and opens the job store a DSN names, so commands
// and the service share one rule:
//
//	""                              -> $SAGETRAIN_DB, else DefaultPath()
//	postgres://... postgresql://... -> PostgreSQL
//	sqlite://PATH                   -> the SQLite file PATH
//	any other scheme://...          -> a configuration error
//	anything else                   -> a SQLite file path
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
	dsn, err := Resolve(dsn)
	if err != nil {
		return nil, err
	}
	if IsPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	if rest, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		return sqlite.Open(ctx, rest)
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\.`) {
		return nil, errs.Configuration(fmt.Sprintf("unsupported job store URL scheme %q", scheme),
			"use a SQLite file path (or sqlite://PATH) or a postgres:// URL", nil)
	}
	return sqlite.Open(ctx, dsn)
}
