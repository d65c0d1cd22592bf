-- +goose Up
-- The trigram index of 00003 made every insert about 6 times slower, and its
-- phrase queries read the long posting lists of the trigrams job names share
-- ("dra", "raw", ...), so a name search cost about as much as scanning
-- jobs_list. Name filters scan jobs_list again.
DROP TRIGGER jobs_fts_update;
DROP TRIGGER jobs_fts_delete;
DROP TRIGGER jobs_fts_insert;
DROP TABLE jobs_fts;

-- +goose Down
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
