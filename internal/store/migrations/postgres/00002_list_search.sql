-- +goose Up
-- search = lower(name + "\n" + remote_name), written by the driver, so a
-- name filter is one LIKE on one column. jobs_list carries every column List
-- filters on, so a page's rows are found by an index-only scan.
ALTER TABLE jobs ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE jobs SET search = lower(name || chr(10) || remote_name);
CREATE INDEX jobs_list ON jobs (created_at DESC, id DESC) INCLUDE (status, backend, search);
DROP INDEX jobs_created;

-- A trigram index makes a rare name fast to find among many jobs. pg_trgm
-- ships with PostgreSQL (contrib) and is a trusted extension; where it is
-- missing, name filters still work by scanning jobs_list.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX jobs_search_trgm ON jobs USING gin (search gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): name filters scan the list index', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS jobs_search_trgm;
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
DROP INDEX jobs_list;
ALTER TABLE jobs DROP COLUMN search;
