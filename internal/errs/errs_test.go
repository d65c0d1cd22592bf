package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestFamilies(t *testing.T) {
	cause := errors.New("boom")
	err := fmt.Errorf("wrapped: %w", Job("job x failed", "retry", cause))
	if !errors.Is(err, ErrJob) || !errors.Is(err, ErrSagetrain) {
		t.Fatalf("family lost: %v", err)
	}
	if errors.Is(err, ErrConfiguration) {
		t.Fatalf("job error claims to be a configuration error")
	}
	if !errors.Is(err, cause) {
		t.Fatalf("cause lost")
	}
	var e *Error
	if !errors.As(err, &e) || e.Fix != "retry" {
		t.Fatalf("errors.As failed: %v", err)
	}
	if got := ExitCode(err); got != 4 {
		t.Fatalf("exit code %d", got)
	}
	if got := ExitCode(NotFound("job 1")); got != 3 {
		t.Fatalf("not found exit code %d", got)
	}
	if got := ExitCode(Configuration("bad", "", nil)); got != 2 {
		t.Fatalf("config exit code %d", got)
	}
}

func TestConflict(t *testing.T) {
	cause := errors.New("row version 3, not 2")
	err := Conflict("job x changed", "read it again", cause)
	if !errors.Is(err, ErrConflict) || !errors.Is(err, ErrSagetrain) || !errors.Is(err, cause) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Conflict's families: %v", err)
	}
	if !strings.Contains(err.Error(), "read it again") {
		t.Fatalf("Conflict hides its fix: %q", err)
	}
}
