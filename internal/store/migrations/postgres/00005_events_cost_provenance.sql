-- +goose Up
-- The events outbox: one row per job status change, written in the same
-- transaction as the change itself, so no change is ever without its event.
-- payload is the exact JSON body every destination receives (retries send
-- the same bytes; TEXT, not json, so not a byte changes). A sender leases
-- the oldest pending row of a job (the head of that job's queue) with FOR
-- UPDATE SKIP LOCKED, so events of one job go out in order and each row is
-- worked on by one replica at a time.
CREATE TABLE event_outbox (
    seq             BIGSERIAL   PRIMARY KEY,
    id              TEXT        NOT NULL UNIQUE,
    job_id          TEXT        NOT NULL,
    type            TEXT        NOT NULL,
    payload         TEXT        NOT NULL,
    notify_urls     TEXT        NOT NULL DEFAULT '',
    occurred_at     TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    state           TEXT        NOT NULL DEFAULT 'pending',
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_owner     TEXT        NOT NULL DEFAULT '',
    lease_expires   TIMESTAMPTZ,
    done_urls       TEXT        NOT NULL DEFAULT '',
    last_error      TEXT        NOT NULL DEFAULT '',
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX event_outbox_pending ON event_outbox (job_id, seq) WHERE state = 'pending';
CREATE INDEX event_outbox_due ON event_outbox (next_attempt_at, seq) WHERE state = 'pending';
CREATE INDEX event_outbox_job ON event_outbox (job_id, seq);
CREATE INDEX event_outbox_undelivered ON event_outbox (state) WHERE state <> 'delivered';

CREATE TABLE price_cache (
    region        TEXT             NOT NULL,
    instance_type TEXT             NOT NULL,
    usd_per_hour  DOUBLE PRECISION NOT NULL,
    source        TEXT             NOT NULL,
    price_date    TEXT             NOT NULL DEFAULT '',
    fetched_at    TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (region, instance_type)
);

CREATE TABLE job_provenance (
    job_id     TEXT        PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    provenance TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE job_provenance;
DROP TABLE price_cache;
DROP TABLE event_outbox;
