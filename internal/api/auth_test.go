package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
)

func TestLoadTokens(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(f, []byte("# ops team\nfile-token-aaaaaaaaaaaa\n\n  file-token-bbbbbbbbbbbb  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTokens(f, " env-token-cccccccccccc ,,env-token-dddddddddddd")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"file-token-aaaaaaaaaaaa", "file-token-bbbbbbbbbbbb", "env-token-cccccccccccc", "env-token-dddddddddddd"}
	if len(got) != len(want) {
		t.Fatalf("tokens = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tokens = %q, want %q", got, want)
		}
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing"), ""); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("missing file: err = %v, want a configuration error", err)
	}
	if _, err := LoadTokens("", "short"); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("short token: err = %v, want a configuration error", err)
	}
}

func TestCheckInsecure(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "10.1.2.3:80": false, "example.org:80": false, "nonsense": false,
	} {
		err := CheckInsecure(addr)
		if (err == nil) != ok {
			t.Errorf("CheckInsecure(%q) = %v, want ok=%v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("CheckInsecure(%q): %v is not a configuration error", addr, err)
		}
	}
}

func TestBearer(t *testing.T) {
	a := newAuthenticator([]string{"token-one-aaaaaaaaaaaa", "token-two-bbbbbbbbbbbb"}, false)
	for h, ok := range map[string]bool{
		"Bearer token-one-aaaaaaaaaaaa": true,
		"bearer token-two-bbbbbbbbbbbb": true,
		"Bearer token-one-aaaaaaaaaaa":  false,
		"Bearer ":                       false,
		"token-one-aaaaaaaaaaaa":        false,
		"Basic dG9rZW4=":                false,
		"":                              false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := a.bearer(r); got != ok {
			t.Errorf("bearer(%q) = %v, want %v", h, got, ok)
		}
	}
	// Sessions derive from tokens and never equal them.
	srv := New(Options{Tokens: []string{"token-one-aaaaaaaaaaaa", "token-two-bbbbbbbbbbbb"}})
	srv.auth = a
	ctx := context.Background()
	v := a.login("token-two-bbbbbbbbbbbb")
	if v == "" || strings.Contains(v, "token-two-bbbbbbbbbbbb") || !srv.validSession(ctx, v) {
		t.Fatalf("login gave %q", v)
	}
	if a.login("wrong-token-cccccccccc") != "" || srv.validSession(ctx, "deadbeef") || srv.validSession(ctx, "") {
		t.Fatal("invalid token or session accepted")
	}
	if csrfToken(v) == csrfToken(a.login("token-one-aaaaaaaaaaaa")) {
		t.Fatal("two sessions share a CSRF token")
	}
}
