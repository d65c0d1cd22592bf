// Package store keeps training jobs durably. One interface, two drivers
// (store/sqlite, the embedded default, and store/postgres), one schema through
// embedded migrations. The contract every driver must honour is written down
// here and tested by storetest against both.
//
// The rules are written once, in Core (defaults, idempotency, name-or-id
// lookup, events from updates, versions, an injectable clock); a driver only
// runs its dialect's SQL behind Driver, ModelDriver, SweepDriver and
// OutboxDriver (river's root package over riverpgxv5 and riversqlite).
//
// Concurrency contract:
//   - Update is optimistic: it succeeds only when the row still has the
//     Version the caller read, and bumps it; otherwise errs.ErrConflict. So no
//     update is ever lost silently.
//   - Claim hands live jobs to one reconciler at a time through leases: a job
//     leased to owner A is not returned to owner B until the lease expires.
//     Several processes sharing one PostgreSQL therefore never process the
//     same job at the same time.
package store
