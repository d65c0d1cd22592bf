// Package postgres is the job store for several processes sharing one
// PostgreSQL database, through pgx v5 (pgxpool).
//
// Update is optimistic (UPDATE ... WHERE id = $1 AND version = $2; no row
// means someone else won: errs.ErrConflict). Claim picks live jobs with
// FOR UPDATE SKIP LOCKED and writes a lease, so two reconcilers never hold
// the same job while a lease is live. Leases use the database's clock, so
// hosts with skewed clocks still agree on when a lease ends.
package postgres
