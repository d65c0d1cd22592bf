// Package app is the one place sagetrain is put together: Open gives every
// command and `serve` the store (and where it is), the job service, the
// backends, the AWS configuration and the data folders, so that no command
// wires them by hand or parses a store DSN again.
package app
