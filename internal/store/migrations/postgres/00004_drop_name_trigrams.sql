-- +goose Up
-- Nothing to do: the step exists so both dialects share version numbers
-- (SQLite drops the trigram table it added in 00003; PostgreSQL keeps
-- pg_trgm, whose planner picks it only when it pays).
SELECT 1;

-- +goose Down
SELECT 1;
