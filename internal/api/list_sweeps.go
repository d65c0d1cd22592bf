package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// parseTrialsFilter reads GET /jobs's (and the list page's) sweep_id and
// trials: as `sagetrain list`, a sweep's trials are left out unless
// trials=true or sweep_id names the sweep whose trials to list.
func parseTrialsFilter(q map[string][]string, f *store.ListFilter) string {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	trials := false
	if v := get("trials"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "trials " + strconv.Quote(v) + " is not true or false"
		}
		trials = b
	}
	if id := get("sweep_id"); id != "" {
		if !validSweepID(id) {
			return "sweep_id " + strconv.Quote(id) + " is not a sweep id; take one from GET " + Prefix + "/sweeps"
		}
		f.SweepID = id
	}
	f.NoTrials = !trials && f.SweepID == ""
	return ""
}

// validSweepID: ids are ULIDs; anything else is refused before the store.
func validSweepID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sweepRows are the sweeps a list shows as one row each in place of their
// trials: on the first page of a list without trials, when the server has
// a sweep service. Job status filters do not apply to sweeps.
func (s *Server) sweepRows(ctx context.Context, f store.ListFilter) []*sweep.View {
	if s.opt.Sweeps == nil || f.Cursor != "" || !f.NoTrials || len(f.Statuses) > 0 {
		return nil
	}
	vs, err := s.opt.Sweeps.List(ctx, f.Limit)
	if err != nil {
		s.log.Warn("listing sweeps for the job list failed", "err", err)
		return nil
	}
	var out []*sweep.View
	for _, v := range vs {
		if f.Backend != "" && v.Backend != f.Backend {
			continue
		}
		if f.NameContains != "" && !strings.Contains(strings.ToLower(v.Name), strings.ToLower(f.NameContains)) {
			continue
		}
		out = append(out, v)
	}
	return out
}
