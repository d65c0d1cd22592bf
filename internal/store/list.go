package store

// Helpers shared by the drivers (added beside the contract, which is unchanged):
// List's limit rules and its opaque keyset cursor.

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

const (
	// DefaultListLimit is List's page size when ListFilter.Limit is 0.
	DefaultListLimit = 50
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 1000
)

// ListLimit returns the page size List uses for a requested limit:
// DefaultListLimit for 0 or less, at most MaxListLimit.
func ListLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// Cursor is the position after which List's next page starts: the
// (CreatedAt, ID) of the last job of the previous page, in List's order
// (created_at DESC, id DESC).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// EncodeCursor makes the opaque string handed to callers.
func EncodeCursor(c Cursor) string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by EncodeCursor. A malformed cursor is a
// configuration error (the caller passed something List never returned).
func DecodeCursor(s string) (Cursor, error) {
	bad := func(cause error) (Cursor, error) {
		return Cursor{}, errs.Configuration(fmt.Sprintf("invalid list cursor %q", s),
			"pass the next cursor from a previous list unchanged, or no cursor for the first page", cause)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad(err)
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return bad(nil)
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return bad(err)
	}
	return Cursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// SearchText is what drivers store in their search column for a job: its
// name and remote name, lowercased, one per line. NameContains filters match
// SearchTerm(f.NameContains) as a substring of it.
func SearchText(name, remoteName string) string {
	return strings.ToLower(name + "\n" + remoteName)
}

// SearchTerm is a NameContains filter in the form SearchText stores
// (lowercased; a line break never matches across the two names).
func SearchTerm(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\n", ""))
}
