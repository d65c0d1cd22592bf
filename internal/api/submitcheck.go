package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/excerpt"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// checkJobLimits refuses, before a job row is written, what a token holder
// must not make the server run: refused variables in a local job's
// environment, hyperparameters beyond their bounds, and a network whose
// estimated memory exceeds the server's limit (serve --max-job-memory).
func (s *Server) checkJobLimits(sp *spec.Spec) (int, string) {
	if sp.Backend == "" || sp.Backend == spec.BackendLocal {
		keys := make([]string, 0, len(sp.EnvironmentVariables))
		for k := range sp.EnvironmentVariables {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if why := spec.RefusedLocalEnv(k); why != "" {
				return http.StatusUnprocessableEntity, "environment_variables." + excerpt.Clean(k, 64) + " " + why
			}
		}
	}
	est, vs := spec.Resources(sp.Hyperparameters)
	if len(vs) > 0 {
		var b strings.Builder
		for i, v := range vs {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(v.Field + " " + v.Message)
		}
		return http.StatusUnprocessableEntity, b.String() + " (see docs/api.md, resource limits)"
	}
	limit := s.opt.MaxJobMemory
	if limit <= 0 {
		limit = spec.DefaultMaxJobMemory
	}
	if est > limit {
		return http.StatusUnprocessableEntity, "the job's network needs an estimated " + spec.FormatBytes(est) +
			" to train, above this server's limit of " + spec.FormatBytes(limit) +
			"; use smaller hidden_sizes or batch_size, or raise sagetrain serve --max-job-memory"
	}
	return 0, ""
}
