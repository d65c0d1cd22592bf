-- +goose Up
-- Dashboard sessions logged out before they expire: every replica refuses
-- them. Rows go once the session would have expired anyway (unix seconds).
CREATE TABLE revoked_sessions (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_expires ON revoked_sessions (expires_at);

-- +goose Down
DROP TABLE revoked_sessions;
