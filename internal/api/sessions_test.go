package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// get fetches path with only the given session cookie, not following
// redirects.
func getWithSession(t *testing.T, base, path, session string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func sessionOf(t *testing.T, cl *http.Client, base string) string {
	t.Helper()
	for _, c := range cl.Jar.Cookies(mustURL(base)) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// Logout revokes the session on every replica sharing the store, and a
// replayed cookie is refused.
func TestLogoutRevokesTheSessionOnEveryReplica(t *testing.T) {
	h := newHarness(t, nil)
	other := httptest.NewServer(New(Options{Jobs: h.svc, Store: h.st, Tokens: []string{testToken}, ListCacheTTL: -1}))
	t.Cleanup(other.Close)
	cl := h.login(t, testToken)
	val := sessionOf(t, cl, h.ts.URL)
	if code, _ := getWithSession(t, other.URL, "/", val); code != 200 {
		t.Fatalf("the other replica refused a fresh session: %d", code)
	}
	resp, err := cl.Get(h.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no logout form: %s", b)
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", h.ts.URL+"/logout", strings.NewReader(url.Values{"csrf": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.ts.URL)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	for _, base := range []string{h.ts.URL, other.URL} {
		if code, _ := getWithSession(t, base, "/", val); code != 303 {
			t.Errorf("replayed cookie after logout at %s = %d, want a redirect to /login", base, code)
		}
		if code, _ := getWithSession(t, base, "/jobs/x/plots/a.png", val); code != 401 {
			t.Errorf("replayed cookie on a plot at %s = %d, want 401", base, code)
		}
	}
}

// Sessions expire on the server after 12 hours; the issued-at time is
// inside the MAC, so it cannot be moved.
func TestSessionsExpireOnTheServer(t *testing.T) {
	h := newHarness(t, nil)
	fresh := newSessionValue(testToken, time.Now().Add(-time.Hour))
	if code, _ := getWithSession(t, h.ts.URL, "/", fresh); code != 200 {
		t.Fatalf("an hour-old session = %d", code)
	}
	old := newSessionValue(testToken, time.Now().Add(-SessionTTL-time.Minute))
	if code, _ := getWithSession(t, h.ts.URL, "/", old); code != 303 {
		t.Fatalf("a 12 h 1 min old session = %d, want a redirect to /login", code)
	}
	parts := strings.Split(old, ".")
	parts[1] = itoa(time.Now().Unix())
	if code, _ := getWithSession(t, h.ts.URL, "/", strings.Join(parts, ".")); code != 303 {
		t.Fatalf("an old session with a new issued-at = %d", code)
	}
	if code, _ := getWithSession(t, h.ts.URL, "/", newSessionValue("another-token-0123456789", time.Now())); code != 303 {
		t.Fatalf("a session of an unknown token = %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// After login, next= goes only to this site's paths.
func TestLoginNextStaysOnSite(t *testing.T) {
	h := newHarness(t, nil)
	for next, want := range map[string]string{
		"/jobs/abc":            "/jobs/abc",
		"/?status=running":     "/?status=running",
		"/\t/evil.example":     "/",
		"/%09/evil.example":    "/%09/evil.example", // stays a path: the %09 is not decoded by browsers
		"/\n/evil.example":     "/",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"/ /evil.example":      "/",
	} {
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.PostForm(h.ts.URL+"/login", url.Values{"token": {testToken}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); resp.StatusCode != 303 || got != want {
			t.Errorf("next=%q: %d Location %q, want %q", next, resp.StatusCode, got, want)
		}
	}
}
