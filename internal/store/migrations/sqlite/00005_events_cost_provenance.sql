-- +goose Up
-- The events outbox: one row per job status change, written in the same
-- transaction as the change itself, so no change is ever without its event.
-- payload is the exact JSON body every destination receives (retries send
-- the same bytes). A sender leases the oldest pending row of a job (the
-- head of that job's queue), so events of one job go out in order and each
-- row is worked on by one sender at a time.
CREATE TABLE event_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    job_id          TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    notify_urls     TEXT    NOT NULL DEFAULT '',  -- the job's own destinations (JSON array), fixed at write time
    occurred_at     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_expires   INTEGER,
    done_urls       TEXT    NOT NULL DEFAULT '',  -- destinations that have answered 2xx (JSON array)
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    INTEGER
);
-- Finding the heads of the pending queues, and a job's own history.
CREATE INDEX event_outbox_pending ON event_outbox (job_id, seq) WHERE state = 'pending';
CREATE INDEX event_outbox_due ON event_outbox (next_attempt_at, seq) WHERE state = 'pending';
CREATE INDEX event_outbox_job ON event_outbox (job_id, seq);
CREATE INDEX event_outbox_undelivered ON event_outbox (state) WHERE state <> 'delivered';

-- Prices read from the AWS Price List API, so a job's cost needs one call
-- per instance type and region per day at most.
CREATE TABLE price_cache (
    region        TEXT    NOT NULL,
    instance_type TEXT    NOT NULL,
    usd_per_hour  REAL    NOT NULL,
    source        TEXT    NOT NULL,
    price_date    TEXT    NOT NULL DEFAULT '',
    fetched_at    INTEGER NOT NULL,
    PRIMARY KEY (region, instance_type)
);

-- What a job was made from (image digest, data manifest digest, trainer
-- build), pinned at submit; one JSON document per job.
CREATE TABLE job_provenance (
    job_id     TEXT    PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    provenance TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE job_provenance;
DROP TABLE price_cache;
DROP TABLE event_outbox;
