// Package pgscratch gives a benchmark a database of its own on a
// PostgreSQL server, dropped when the benchmark is done.
package pgscratch
