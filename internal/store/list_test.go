package store

import (
	"errors"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

func TestListLimit(t *testing.T) {
	for in, want := range map[int]int{-5: 50, 0: 50, 1: 1, 50: 50, 999: 999, 1000: 1000, 1001: 1000, 1 << 30: 1000} {
		if got := ListLimit(in); got != want {
			t.Errorf("ListLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), ID: "01J:with:colons"}
	s := EncodeCursor(c)
	got, err := DecodeCursor(s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Fatalf("round trip: %+v, want %+v", got, c)
	}
	for _, bad := range []string{"", "%%%", EncodeCursor(Cursor{})[:3]} {
		if _, err := DecodeCursor(bad); !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("DecodeCursor(%q): want a configuration error, got %v", bad, err)
		}
	}
}

func TestNewIDMonotonic(t *testing.T) {
	prev := NewID()
	for i := 0; i < 10000; i++ {
		id := NewID()
		if id <= prev {
			t.Fatalf("NewID not monotonic: %s after %s", id, prev)
		}
		prev = id
	}
}
