package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sagetrain/sagetrain/internal/cost"

	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/store"
)

// withListCosts fills the list page's cost column. List pages hold summary
// jobs (no spec, no report), so each row's cost is read from the full job.
func (s *Server) withListCosts(ctx context.Context, d *pageData) *pageData {
	if len(d.Jobs) == 0 {
		return d
	}
	d.ListCosts = make(map[string]string, len(d.Jobs))
	for _, j := range d.Jobs {
		full, err := s.opt.Jobs.Get(ctx, j.ID)
		if err != nil {
			continue
		}
		d.ListCosts[j.ID] = listCostText(full)
	}
	return d
}

// listCostText is costText cut down to a table cell.
func listCostText(j *store.Job) string {
	t := costText(j)
	if t == "" {
		return "—"
	}
	return t
}

// jobPageProvenance is what the job was made from: a completed job's
// report (the record merged with model.json), else the record pinned at
// submit.
func (s *Server) jobPageProvenance(r *http.Request, j *store.Job, d *pageData) {
	if j.Status == store.StatusCompleted {
		if rep, err := s.opt.Jobs.Report(r.Context(), j.ID); err == nil && rep.Provenance != nil {
			d.Provenance = rep.Provenance
			return
		}
	}
	ps, ok := s.opt.Store.(store.ProvenanceStore)
	if !ok {
		return
	}
	raw, err := ps.GetProvenance(r.Context(), j.ID)
	if err != nil || len(raw) == 0 {
		return
	}
	var pv provenance.Provenance
	if json.Unmarshal(raw, &pv) == nil {
		d.Provenance = &pv
	}
}

// jobCostText is a computed cost for a table cell (the compare page).
func jobCostText(c *cost.Cost) string {
	switch {
	case c == nil:
		return "—"
	case c.CPUSeconds != nil:
		return fmt.Sprintf("%.1f CPU-seconds", *c.CPUSeconds)
	case c.Basis == "cpu_seconds":
		return "local job: no money"
	case c.USD == nil:
		return "unknown"
	case c.Final:
		return fmt.Sprintf("$%.4f", *c.USD)
	}
	return fmt.Sprintf("~$%.4f (estimate)", *c.USD)
}
