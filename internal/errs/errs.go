package errs

import (
	"errors"
	"fmt"
)

// ErrSagetrain is the base of every sagetrain error: errors.Is(err, ErrSagetrain)
// is true for any error built by this package.
var ErrSagetrain = errors.New("sagetrain")

// Family sentinels. errors.Is(err, ErrConfiguration) tells a configuration
// problem (bad spec, missing credentials, wrong region) from a job problem.
var (
	ErrConfiguration = fmt.Errorf("%w: configuration error", ErrSagetrain)
	ErrJob           = fmt.Errorf("%w: job error", ErrSagetrain)
	ErrContainer     = fmt.Errorf("%w: container error", ErrSagetrain)
	ErrNotFound      = fmt.Errorf("%w: not found", ErrSagetrain)
	ErrConflict      = fmt.Errorf("%w: conflict", ErrSagetrain)
)

// Error is a sagetrain error with a family, a message and an optional cause
// and fix. Its Error() text is "message: cause (fix: ...)".
type Error struct {
	Family error  // one of the family sentinels above
	Msg    string // what went wrong
	Fix    string // what the user should do; may be empty
	Err    error  // the underlying cause; may be nil
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	return s
}

// Is reports family membership, so errors.Is(err, ErrJob) works.
func (e *Error) Is(target error) bool {
	if target == ErrSagetrain {
		return true
	}
	return e.Family != nil && errors.Is(e.Family, target)
}

func (e *Error) Unwrap() error { return e.Err }

// Configuration builds a configuration error.
func Configuration(msg, fix string, cause error) error {
	return &Error{Family: ErrConfiguration, Msg: msg, Fix: fix, Err: cause}
}

// Job builds a job error.
func Job(msg, fix string, cause error) error {
	return &Error{Family: ErrJob, Msg: msg, Fix: fix, Err: cause}
}

// Container builds a container (image build/push/run) error.
func Container(msg, fix string, cause error) error {
	return &Error{Family: ErrContainer, Msg: msg, Fix: fix, Err: cause}
}

// Conflict builds a conflict error: the thing exists already, or is in a
// state that forbids the change (errors.Is(err, ErrConflict)).
func Conflict(msg, fix string, cause error) error {
	return &Error{Family: ErrConflict, Msg: msg, Fix: fix, Err: cause}
}

// NotFound builds a not-found error (also a job error).
func NotFound(what string) error {
	return &Error{Family: ErrNotFound, Msg: what + " not found", Fix: "check the id with 'sagetrain list'"}
}

// ExitCode maps an error to the CLI's exit code: 0 ok, 1 other failure,
// 2 usage or configuration, 3 not found, 4 job failed, 5 container error.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrConfiguration):
		return 2
	case errors.Is(err, ErrNotFound):
		return 3
	case errors.Is(err, ErrJob):
		return 4
	case errors.Is(err, ErrContainer):
		return 5
	default:
		return 1
	}
}
