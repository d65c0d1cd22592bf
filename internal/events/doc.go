// Package events delivers the store's events outbox to webhooks.
//
// Every job status change is an outbox row written in the same transaction
// as the change (see store.Outbox). A Sender claims, for each job, the
// oldest pending event (so one job's events arrive in order), POSTs it to
// every destination that has not yet answered 2xx, and records the result:
// delivered, or retried later with exponential backoff, or failed after the
// last attempt. Claims are leases in the store, so on many replicas sharing
// one PostgreSQL each event is worked on by one replica at a time, and a
// sender killed mid-way leaves its events to whoever claims them after the
// lease ends. Delivery is at least once: receivers de-duplicate by the
// X-Sagetrain-Event-Id header (also the body's "id").
package events
