-- +goose Up
-- timestamptz keeps microseconds exactly. JSON columns are json (not jsonb),
-- which keeps the submitted text byte for byte.
CREATE TABLE jobs (
    id                  TEXT        PRIMARY KEY,
    name                TEXT        NOT NULL DEFAULT '',
    remote_name         TEXT        NOT NULL DEFAULT '',
    remote_arn          TEXT        NOT NULL DEFAULT '',
    backend             TEXT        NOT NULL DEFAULT '',
    idempotency_key     TEXT,
    spec                JSON,
    status              TEXT        NOT NULL,
    secondary_status    TEXT        NOT NULL DEFAULT '',
    status_message      TEXT        NOT NULL DEFAULT '',
    failure_reason      TEXT        NOT NULL DEFAULT '',
    cancel_requested    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    started_at          TIMESTAMPTZ,
    ended_at            TIMESTAMPTZ,
    billable_seconds    BIGINT      NOT NULL DEFAULT 0,
    model_artifact_uri  TEXT        NOT NULL DEFAULT '',
    output_artifact_uri TEXT        NOT NULL DEFAULT '',
    artifact_dir        TEXT        NOT NULL DEFAULT '',
    report              JSON,
    version             BIGINT      NOT NULL DEFAULT 1,
    lease_owner         TEXT        NOT NULL DEFAULT '',
    lease_expires       TIMESTAMPTZ,
    -- when a lease was last granted: Claim serves the least recently claimed first
    claimed_at          TIMESTAMPTZ
);

-- One job per idempotency key; jobs without a key store NULL.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Get by remote name.
CREATE INDEX jobs_remote_name ON jobs (remote_name);
-- List: newest first, alone or with a status or backend filter.
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_status_created ON jobs (status, created_at DESC, id DESC);
CREATE INDEX jobs_backend_created ON jobs (backend, created_at DESC, id DESC);
-- Claim: only live jobs, usually a handful among many finished ones.
CREATE INDEX jobs_live ON jobs (created_at, id) WHERE status NOT IN ('stopped', 'completed', 'failed');

CREATE TABLE job_events (
    seq              BIGSERIAL   PRIMARY KEY,
    job_id           TEXT        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at               TIMESTAMPTZ NOT NULL,
    status           TEXT        NOT NULL,
    secondary_status TEXT        NOT NULL DEFAULT '',
    message          TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX job_events_job ON job_events (job_id, seq);

-- +goose Down
DROP TABLE job_events;
DROP TABLE jobs;
