// Package sqlite is the default job store: one SQLite file through
// modernc.org/sqlite (pure Go, no cgo).
//
// The file is opened in WAL mode (readers never block the writer), with a
// busy timeout and foreign keys on. Every write transaction starts with
// BEGIN IMMEDIATE, so two writers never deadlock upgrading a read lock;
// writers of this process also queue on a mutex, and writers of other
// processes (the CLI next to a running `serve`) wait on the busy timeout.
// Times are stored as INTEGER microseconds since the epoch, UTC.
package sqlite
