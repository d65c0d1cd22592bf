package cli

import (
	"fmt"
	"strings"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/jobs"
)

// compareCostRow is compare's cost line: each job's cost in dollars, or
// its CPU-seconds for a local job.
func compareCostRow(c *jobs.Comparison) string {
	row := []string{"cost_usd"}
	for _, j := range c.Jobs {
		row = append(row, costText(j.Cost))
	}
	return strings.Join(row, "\t")
}

// costText is a cost for a table cell (see costCell).
func costText(c *cost.Cost) string {
	switch {
	case c == nil:
		return "-"
	case c.CPUSeconds != nil:
		return fmt.Sprintf("%.1f cpu-s", *c.CPUSeconds)
	case c.Basis == "cpu_seconds":
		return "0 (local)"
	case c.USD == nil:
		return "?"
	case c.Final:
		return fmt.Sprintf("$%.4f", *c.USD)
	}
	return fmt.Sprintf("~$%.4f", *c.USD)
}
