package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

// routeCase says how to call a route and what it answers when authorized.
type routeCase struct {
	body string
	want int
}

func (h *harness) routeCases() (map[string]routeCase, func(pattern string) string) {
	done := h.completedJob("route-check")
	var live JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"route-live"}`, 201, &live)
	// An export record with no files (it fails validation) and a deployment of it.
	exp := &store.Export{JobID: done, Format: "sagetrain", AgeMin: 3, AgeMax: 9, SHA256: "00", Location: "/nowhere"}
	if err := h.st.CreateExport(context.Background(), exp); err != nil {
		h.t.Fatal(err)
	}
	dep := &store.Deployment{ModelID: exp.ID, AgeMin: 3, AgeMax: 9}
	if _, err := h.st.Deploy(context.Background(), dep, false, false); err != nil {
		h.t.Fatal(err)
	}
	cases := map[string]routeCase{
		"POST " + Prefix + "/jobs":                   {`{"job_name":"route-new"}`, 201},
		"GET " + Prefix + "/jobs":                    {"", 200},
		"GET " + Prefix + "/jobs/{id}":               {"", 200},
		"POST " + Prefix + "/jobs/{id}/cancel":       {"", 202},
		"GET " + Prefix + "/jobs/{id}/reports":       {"", 200},
		"GET " + Prefix + "/jobs/{id}/logs":          {"", 200},
		"GET " + Prefix + "/jobs/{id}/plots/{name}":  {"", 200},
		"GET " + Prefix + "/environments/status":     {"", 200},
		"POST " + Prefix + "/sagemaker/setup":        {`{}`, 503},
		"GET " + Prefix + "/events":                  {"", 200},
		"GET /api/v1/openapi.json":                   {"", 200},
		"GET /healthz":                               {"", 200},
		"GET /readyz":                                {"", 200},
		"GET /metrics":                               {"", 200},
		" /api/":                                     {"", 404},
		"GET /static/":                               {"", 200},
		"GET /login":                                 {"", 200},
		"POST /login":                                {"", 303},
		"POST /logout":                               {"", 303},
		"GET /{$}":                                   {"", 200},
		"GET /jobs/{id}":                             {"", 200},
		"POST /jobs/{id}/cancel":                     {"", 303},
		"GET /jobs/{id}/logs":                        {"", 200},
		"GET /jobs/{id}/plots/{name}":                {"", 200},
		"POST /jobs/{id}/models/{model}/deploy":      {"", 404},
		"POST /jobs/{id}/deployments/{dep}/undeploy": {"", 404},
		// The test job has no model folder: export answers 422.
		"POST " + Prefix + "/models/export":        {`{"training_job_id":"` + done + `"}`, 422},
		"GET " + Prefix + "/models/exports":        {"", 200},
		"POST " + Prefix + "/models/validate":      {`{"model_id":"` + exp.ID + `"}`, 200},
		"POST " + Prefix + "/models/deploy":        {`{"model_id":"` + exp.ID + `"}`, 409}, // the export fails validation
		"GET " + Prefix + "/models/deployed":       {"", 200},
		"POST " + Prefix + "/models/{id}/undeploy": {"", 200},
		"POST " + Prefix + "/deploy":               {`{"training_job_id":"` + done + `"}`, 422},
		"POST " + ScorePath:                        {`{"features":[1,2,3],"age_years":7}`, 409},
	}
	// The harness runs no sweep scheduler and its job service cannot resume.
	for k, c := range map[string]routeCase{
		"POST " + Prefix + "/sweeps":             {`{"spec":{"job_name":"s"},"objective":"val_loss:min"}`, 503},
		"GET " + Prefix + "/sweeps":              {"", 503},
		"GET " + Prefix + "/sweeps/{id}":         {"", 503},
		"POST " + Prefix + "/sweeps/{id}/cancel": {"", 503},
		"POST " + Prefix + "/jobs/{id}/resume":   {"", 503},
		"GET /sweeps/{id}":                       {"", 503},
		"GET /compare":                           {"", 503},
	} {
		cases[k] = c
	}
	path := func(key string) string {
		_, p, _ := strings.Cut(key, " ")
		id := done
		if strings.HasSuffix(p, "/cancel") {
			id = live.ID
		}
		if strings.HasSuffix(p, "/undeploy") {
			id = dep.ID
		}
		p = strings.ReplaceAll(p, "{id}", id)
		p = strings.ReplaceAll(p, "{name}", "loss_5.png")
		p = strings.ReplaceAll(p, "{model}", "no-such-model")
		p = strings.ReplaceAll(p, "{dep}", "no-such-deployment")
		p = strings.ReplaceAll(p, "{$}", "")
		switch p {
		case "/static/":
			p = "/static/style.css"
		case "/api/":
			p = Prefix + "/no-such-route"
		}
		return p
	}
	return cases, path
}

func routeKey(r Route) string { return r.Method + " " + r.Pattern }

// TestEveryRouteWithAndWithoutToken calls every registered route without
// credentials, with a wrong token and with a valid one.
func TestEveryRouteWithAndWithoutToken(t *testing.T) {
	h := newHarness(t, nil)
	cases, path := h.routeCases()
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	for _, r := range h.srv.Routes() {
		key := routeKey(r)
		c, ok := cases[key]
		if !ok {
			t.Errorf("route %q has no case in this test: add one", key)
			continue
		}
		p := path(key)
		method := r.Method
		if method == "" {
			method = "GET"
		}
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			switch r.Auth {
			case "bearer":
				for _, tok := range []string{"", "wrong-token-zzzzzzzzzzzzzz"} {
					code, raw, hdr := h.do(method, p, tok, strings.NewReader(c.body))
					if code != 401 || errorCode(t, raw) != "unauthorized" || hdr.Get("WWW-Authenticate") == "" {
						t.Fatalf("token %q: %s %s = %d %s, want 401", tok, method, p, code, raw)
					}
				}
				code, raw, _ := h.do(method, p, testToken, strings.NewReader(c.body))
				if code != c.want {
					t.Fatalf("with token: %s %s = %d %s, want %d", method, p, code, raw, c.want)
				}
			case "none":
				code, raw, _ := h.do(method, p, "", strings.NewReader(c.body))
				want := c.want
				if key == "POST /login" {
					want = 401 // no token in the form
				}
				if code != want {
					t.Fatalf("%s %s = %d %s, want %d", method, p, code, raw, want)
				}
			case "session":
				// Without the dashboard cookie: a redirect to /login (pages) or 401.
				req, _ := http.NewRequest(method, h.ts.URL+p, strings.NewReader("csrf=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+testToken) // the dashboard does not take bearer tokens
				resp, err := noRedirect(&http.Client{}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if !(resp.StatusCode == 401 || resp.StatusCode == 303 && strings.HasPrefix(resp.Header.Get("Location"), "/login")) {
					t.Fatalf("no session: %s %s = %d %s", method, p, resp.StatusCode, resp.Header.Get("Location"))
				}
				// With a session from /login.
				cl := h.login(t, testToken)
				code := h.dashDo(t, noRedirect(cl), method, p)
				if code != c.want {
					t.Fatalf("with session: %s %s = %d, want %d", method, p, code, c.want)
				}
			default:
				t.Fatalf("route %s has unknown auth %q", key, r.Auth)
			}
		})
	}
}

// login posts the token to /login and returns a client holding the cookie.
func (h *harness) login(t *testing.T, token string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	form := url.Values{"token": {token}, "next": {"/"}}
	req, _ := http.NewRequest("POST", h.ts.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.ts.URL)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login then / = %d", resp.StatusCode)
	}
	u, _ := url.Parse(h.ts.URL)
	var ok bool
	for _, c := range jar.Cookies(u) {
		ok = ok || c.Name == sessionCookie
	}
	if !ok {
		t.Fatal("login set no session cookie")
	}
	return cl
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// dashDo sends a dashboard request; POSTs carry the page's CSRF token and
// a same-origin Origin, as a browser would.
func (h *harness) dashDo(t *testing.T, cl *http.Client, method, p string) int {
	t.Helper()
	var body io.Reader
	var csrf string
	if method == "POST" {
		resp, err := cl.Get(h.ts.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRe.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no CSRF token on the page: %s", b)
		}
		csrf = string(m[1])
		body = strings.NewReader(url.Values{"csrf": {csrf}, "token": {testToken}}.Encode())
	}
	req, _ := http.NewRequest(method, h.ts.URL+p, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", h.ts.URL)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type openapiDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Responses map[string]any `json:"responses"`
	} `json:"paths"`
}

// TestOpenAPIMatchesRoutes checks that every API route is documented, that
// every documented operation is a route, and that each answers with one
// of its documented status codes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := newHarness(t, nil)
	code, raw, hdr := h.do("GET", "/api/v1/openapi.json", "", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json = %d %s", code, hdr.Get("Content-Type"))
	}
	var doc openapiDoc
	if err := json.Unmarshal(raw, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range h.srv.Routes() {
		if !r.API || r.Method == "" {
			continue
		}
		k := routeKey(r)
		registered[k] = true
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	cases, path := h.routeCases()
	var keys []string
	for k := range documented {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !registered[k] {
			t.Errorf("openapi.json documents %s, which is not a route", k)
			continue
		}
		c := cases[k]
		method, p, _ := strings.Cut(k, " ")
		code, raw, _ := h.do(method, path(k), testToken, strings.NewReader(c.body))
		ops := doc.Paths[p][strings.ToLower(method)]
		if _, ok := ops.Responses[strconv.Itoa(code)]; !ok {
			t.Errorf("%s answered %d, which its documentation does not list: %s", k, code, raw)
		}
		if code == 404 || code == 405 {
			t.Errorf("documented route %s does not answer: %d", k, code)
		}
	}
	if len(registered) < 13 {
		t.Fatalf("only %d API routes registered", len(registered))
	}
}
