// Package errs holds sagetrain's error families. They mirror the original
// service's exceptions (a base error with configuration, job and container
// errors under it) so callers can test them with errors.Is and errors.As.
//
// Every message should say what went wrong and what to do about it.
package errs
