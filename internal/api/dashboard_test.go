package api

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/store"
)

func TestDashboardCSRFAndOrigin(t *testing.T) {
	h := newHarness(t, nil)
	var live JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"csrf-target"}`, 201, &live)
	cl := h.login(t, testToken)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(form url.Values, origin string) int {
		req, _ := http.NewRequest("POST", h.ts.URL+"/jobs/"+live.ID+"/cancel", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(url.Values{}, h.ts.URL); c != 403 {
		t.Fatalf("cancel without CSRF token = %d, want 403", c)
	}
	if c := post(url.Values{"csrf": {strings.Repeat("0", 64)}}, h.ts.URL); c != 403 {
		t.Fatalf("cancel with a wrong CSRF token = %d, want 403", c)
	}
	// The right token from another site's page is still refused.
	resp, _ := cl.Get(h.ts.URL + "/jobs/" + live.ID)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(b)
	if m == nil || !strings.Contains(string(b), `id="cancel"`) {
		t.Fatalf("job page has no cancel form: %s", b)
	}
	if c := post(url.Values{"csrf": {string(m[1])}}, "http://evil.example"); c != 403 {
		t.Fatalf("cross-origin cancel = %d, want 403", c)
	}
	j, _ := h.st.Get(t.Context(), live.ID)
	if j.CancelRequested {
		t.Fatal("a refused request cancelled the job")
	}
	if c := post(url.Values{"csrf": {string(m[1])}}, h.ts.URL); c != 303 {
		t.Fatalf("same-origin cancel = %d, want 303", c)
	}
	j, _ = h.st.Get(t.Context(), live.ID)
	if !j.CancelRequested {
		t.Fatal("the dashboard's cancel did not reach the job")
	}
	// A wrong token at /login sets no cookie.
	jar, _ := cookiejar.New(nil)
	bad := &http.Client{Jar: jar}
	resp, err := bad.PostForm(h.ts.URL+"/login", url.Values{"token": {"not-a-valid-token-xxxxxx"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "not valid") || len(jar.Cookies(mustURL(h.ts.URL))) != 0 {
		t.Fatalf("bad login = %d, cookies %v", resp.StatusCode, jar.Cookies(mustURL(h.ts.URL)))
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestDashboardPages(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Tokens = nil; o.Insecure = true })
	id := h.completedJob("page-check")
	var failed JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"broken-run","environment":"sagemaker"}`, 201, &failed)
	h.finish(failed.ID, store.StatusFailed, func(j *store.Job) { j.FailureReason = "AlgorithmError: out of memory" })
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	get := func(p string) string {
		resp, err := cl.Get(h.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", p, resp.StatusCode, b)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("GET %s: no CSP", p)
		}
		return string(b)
	}
	list := get("/")
	for _, want := range []string{"page-check", "broken-run", "status-completed", "status-failed"} {
		if !strings.Contains(list, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	if strings.Contains(list, `http-equiv="refresh"`) {
		t.Error("list of ended jobs refreshes itself")
	}
	filtered := get("/?status=failed")
	if strings.Contains(filtered, "page-check") || !strings.Contains(filtered, "broken-run") {
		t.Error("status filter not applied on the list page")
	}
	page := get("/jobs/" + id)
	for _, want := range []string{"Status history", "Loss curves", `/jobs/` + id + `/plots/loss_3-4.png`, "age_groups.3-4.roc_auc", "0.91", "epoch 2 loss=0.25", "age group 5"} {
		if !strings.Contains(page, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="cancel"`) {
		t.Error("an ended job shows a cancel button")
	}
	fp := get("/jobs/" + failed.ID)
	if !strings.Contains(fp, "AlgorithmError: out of memory") {
		t.Error("failure reason not shown")
	}
	var live JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"still-going"}`, 201, &live)
	lp := get("/jobs/" + live.ID)
	if !strings.Contains(lp, `http-equiv="refresh"`) || !strings.Contains(lp, `id="cancel"`) {
		t.Error("a live job's page must refresh itself and offer cancel")
	}
	resp, _ := cl.Get(h.ts.URL + "/jobs/nosuchjob")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown job page = %d", resp.StatusCode)
	}
	// Escaping: a job name is text, never markup.
	var x JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"<script>alert(1)</script>"}`, 201, &x)
	if strings.Contains(get("/"), "<script>alert(1)") {
		t.Error("job name not escaped")
	}
}

func TestPlotOrderAndCaptions(t *testing.T) {
	ps := []plotView{{Name: "loss_10-12.png"}, {Name: "loss_2-3.png"}, {Name: "summary.png"}, {Name: "loss_4-5.png"}}
	sortPlots(ps)
	got := []string{}
	for _, p := range ps {
		got = append(got, p.Name)
	}
	if strings.Join(got, ",") != "loss_2-3.png,loss_4-5.png,loss_10-12.png,summary.png" {
		t.Fatalf("order %v", got)
	}
	if c := plotCaption("loss_2-3.png"); c != "age group 2-3" {
		t.Fatalf("caption %q", c)
	}
	if c := plotCaption("roc_5-6.png"); c != "ROC curve, age group 5-6" {
		t.Fatalf("caption %q", c)
	}
	if c := plotCaption("scores_all.png"); c != "test scores, all age groups" {
		t.Fatalf("caption %q", c)
	}
	if c := plotCaption("roc_curve.png"); c != "roc curve" {
		t.Fatalf("caption %q", c)
	}
}
