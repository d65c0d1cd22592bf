package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// RevokeSession records a logged-out dashboard session until it would
// have expired anyway, and forgets sessions past that.
func (s *Store) RevokeSession(ctx context.Context, id string, until time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM revoked_sessions WHERE expires_at < ?", time.Now().Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", id, until.Unix())
		return err
	})
	return wrap("revoke a dashboard session", err)
}

// SessionRevoked reports whether the session id was logged out.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	var one int
	err = s.db.QueryRowContext(ctx, "SELECT 1 FROM revoked_sessions WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("look up a dashboard session", err)
}
