package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer/metrics"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// The job page's report table, progress and exports with their deployment
// state and deploy/undeploy buttons (CSRF-checked like cancel).

func (s *Server) registerDashboardModels() {
	s.handle("POST", "/jobs/{id}/models/{model}/deploy", "session", false, s.session(s.deployForm))
	s.handle("POST", "/jobs/{id}/deployments/{dep}/undeploy", "session", false, s.session(s.undeployForm))
}

// groupRow is one age group of the report table.
type groupRow struct {
	Name, Ages, NTrain, NVal, NTest, NAnom, AUROC, AP, Threshold, Source, FPR, Recall, F1 string
	ageMin                                                                                float64
}

// exportRow is one export of the job with its active deployments.
type exportRow struct {
	ID, Format, Ages, Groups, SHA string
	Valid                         bool
	Deployments                   []store.Deployment
}

func reportGroups(m map[string]any) []groupRow {
	var rows []groupRow
	for name, g := range metrics.FromMap(m).Groups {
		rows = append(rows, groupRow{Name: name, Ages: fmt.Sprintf("%s-%s", dashNum(dashVal(g.AgeMin)), dashNum(dashVal(g.AgeMax))),
			NTrain: dashNum(dashVal(g.NTrain)), NVal: dashNum(dashVal(g.NValidation)), NTest: dashNum(dashVal(g.Test.N)), NAnom: dashNum(dashVal(g.Test.NAnomalies)),
			AUROC: dashNum(dashVal(g.Test.AUROC)), AP: dashNum(dashVal(g.Test.AP)), Threshold: dashNum(dashVal(g.Threshold)),
			Source: dashNum(dashVal(g.ThresholdSource)), FPR: dashNum(dashVal(g.Test.FalsePositiveRate)), Recall: dashNum(dashVal(g.Test.Recall)),
			F1: dashNum(dashVal(g.Test.F1)), ageMin: g.AgeMinOr0()})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ageMin < rows[j].ageMin })
	return rows
}

// dashVal is a typed metric as dashNum takes it: nil when absent.
func dashVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func dashNum(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprintf("%.4g", x)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// jobPageModels fills the job page's report table, progress and exports.
func (s *Server) jobPageModels(r *http.Request, j *store.Job, d *pageData) {
	var m map[string]any
	if raw := reportMetrics(j.Report); raw != nil && json.Unmarshal(raw, &m) == nil {
		d.Groups = reportGroups(m)
	}
	if raw := s.liveProgress(r.Context(), j); raw != nil {
		var p progress.Record
		if json.Unmarshal(raw, &p) == nil {
			d.Progress = &p
		}
	}
	if s.opt.Models == nil || j.Status != store.StatusCompleted {
		return
	}
	d.CanExport = true
	es, err := s.opt.Models.List(r.Context(), j.ID)
	if err != nil {
		return
	}
	active, _ := s.opt.Models.Deployed(r.Context(), true)
	for _, e := range es {
		row := exportRow{ID: e.ID, Format: e.Format, Ages: fmt.Sprintf("%d-%d", e.AgeMin, e.AgeMax), SHA: e.SHA256[:min(12, len(e.SHA256))]}
		for i, g := range e.Groups {
			if i > 0 {
				row.Groups += ", "
			}
			row.Groups += g
		}
		for _, dep := range active {
			if dep.ModelID == e.ID {
				row.Deployments = append(row.Deployments, *dep)
			}
		}
		d.Exports = append(d.Exports, row)
	}
}

func (s *Server) deployForm(w http.ResponseWriter, r *http.Request) {
	if s.opt.Models == nil {
		s.render(w, r, http.StatusServiceUnavailable, "error.html", &pageData{Title: "Deploy failed", Error: "model deployment is not configured on this server"})
		return
	}
	id, model := r.PathValue("id"), r.PathValue("model")
	if !validID(id) || !validID(model) {
		s.render(w, r, http.StatusBadRequest, "error.html", &pageData{Title: "Deploy failed", Error: "not a job or export id"})
		return
	}
	if model == "new" { // export the job, then deploy the export
		e, err := s.opt.Models.Export(r.Context(), models.ExportRequest{JobID: id, Format: r.PostFormValue("format"), By: "dashboard"})
		if err != nil {
			status, _ := statusOf(err)
			s.render(w, r, status, "error.html", &pageData{Title: "Export failed", Error: err.Error()})
			return
		}
		model = e.ID
	} else if e, err := s.opt.Models.Get(r.Context(), model); err != nil || e.JobID != id {
		s.render(w, r, http.StatusNotFound, "error.html", &pageData{Title: "Deploy failed", Error: "no export " + model + " of this job"})
		return
	}
	replace := r.PostFormValue("replace") == "on"
	if _, _, err := s.opt.Models.Deploy(r.Context(), models.DeployRequest{ModelID: model, Replace: replace, Backup: true, By: "dashboard"}); err != nil {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Deploy failed", Error: err.Error()})
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(id)+"#models", http.StatusSeeOther)
}

func (s *Server) undeployForm(w http.ResponseWriter, r *http.Request) {
	if s.opt.Models == nil {
		s.render(w, r, http.StatusServiceUnavailable, "error.html", &pageData{Title: "Undeploy failed", Error: "model deployment is not configured on this server"})
		return
	}
	id := r.PathValue("id")
	if !validID(id) || !validID(r.PathValue("dep")) {
		s.render(w, r, http.StatusBadRequest, "error.html", &pageData{Title: "Undeploy failed", Error: "not a job or deployment id"})
		return
	}
	if _, _, err := s.opt.Models.Undeploy(r.Context(), r.PathValue("dep"), "dashboard"); err != nil {
		status, _ := statusOf(err)
		s.render(w, r, status, "error.html", &pageData{Title: "Undeploy failed", Error: err.Error()})
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(id)+"#models", http.StatusSeeOther)
}
