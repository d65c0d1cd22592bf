// Package cli builds the sagetrain command line. One file per command group;
// root.go lists every command in one place (commands) and NewRoot puts them
// under the root with the global flags. Commands take flags in, call the
// internal packages, and print tables, JSON (--output json) or progress.
package cli
