package api

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// The dashboard's sweep page (the ranked trials) and compare page (jobs
// side by side, with their loss curves overlaid per age group).

// comparer is a JobService that compares jobs (*jobs.Service through FromJobs).
type comparer interface {
	Compare(ctx context.Context, ids []string, metrics []string) (*jobs.Comparison, error)
}

// maxCompared bounds the jobs one compare page reads.
const maxCompared = 8

func (s *Server) registerSweepPages() {
	s.handle("GET", "/sweeps/{id}", "session", false, s.session(s.sweepPage))
	s.handle("GET", "/compare", "session", false, s.session(s.comparePage))
}

// sweepPageView is the sweep page's data.
type sweepPageView struct {
	*sweep.View
	Keys  []string // parameter columns
	Short []string // their last path element, for headers
	IDs   string   // the completed trials, for a compare link
	Best  string   // the best objective value, formatted
	Rows  []sweepRow
}

type sweepRow struct {
	sweep.TrialView
	Value  string
	Params []string // in Keys order
}

func (s *Server) sweepPage(w http.ResponseWriter, r *http.Request) {
	if s.opt.Sweeps == nil {
		s.render(w, r, http.StatusServiceUnavailable, "error.html", &pageData{Title: "No sweeps", Error: "this server runs no sweep scheduler"})
		return
	}
	v, err := s.opt.Sweeps.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Sweep not shown", Error: err.Error()})
		return
	}
	pv := &sweepPageView{View: v}
	seen := map[string]bool{}
	var done []string
	for _, t := range v.Trials {
		for k := range t.Params {
			if !seen[k] {
				seen[k] = true
				pv.Keys = append(pv.Keys, k)
			}
		}
		if t.Status == string(store.StatusCompleted) && len(done) < maxCompared {
			done = append(done, "job="+t.ID)
		}
	}
	sort.Strings(pv.Keys)
	for _, k := range pv.Keys {
		pv.Short = append(pv.Short, k[strings.LastIndex(k, ".")+1:])
	}
	if len(done) >= 2 {
		pv.IDs = strings.Join(done, "&")
	}
	if v.Best != nil && v.Best.ObjectiveValue != nil {
		pv.Best = fmt.Sprintf("%.6g", *v.Best.ObjectiveValue)
	}
	for _, t := range v.Trials {
		row := sweepRow{TrialView: t, Value: "—"}
		if t.ObjectiveValue != nil {
			row.Value = fmt.Sprintf("%.6g", *t.ObjectiveValue)
		} else if t.Note != "" {
			row.Value = t.Note
		}
		for _, k := range pv.Keys {
			row.Params = append(row.Params, t.Params[k])
		}
		pv.Rows = append(pv.Rows, row)
	}
	d := &pageData{Title: "Sweep " + v.Name, Sweep: pv}
	if !store.SweepTerminal(v.Status) {
		d.Refresh = 5
	}
	s.render(w, r, http.StatusOK, "sweep.html", d)
}

// comparePageView is the compare page's data.
type comparePageView struct {
	*jobs.Comparison
	Settings []compareSetting
	Overall  []compareMetric
	Groups   []compareGroup
}

type compareSetting struct {
	Name   string
	Values []string
}

type compareGroup struct {
	Name    string
	Metrics []compareMetric
	Curves  template.HTML // an inline SVG of the jobs' validation losses, or ""
}

type compareMetric struct {
	Name   string
	Values []string
}

func fmtVals(vs []*float64) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "—"
		if v != nil {
			out[i] = fmt.Sprintf("%.6g", *v)
		}
	}
	return out
}

func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	cmp, ok := s.opt.Jobs.(comparer)
	if !ok {
		s.render(w, r, http.StatusServiceUnavailable, "error.html", &pageData{Title: "No compare", Error: "this server's job service cannot compare jobs"})
		return
	}
	ids := r.URL.Query()["job"]
	if len(ids) < 2 || len(ids) > maxCompared {
		s.render(w, r, http.StatusBadRequest, "error.html", &pageData{Title: "Compare", Error: fmt.Sprintf("name 2 to %d completed jobs: /compare?job=ID&job=ID", maxCompared)})
		return
	}
	c, err := cmp.Compare(r.Context(), ids, nil)
	if err != nil {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Compare", Error: err.Error()})
		return
	}
	pv := &comparePageView{Comparison: c}
	for _, k := range c.Settings {
		vals := append([]string(nil), c.Differs[k]...)
		for i, v := range vals {
			if v == "" {
				vals[i] = "(default)"
			}
		}
		pv.Settings = append(pv.Settings, compareSetting{Name: k, Values: vals})
	}
	for _, k := range c.Names {
		pv.Overall = append(pv.Overall, compareMetric{Name: k, Values: fmtVals(c.Metrics[k])})
	}
	histories := make([]map[string][]epochLoss, len(c.Jobs))
	for i, j := range c.Jobs {
		histories[i] = s.lossHistory(r.Context(), j.ID)
	}
	names := make([]string, 0, len(c.Groups))
	for g := range c.Groups {
		names = append(names, g)
	}
	sort.Slice(names, func(i, j int) bool { return groupBefore(names[i], names[j]) })
	for _, g := range names {
		cg := compareGroup{Name: g}
		ms := make([]string, 0, len(c.Groups[g]))
		for m := range c.Groups[g] {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, m := range ms {
			cg.Metrics = append(cg.Metrics, compareMetric{Name: m, Values: fmtVals(c.Groups[g][m])})
		}
		cg.Curves = lossSVG(g, histories)
		pv.Groups = append(pv.Groups, cg)
	}
	s.render(w, r, http.StatusOK, "compare.html", &pageData{Title: "Compare jobs", Compare: pv})
}

type epochLoss struct {
	Epoch   int     `json:"epoch"`
	ValLoss float64 `json:"val_loss"`
}

// lossHistory reads the trainer's history.json from a job's unpacked output
// (a file sagetrain itself unpacked; a missing or odd one shows no curve).
func (s *Server) lossHistory(ctx context.Context, id string) map[string][]epochLoss {
	rep, err := s.opt.Jobs.Report(ctx, id)
	if err != nil || rep.OutputDir == "" {
		return nil
	}
	f, err := os.Open(filepath.Join(rep.OutputDir, "history.json"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var h struct {
		Groups map[string][]epochLoss `json:"groups"`
	}
	if json.NewDecoder(&limitedReader{f, 8 << 20}).Decode(&h) != nil {
		return nil
	}
	return h.Groups
}

type limitedReader struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("history.json is larger than 8 MiB")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// curveColours tell the jobs apart (the same order as the table's columns).
var curveColours = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// lossSVG draws each job's validation loss per epoch for one group. It is
// built from numbers only (the group name is not written into it), so it
// is safe as HTML.
func lossSVG(group string, hs []map[string][]epochLoss) template.HTML {
	const wd, ht, pad = 480.0, 200.0, 24.0
	maxE, lo, hi := 1, 0.0, 0.0
	first := true
	for _, h := range hs {
		for _, e := range h[group] {
			maxE = max(maxE, e.Epoch)
			if first || e.ValLoss < lo {
				lo = e.ValLoss
			}
			if first || e.ValLoss > hi {
				hi = e.ValLoss
			}
			first = false
		}
	}
	if first {
		return ""
	}
	if hi <= lo {
		hi = lo + 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="curves" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img"><rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#ccc"/>`,
		wd, ht, wd, ht, pad, pad/2, wd-1.5*pad, ht-1.5*pad)
	for i, h := range hs {
		pts := h[group]
		if len(pts) == 0 {
			continue
		}
		b.WriteString(`<polyline fill="none" stroke-width="1.5" stroke="` + curveColours[i%len(curveColours)] + `" points="`)
		for _, e := range pts {
			x := pad + (wd-1.5*pad)*float64(e.Epoch-1)/float64(max(maxE-1, 1))
			y := pad/2 + (ht-1.5*pad)*(1-(e.ValLoss-lo)/(hi-lo))
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString(`"/>`)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10">%.3g</text><text x="%.0f" y="%.0f" font-size="10">%.3g</text></svg>`,
		2.0, pad/2+8, hi, 2.0, ht-pad, lo)
	return template.HTML(b.String())
}

// groupBefore orders age groups by their first age ("2-5" before "10-13").
func groupBefore(a, b string) bool {
	var x, y int
	fmt.Sscanf(a, "%d", &x)
	fmt.Sscanf(b, "%d", &y)
	if x != y {
		return x < y
	}
	return a < b
}
