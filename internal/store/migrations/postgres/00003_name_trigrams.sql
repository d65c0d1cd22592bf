-- +goose Up
-- Nothing to do: PostgreSQL's trigram index came with 00002 (pg_trgm). The
-- step exists so both dialects share version numbers.
SELECT 1;

-- +goose Down
SELECT 1;
