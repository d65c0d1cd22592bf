-- +goose Up
-- Exported models (immutable) and deployments (the active model per age
-- range, and the history of earlier ones). Ages are whole years on
-- floor(age), inclusive.
CREATE TABLE model_exports (
    id                   TEXT    PRIMARY KEY,
    job_id               TEXT    NOT NULL,
    format               TEXT    NOT NULL,
    age_min              INTEGER NOT NULL,
    age_max              INTEGER NOT NULL,
    group_names          JSON     NOT NULL,
    sha256               TEXT    NOT NULL,
    size_bytes           BIGINT  NOT NULL,
    location             TEXT    NOT NULL,
    trainer_version      TEXT    NOT NULL DEFAULT '',
    data_manifest_digest TEXT    NOT NULL DEFAULT '',
    metrics              JSON,
    created_at           TIMESTAMPTZ     NOT NULL,
    created_by           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX model_exports_job ON model_exports (job_id, created_at DESC);
CREATE INDEX model_exports_created ON model_exports (created_at DESC, id DESC);

CREATE TABLE model_deployments (
    id               TEXT    PRIMARY KEY,
    model_id         TEXT    NOT NULL REFERENCES model_exports (id),
    age_min          INTEGER NOT NULL,
    age_max          INTEGER NOT NULL,
    active           BOOLEAN      NOT NULL,
    threshold_source TEXT    NOT NULL DEFAULT '',
    deployed_at      TIMESTAMPTZ     NOT NULL,
    deployed_by      TEXT    NOT NULL DEFAULT '',
    ended_at         TIMESTAMPTZ,
    ended_by         TEXT    NOT NULL DEFAULT '',
    end_reason       TEXT    NOT NULL DEFAULT '',
    superseded_by    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX model_deployments_active ON model_deployments (active, age_min);
CREATE INDEX model_deployments_superseded ON model_deployments (superseded_by);

-- +goose Down
DROP TABLE model_deployments;
DROP TABLE model_exports;
