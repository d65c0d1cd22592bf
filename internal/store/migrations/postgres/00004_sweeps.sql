-- +goose Up
-- A sweep is a parent record; its trials are ordinary jobs whose sweep_id
-- names it. doc is the sweep's definition and scheduler state (JSON owned by
-- package sweep), rewritten under the version check like a job.
CREATE TABLE sweeps (
    id               TEXT        PRIMARY KEY,
    name             TEXT        NOT NULL DEFAULT '',
    status           TEXT        NOT NULL,
    cancel_requested BOOLEAN     NOT NULL DEFAULT FALSE,
    doc              JSON        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT      NOT NULL DEFAULT 1
);
CREATE INDEX sweeps_created ON sweeps (created_at DESC, id DESC);
CREATE INDEX sweeps_live ON sweeps (created_at, id) WHERE status NOT IN ('stopped', 'completed', 'failed');
ALTER TABLE jobs ADD COLUMN sweep_id TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_sweep ON jobs (sweep_id, created_at) WHERE sweep_id <> '';

-- +goose Down
DROP INDEX jobs_sweep;
ALTER TABLE jobs DROP COLUMN sweep_id;
DROP TABLE sweeps;
