-- +goose Up
-- search = lower(name + "\n" + remote_name), written by the driver (Go's
-- Unicode lowercasing), so a name filter is one instr() per row. jobs_list
-- holds every column List filters on: a page's rows are found from the index
-- alone, and only the page itself is read from the table.
ALTER TABLE jobs ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE jobs SET search = lower(name || char(10) || remote_name);
CREATE INDEX jobs_list ON jobs (created_at DESC, id DESC, status, backend, search);
DROP INDEX jobs_created;

-- +goose Down
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
DROP INDEX jobs_list;
ALTER TABLE jobs DROP COLUMN search;
