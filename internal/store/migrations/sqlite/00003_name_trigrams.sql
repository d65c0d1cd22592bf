-- +goose Up
-- A trigram full-text index over jobs.search (keyed by the jobs rowid), so a
-- name filter that matches few jobs reads those jobs instead of scanning the
-- list index. Triggers keep it in step with jobs.
CREATE VIRTUAL TABLE jobs_fts USING fts5(search, content='jobs', content_rowid='rowid', tokenize='trigram');
INSERT INTO jobs_fts(jobs_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO jobs_fts(rowid, search) VALUES (new.rowid, new.search);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs BEGIN
    INSERT INTO jobs_fts(jobs_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER jobs_fts_update AFTER UPDATE OF search ON jobs WHEN old.search <> new.search BEGIN
    INSERT INTO jobs_fts(jobs_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO jobs_fts(rowid, search) VALUES (new.rowid, new.search);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER jobs_fts_update;
DROP TRIGGER jobs_fts_delete;
DROP TRIGGER jobs_fts_insert;
DROP TABLE jobs_fts;
