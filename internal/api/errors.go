package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// apiError is the body of every error answer: {"error": {"code", "message"}}.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with a JSON error. message must say what is wrong and
// what to do; it never carries a stack trace.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(apiError{Error: errorBody{Code: code, Message: message}})
}

// writeErr maps a sagetrain error family to a status code. Unknown errors
// become a 500 with a generic message (the detail goes to the log only).
func writeErr(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error while handling the request; the server log has the details, retry or report it"
	}
	writeError(w, status, code, msg)
}

func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errs.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errs.ErrConfiguration):
		return http.StatusUnprocessableEntity, "invalid_configuration"
	case errors.Is(err, errs.ErrJob):
		return http.StatusUnprocessableEntity, "job_error"
	case errors.Is(err, errs.ErrContainer):
		return http.StatusUnprocessableEntity, "container_error"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// Compact: the application parses it, and indenting costs CPU under load.
	_ = json.NewEncoder(w).Encode(v)
}
