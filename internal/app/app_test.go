package app

import (
	"context"
	"path/filepath"
	"testing"
)

// A sqlite:// DSN is parsed once: the artifacts go next to the file it
// names, not under a folder called "sqlite:".
func TestOpenSQLiteURLPutsArtifactsNextToTheFile(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	dir := t.TempDir()
	a, err := Open(context.Background(), Options{DB: "sqlite://" + filepath.Join(dir, "jobs.db"), LocalRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Location.SQLitePath != filepath.Join(dir, "jobs.db") || a.Location.Postgres() {
		t.Fatalf("location %+v, want the SQLite file %s", a.Location, filepath.Join(dir, "jobs.db"))
	}
	if want := filepath.Join(dir, "artifacts"); a.ArtifactRoot != want || a.Jobs.ArtifactRoot() != want {
		t.Fatalf("artifacts under %q (service %q), want %q", a.ArtifactRoot, a.Jobs.ArtifactRoot(), want)
	}
	if a.Backends["local"] == nil || a.Local == nil {
		t.Fatal("no local backend")
	}
	if err := a.Store.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRelativeSQLitePathIsMadeAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a, err := Open(context.Background(), Options{DB: "jobs.db", LocalRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.ArtifactRoot != filepath.Join(dir, "artifacts") {
		t.Fatalf("artifacts under %q, want %q", a.ArtifactRoot, filepath.Join(dir, "artifacts"))
	}
}
