-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch, UTC: exact to the
-- microsecond and cheap to index. JSON columns are TEXT kept byte for byte.
CREATE TABLE jobs (
    id                  TEXT    PRIMARY KEY,
    name                TEXT    NOT NULL DEFAULT '',
    remote_name         TEXT    NOT NULL DEFAULT '',
    remote_arn          TEXT    NOT NULL DEFAULT '',
    backend             TEXT    NOT NULL DEFAULT '',
    idempotency_key     TEXT,
    spec                TEXT,
    status              TEXT    NOT NULL,
    secondary_status    TEXT    NOT NULL DEFAULT '',
    status_message      TEXT    NOT NULL DEFAULT '',
    failure_reason      TEXT    NOT NULL DEFAULT '',
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    started_at          INTEGER,
    ended_at            INTEGER,
    billable_seconds    INTEGER NOT NULL DEFAULT 0,
    model_artifact_uri  TEXT    NOT NULL DEFAULT '',
    output_artifact_uri TEXT    NOT NULL DEFAULT '',
    artifact_dir        TEXT    NOT NULL DEFAULT '',
    report              TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    lease_owner         TEXT    NOT NULL DEFAULT '',
    lease_expires       INTEGER,
    -- when a lease was last granted: Claim serves the least recently claimed first
    claimed_at          INTEGER
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
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at               INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    secondary_status TEXT    NOT NULL DEFAULT '',
    message          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_events_job ON job_events (job_id, seq);

-- +goose Down
DROP TABLE job_events;
DROP TABLE jobs;
