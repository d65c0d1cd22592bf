package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionTTL is how long a dashboard session lasts, enforced by the server
// (the cookie's Max-Age only asks the browser).
const SessionTTL = 12 * time.Hour

// SessionRevoker keeps logged-out sessions where every replica sees them;
// the SQLite and PostgreSQL stores implement it (migration 00006).
type SessionRevoker interface {
	RevokeSession(ctx context.Context, id string, until time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

// A session value is "v2.<issued-at unix>.<random id>.<mac>": the MAC,
// keyed by the API token, covers the issued-at time and the id, so neither
// can be changed, every replica can check it, and the cookie never holds
// the token.
func newSessionValue(tok string, now time.Time) string {
	body := "v2." + strconv.FormatInt(now.Unix(), 10) + "." + randomHex(16)
	return body + "." + sessionMAC(tok, body)
}

func sessionMAC(tok, body string) string {
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte("sagetrain dashboard session\n" + body))
	return hex.EncodeToString(m.Sum(nil))
}

// parseSession returns a session's body, issued-at time and id.
func parseSession(v string) (body string, issued time.Time, id, mac string, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v2" || len(parts[2]) != 32 || len(parts[3]) != 64 {
		return "", time.Time{}, "", "", false
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, "", "", false
	}
	return strings.Join(parts[:3], "."), time.Unix(sec, 0), parts[2], parts[3], true
}

// memRevoked is the revocation list of a server without a store that
// keeps one (tests, a single process).
type memRevoked struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func (m *memRevoked) RevokeSession(_ context.Context, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]time.Time{}
	}
	now := time.Now()
	for k, t := range m.ids {
		if t.Before(now) {
			delete(m.ids, k)
		}
	}
	m.ids[id] = until
	return nil
}

func (m *memRevoked) SessionRevoked(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok, nil
}

// validSession checks a dashboard cookie: a MAC of one of the tokens,
// issued less than SessionTTL ago, and not logged out on any replica.
func (s *Server) validSession(ctx context.Context, v string) bool {
	if s.auth.insecure {
		return v != ""
	}
	body, issued, id, mac, ok := parseSession(v)
	if !ok {
		return false
	}
	now := time.Now()
	if now.Sub(issued) >= SessionTTL || issued.After(now.Add(time.Minute)) {
		return false
	}
	macs := make([][]byte, len(s.auth.tokens))
	for i, t := range s.auth.tokens {
		macs[i] = []byte(sessionMAC(string(t), body))
	}
	if !s.auth.valid(macs, mac) {
		return false
	}
	revoked, err := s.revoker.SessionRevoked(ctx, id)
	if err != nil {
		s.log.Warn("cannot check whether a dashboard session was logged out; refusing it", "err", err)
		return false
	}
	return !revoked
}

// revokeSession logs a session out on every replica.
func (s *Server) revokeSession(ctx context.Context, v string) error {
	_, issued, id, _, ok := parseSession(v)
	if !ok {
		return nil
	}
	return s.revoker.RevokeSession(ctx, id, issued.Add(SessionTTL))
}
