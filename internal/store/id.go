package store

import (
	"time"

	"github.com/oklog/ulid/v2"
)

// NewID returns a new job id: a ULID, monotonic within this process (two ids
// made in the same millisecond still sort in creation order). Drivers call it
// when Create gets an empty ID.
func NewID() string { return ulid.Make().String() }

// Now is the store's clock: UTC, truncated to the microsecond so that what a
// driver returns equals what it later reads back from either database.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Micro normalises a caller's time the same way (UTC, microseconds).
func Micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}
