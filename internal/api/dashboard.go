package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

//go:embed web/*.html web/static/*
var webFS embed.FS

var dashTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"cost": costText,
	"usd":  jobCostText,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return "—"
	},
	"live": func(s store.Status) bool { return !s.Terminal() },
}).ParseFS(webFS, "web/*.html"))

const sessionCookie = "sagetrain_session"

func (s *Server) registerDashboard() {
	static, _ := fs.Sub(webFS, "web/static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.handle("GET", "/static/", "none", false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	s.handle("GET", "/login", "none", false, s.loginPage)
	s.handle("POST", "/login", "none", false, s.loginSubmit)
	s.handle("POST", "/logout", "session", false, s.session(s.logout))
	s.handle("GET", "/{$}", "session", false, s.session(s.listPage))
	s.handle("GET", "/jobs/{id}", "session", false, s.session(s.jobPage))
	s.handle("POST", "/jobs/{id}/cancel", "session", false, s.session(s.cancelForm))
	s.handle("GET", "/jobs/{id}/logs", "session", false, s.session(s.streamLogs))
	s.handle("GET", "/jobs/{id}/plots/{name}", "session", false, s.session(s.servePlot))
	s.registerDashboardModels()
	s.registerSweepPages()
}

type sessionKey struct{}

// session requires the dashboard cookie (set by /login) and, for POSTs,
// a same-origin request carrying the session's CSRF token. Without
// authentication (--insecure-no-auth) a random session is handed out so
// the CSRF protection still holds.
func (s *Server) session(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		val := ""
		if err == nil {
			val = c.Value
		}
		if !s.validSession(r.Context(), val) {
			if s.auth.insecure && r.Method == http.MethodGet {
				val = randomHex(32)
				s.setSession(w, val)
			} else if r.Method == http.MethodGet && (r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/jobs/") && !strings.Contains(r.URL.Path[len("/jobs/"):], "/")) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			} else {
				writeError(w, http.StatusUnauthorized, "unauthorized", "not logged in to the dashboard; open /login and enter an API token")
				return
			}
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				writeError(w, http.StatusForbidden, "forbidden", "cross-site request refused; use the dashboard's own buttons")
				return
			}
			if err := r.ParseForm(); err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", "form is malformed: "+err.Error())
				return
			}
			want := csrfToken(val)
			if got := r.PostFormValue("csrf"); len(got) != len(want) || !hmacEqual(got, want) {
				writeError(w, http.StatusForbidden, "forbidden", "missing or stale form token; reload the page and try again")
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, val)))
	}
}

func hmacEqual(a, b string) bool {
	return newAuthenticator(nil, false).valid([][]byte{[]byte(a)}, b)
}

// sameOrigin checks Origin (or, without it, Sec-Fetch-Site) against the
// request's own host.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" {
		return sf == "same-origin"
	}
	// Old clients send neither; the CSRF token still protects them.
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) setSession(w http.ResponseWriter, val string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: val, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opt.SecureCookies, MaxAge: 12 * 3600,
	})
}

type pageData struct {
	Title   string
	CSRF    string
	Refresh int // seconds; 0 = no auto-refresh
	Auth    bool
	Error   string
	Next    string

	// list page
	Jobs     []*store.Job
	Filter   listFilterView
	NextPage string
	Sweeps   []*sweep.View // one row each in place of their trials (list_sweeps.go)

	// job page
	Job      *store.Job
	Events   []store.Event
	Metrics  []metricRow
	Plots    []plotView
	Logs     string
	LogsNote string

	// job page: models (dashboard_models.go)
	Groups    []groupRow
	Progress  *progress.Record
	Exports   []exportRow
	CanExport bool
	Sweep     *sweepPageView   // sweep page
	Compare   *comparePageView // compare page

	// list page costs, job page provenance (dashboard_provenance.go)
	ListCosts  map[string]string
	Provenance *provenance.Provenance
}

type listFilterView struct {
	Status, Environment, Name string
	Statuses                  []store.Status
}

type metricRow struct{ Key, Value string }

type plotView struct{ Name, URL, Caption string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	if v, ok := r.Context().Value(sessionKey{}).(string); ok {
		d.CSRF = csrfToken(v)
	}
	d.Auth = !s.auth.insecure
	var buf bytes.Buffer
	if err := dashTemplates.ExecuteTemplate(&buf, name, d); err != nil {
		s.log.Error("dashboard template", "template", name, "err", err)
		http.Error(w, "internal error rendering the page; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.auth.insecure {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login.html", &pageData{Title: "Log in", Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps redirects after login on this site: a path of this
// site only. Browsers drop tabs and newlines from URLs ("/\t/evil.example"
// becomes "//evil.example"), so any control or space byte is refused, as
// are "//", backslashes and anything url.Parse sees a host or scheme in.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.Contains(n, `\`) || len(n) > 2048 {
		return "/"
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(n)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return n
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "forbidden", "cross-site login refused; use the dashboard's login form")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "form is malformed: "+err.Error())
		return
	}
	next := safeNext(r.PostFormValue("next"))
	val := s.auth.login(strings.TrimSpace(r.PostFormValue("token")))
	if val == "" {
		s.render(w, r, http.StatusUnauthorized, "login.html", &pageData{Title: "Log in", Error: "That token is not valid. Use one of the server's API tokens.", Next: next})
		return
	}
	s.setSession(w, val)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if v, ok := r.Context().Value(sessionKey{}).(string); ok && !s.auth.insecure {
		if err := s.revokeSession(r.Context(), v); err != nil {
			writeErr(w, r, s.log, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) listPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, msg := parseListFilter(q)
	d := &pageData{Title: "Training jobs", Filter: listFilterView{Status: q.Get("status"), Environment: q.Get("environment"), Name: q.Get("name"), Statuses: store.AllStatuses}}
	if msg != "" {
		d.Error = msg
		s.render(w, r, http.StatusBadRequest, "list.html", d)
		return
	}
	f.Summary = true
	jobs, next, err := s.opt.Jobs.List(r.Context(), f)
	if err != nil {
		status, _ := statusOf(err)
		d.Error = "Could not list jobs: " + err.Error()
		s.render(w, r, status, "list.html", d)
		return
	}
	d.Jobs = jobs
	d.Sweeps = s.sweepRows(r.Context(), f)
	for _, v := range d.Sweeps {
		if !store.SweepTerminal(v.Status) {
			d.Refresh = 5
		}
	}
	if next != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", next)
		d.NextPage = "/?" + nq.Encode()
	}
	for _, j := range jobs {
		if !j.Status.Terminal() {
			d.Refresh = 5
			break
		}
	}
	s.render(w, r, http.StatusOK, "list.html", s.withListCosts(r.Context(), d))
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	j, evs, err := s.jobWithEvents(r.Context(), r.PathValue("id"))
	if err != nil {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Job not shown", Error: err.Error()})
		return
	}
	d := &pageData{Title: j.Name, Job: j, Events: evs}
	if !j.Status.Terminal() {
		d.Refresh = 3
	}
	if j.Status == store.StatusCompleted {
		if rep, err := s.opt.Jobs.Report(r.Context(), j.ID); err == nil {
			d.Metrics = flattenMetrics(rep.Metrics)
			for _, p := range pngPlots(rep.Plots) {
				name := filepath.Base(p)
				d.Plots = append(d.Plots, plotView{Name: name, URL: "/jobs/" + url.PathEscape(j.ID) + "/plots/" + url.PathEscape(name), Caption: plotCaption(name)})
			}
			sortPlots(d.Plots)
		} else {
			d.LogsNote = "Report not available: " + err.Error()
		}
	}
	if len(d.Metrics) == 0 {
		var m map[string]any
		if raw := reportMetrics(j.Report); raw != nil && json.Unmarshal(raw, &m) == nil {
			d.Metrics = flattenMetrics(m)
		}
	}
	s.jobPageModels(r, j, d)
	s.jobPageProvenance(r, j, d)
	d.Logs, err = s.tailLogs(r.Context(), j.ID, 64<<10)
	if err != nil && d.Logs == "" {
		d.Logs = "(no log yet: " + err.Error() + ")"
	}
	s.render(w, r, http.StatusOK, "job.html", d)
}

// plotCaption turns the trainer's "loss_3-4.png" into "age group 3-4";
// other names just lose the extension and underscores.
func plotCaption(name string) string {
	base := strings.TrimSuffix(name, ".png")
	if g, ok := strings.CutPrefix(base, "loss_"); ok && g != "" && g[0] >= '0' && g[0] <= '9' {
		return "age group " + g
	}
	for prefix, what := range map[string]string{"roc_": "ROC curve, ", "scores_": "test scores, "} {
		if g, ok := strings.CutPrefix(base, prefix); ok && g == "all" {
			return what + "all age groups"
		} else if ok && g != "" && g[0] >= '0' && g[0] <= '9' {
			return what + "age group " + g
		}
	}
	return strings.ReplaceAll(base, "_", " ")
}

// sortPlots orders plots by the first number in their name, so age group
// 2-3 comes before 10-12.
func sortPlots(ps []plotView) {
	key := func(s string) int {
		n, seen := 0, false
		for _, r := range s {
			if r >= '0' && r <= '9' {
				n, seen = n*10+int(r-'0'), true
			} else if seen {
				break
			}
		}
		if !seen {
			return 1 << 30
		}
		return n
	}
	sort.SliceStable(ps, func(i, j int) bool {
		ki, kj := key(ps[i].Name), key(ps[j].Name)
		if ki != kj {
			return ki < kj
		}
		return ps[i].Name < ps[j].Name
	})
}

// tailLogs returns the last max bytes of the log, waiting at most a few
// seconds (a page must not hang on a slow log backend).
func (s *Server) tailLogs(ctx context.Context, id string, max int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	t := &tailWriter{max: max}
	err := s.opt.Jobs.Logs(ctx, id, false, t)
	out := string(t.buf)
	if t.cut {
		out = "…(earlier lines cut; open the full log)\n" + out
	}
	return out, err
}

type tailWriter struct {
	buf []byte
	max int
	cut bool
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

// flattenMetrics lists nested metrics as dotted keys, sorted.
func flattenMetrics(m map[string]any) []metricRow {
	var rows []metricRow
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if len(rows) >= 500 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x[k])
			}
		case float64:
			rows = append(rows, metricRow{prefix, fmt.Sprintf("%.6g", x)})
		case string:
			rows = append(rows, metricRow{prefix, x})
		case nil:
			rows = append(rows, metricRow{prefix, "—"})
		default:
			b, _ := json.Marshal(x)
			s := string(b)
			if len(s) > 200 {
				s = s[:200] + "…"
			}
			rows = append(rows, metricRow{prefix, s})
		}
	}
	walk("", m)
	return rows
}

func (s *Server) cancelForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, err := s.opt.Jobs.Cancel(r.Context(), id)
	s.lists.clear()
	if err != nil && !errors.Is(err, errs.ErrConflict) {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Cancel failed", Error: err.Error()})
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(id), http.StatusSeeOther)
}
