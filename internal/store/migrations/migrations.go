package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialect names a schema directory.
type Dialect string

// The dialects, one migrations folder each.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// FS returns the migration files of one dialect.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case SQLite, Postgres:
		return fs.Sub(files, string(d))
	}
	return nil, fmt.Errorf("migrations: unknown dialect %q", d)
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if d == Postgres {
		gd = goose.DialectPostgres
		// Several processes may start at once on one database: an advisory
		// lock makes them migrate one after the other.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(gd, db, fsys, opts...)
}

// Up applies every pending migration. It is safe to call on every open.
//
// SQLite has no advisory lock; two processes creating the same fresh file at
// once can race on goose's "is it applied yet" check. Each migration runs in
// its own transaction, so the loser fails cleanly and a retry finds the work
// done.
func Up(ctx context.Context, db *sql.DB, d Dialect) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	attempts := 1
	if d == SQLite {
		attempts = 5
	}
	for i := 1; ; i++ {
		_, err = p.Up(ctx)
		if err == nil || i >= attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i*50) * time.Millisecond):
		}
	}
}

// Version returns the schema version recorded in the database by goose.
func Version(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// Latest returns the newest migration version shipped in this binary (the
// numeric prefix of the last file, as goose reads it).
func Latest(d Dialect) (int64, error) {
	fsys, err := FS(d)
	if err != nil {
		return 0, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migrations: %s: bad version prefix: %w", e.Name(), err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// Count returns how many migrations this binary ships (numbers may have
// gaps: each branch of work takes its own number).
func Count(d Dialect) (int64, error) {
	fsys, err := FS(d)
	if err != nil {
		return 0, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n, nil
}
