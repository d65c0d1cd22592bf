// Package jobs is sagetrain's job service: submit, status, cancel, list,
// logs, the reconciler that follows every live job, and the training report.
//
// Durability rules:
//   - The row is written (pending) before the backend is asked to create the
//     job, under a name fixed in the row, so a crash between the two is
//     repaired by the reconciler re-issuing Create with the same name (the
//     backend answers "already exists" with the ARN): never two remote jobs.
//   - Every change is an optimistic store.Update; a conflict is re-read and
//     re-applied, never lost.
//   - The reconciler only touches jobs it holds a lease on (store.Claim), so
//     several processes sharing one PostgreSQL never process one job at once.
package jobs
