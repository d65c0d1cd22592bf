package api

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// TokenEnv is the environment variable holding comma-separated API tokens.
const TokenEnv = "SAGETRAIN_API_TOKENS"

// LoadTokens reads bearer tokens from file (one a line; blank lines and
// lines starting with # are skipped) and from the comma-separated env value.
func LoadTokens(file, env string) ([]string, error) {
	var toks []string
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, errs.Configuration("cannot read the token file "+file, "pass --token-file with a readable file holding one token a line", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			toks = append(toks, line)
		}
		if err := sc.Err(); err != nil {
			return nil, errs.Configuration("cannot read the token file "+file, "check the file", err)
		}
	}
	for _, t := range strings.Split(env, ",") {
		if t = strings.TrimSpace(t); t != "" {
			toks = append(toks, t)
		}
	}
	for _, t := range toks {
		if len(t) < 16 {
			return nil, errs.Configuration("an API token is shorter than 16 characters", "use long random tokens, e.g. `openssl rand -hex 32`", nil)
		}
	}
	return toks, nil
}

// CheckInsecure refuses to run without authentication unless the address is
// loopback only.
func CheckInsecure(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return errs.Configuration("bad --addr "+addr, "use host:port, e.g. 127.0.0.1:8080", err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errs.Configuration("--insecure-no-auth is only allowed on a loopback address, not "+addr,
			"listen on 127.0.0.1 or give tokens with --token-file or "+TokenEnv, nil)
	}
	return nil
}

// authenticator checks bearer tokens in constant time. With no tokens and
// insecure mode on, everything is allowed.
type authenticator struct {
	tokens   [][]byte
	insecure bool
}

func newAuthenticator(tokens []string, insecure bool) *authenticator {
	a := &authenticator{insecure: insecure}
	for _, t := range tokens {
		a.tokens = append(a.tokens, []byte(t))
	}
	return a
}

// validToken compares tok with every token in constant time (no early exit,
// so the time does not tell which token nearly matched).
func (a *authenticator) valid(list [][]byte, tok string) bool {
	ok := 0
	b := []byte(tok)
	for _, t := range list {
		ok |= subtle.ConstantTimeCompare(t, b)
	}
	return ok == 1
}

func (a *authenticator) bearer(r *http.Request) bool {
	if a.insecure {
		return true
	}
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return false
	}
	return a.valid(a.tokens, strings.TrimSpace(h[len(p):]))
}

// login returns a new session cookie value for a token, or "" if invalid.
func (a *authenticator) login(tok string) string {
	if !a.valid(a.tokens, tok) {
		return ""
	}
	return newSessionValue(tok, time.Now())
}

// csrfToken is derived from the session value: unguessable without the
// session cookie, the same on every replica.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("sagetrain dashboard csrf v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// requireBearer wraps an API handler with bearer authentication.
func (a *authenticator) requireBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.bearer(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sagetrain"`)
			writeError(w, http.StatusUnauthorized, "unauthorized",
				"missing or invalid bearer token; send 'Authorization: Bearer <token>' with a token from the server's --token-file or "+TokenEnv)
			return
		}
		next.ServeHTTP(w, r)
	})
}
