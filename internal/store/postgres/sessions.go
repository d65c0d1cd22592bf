package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// RevokeSession records a logged-out dashboard session until it would
// have expired anyway, and forgets sessions past that.
func (s *Store) RevokeSession(ctx context.Context, id string, until time.Time) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM revoked_sessions WHERE expires_at < $1", time.Now().Unix()); err != nil {
		return wrap("revoke a dashboard session", err)
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO revoked_sessions (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", id, until.Unix())
	return wrap("revoke a dashboard session", err)
}

// SessionRevoked reports whether the session id was logged out.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, "SELECT 1 FROM revoked_sessions WHERE id = $1", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("look up a dashboard session", err)
}
