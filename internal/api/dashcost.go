package api

import (
	"context"
	"fmt"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/store"
)

// costText is a job's cost for the dashboard: "$0.0767 (final, pinned-table
// 2025-06-01)", "~$0.0123 (estimate, ...)", or a local job's CPU-seconds.
func costText(j *store.Job) string {
	c := cost.For(context.Background(), j)
	switch {
	case c == nil:
		return ""
	case c.CPUSeconds != nil:
		return fmt.Sprintf("%.1f CPU-seconds (local job: no money)", *c.CPUSeconds)
	case c.USD == nil:
		if c.Note != "" {
			return "unknown: " + c.Note
		}
		return ""
	case c.Final:
		return fmt.Sprintf("$%.4f (final, %s price of %s)", *c.USD, c.Price.Source, c.Price.Date)
	}
	return fmt.Sprintf("~$%.4f (estimate, %s price of %s)", *c.USD, c.Price.Source, c.Price.Date)
}
