package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

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
	buf := new(bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(apiError{Error: errorBody{Code: code, Message: message}})
	writeBody(w, status, buf.Bytes())
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

// bufPool holds response buffers: a body is encoded whole, then written
// with its Content-Length in one go (no chunked encoding, fewer syscalls).
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	// Compact: the application parses it, and indenting costs CPU under load.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "internal error while encoding the answer; retry or report it")
		return
	}
	writeBody(w, status, buf.Bytes())
}

// encodeJSON is writeJSON's encoding into a slice of its own (for caching).
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeBody sends an encoded JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
