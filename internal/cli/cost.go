package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// minBudgetRuntime is the shortest max runtime --max-cost may leave a job.
const minBudgetRuntime = 60

// applyMaxCost checks a spec (defaults applied) against a budget in USD:
// its worst case is max_runtime_seconds x instances x the price. A spec
// that set max_runtime_seconds itself and exceeds the budget is refused;
// one that did not gets the longest runtime the budget pays for (at most
// the default). It returns a line saying what it did.
func applyMaxCost(ctx context.Context, sp *spec.Spec, budget float64, explicitRuntime bool, region string) (string, error) {
	if budget <= 0 {
		return "", errs.Configuration(fmt.Sprintf("--max-cost %g is not a positive amount", budget), "give the budget in USD, e.g. --max-cost 5", nil)
	}
	if sp.Backend == spec.BackendLocal {
		return "local jobs cost no money: --max-cost does not limit them", nil
	}
	p, err := cost.PriceFor(ctx, region, sp.InstanceType)
	if err != nil {
		return "", errs.Configuration("cannot check --max-cost: "+err.Error(), "use an instance type of the price table, or drop --max-cost", err)
	}
	cj := cost.Job{InstanceType: sp.InstanceType, InstanceCount: int(sp.InstanceCount), MaxRuntime: int64(sp.MaxRuntimeSeconds)}
	allowed := cost.RuntimeFor(cj, p, budget)
	worst := cost.WorstCase(cj, p)
	what := fmt.Sprintf("%d x %s at $%.4f/h (%s, %s)", sp.InstanceCount, sp.InstanceType, p.USDPerHour, p.Source, p.Date)
	if worst <= budget {
		return fmt.Sprintf("worst case $%.2f (%ds of %s) is within --max-cost $%.2f", worst, sp.MaxRuntimeSeconds, what, budget), nil
	}
	if explicitRuntime {
		return "", errs.Configuration(fmt.Sprintf("the job's worst case is $%.2f (max_runtime_seconds %d of %s), more than --max-cost $%.2f", worst, sp.MaxRuntimeSeconds, what, budget),
			fmt.Sprintf("set max_runtime_seconds to at most %d, use fewer or cheaper instances, or raise --max-cost", allowed), nil)
	}
	if allowed < minBudgetRuntime {
		return "", errs.Configuration(fmt.Sprintf("--max-cost $%.2f pays for only %ds of %s", budget, allowed, what),
			"raise --max-cost, or use fewer or cheaper instances", nil)
	}
	sp.MaxRuntimeSeconds = int32(min(allowed, int64(sp.MaxRuntimeSeconds)))
	if sp.UseSpotInstances && sp.MaxWaitSeconds < sp.MaxRuntimeSeconds {
		sp.MaxWaitSeconds = sp.MaxRuntimeSeconds
	}
	return fmt.Sprintf("max_runtime_seconds set to %d so that %s stays within --max-cost $%.2f", sp.MaxRuntimeSeconds, what, budget), nil
}

// awsRegion is the region prices are looked up in when a job has no ARN yet.
func awsRegion() string {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// costCell is a job's cost for a table: $0.1234 (~ while running), or its
// CPU-seconds for a local job.
func costCell(ctx context.Context, j *store.Job) string {
	c := cost.For(ctx, j)
	switch {
	case c == nil:
		return "-"
	case c.CPUSeconds != nil:
		return fmt.Sprintf("%.1f cpu-s", *c.CPUSeconds)
	case j.Backend == "local":
		return "0 (local)"
	case c.USD == nil:
		return "?"
	case c.Final:
		return fmt.Sprintf("$%.4f", *c.USD)
	}
	return fmt.Sprintf("~$%.4f", *c.USD)
}

// printCostAndProvenance is the report's cost and provenance section.
func printCostAndProvenance(ctx context.Context, w io.Writer, svc *jobs.Service, r *jobs.Report) {
	if j, err := svc.Get(ctx, r.JobID); err == nil {
		if c := cost.For(ctx, j); c != nil {
			fmt.Fprintln(w, "\nCost:")
			switch {
			case c.CPUSeconds != nil:
				fmt.Fprintf(w, "  %.1f CPU-seconds (local job: no money)\n", *c.CPUSeconds)
			case c.USD != nil:
				state := "estimated"
				if c.Final {
					state = "final"
				}
				fmt.Fprintf(w, "  $%.4f %s: %d instance-seconds (%s) of %s at $%.4f/h, price from %s (%s)\n",
					*c.USD, state, c.Seconds, c.Basis, c.InstanceType, c.Price.USDPerHour, c.Price.Source, c.Price.Date)
			default:
				fmt.Fprintf(w, "  unknown: %s\n", c.Note)
			}
		}
	}
	pv := r.Provenance
	if pv == nil {
		return
	}
	fmt.Fprintln(w, "\nProvenance:")
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-16s %s\n", k, v)
		}
	}
	line("image", pv.Image)
	line("image digest", pv.ImageDigest)
	line("data", pv.DataURI)
	if pv.DataDigest != "" {
		line("data digest", fmt.Sprintf("%s (%d files)", pv.DataDigest, pv.DataFiles))
	}
	if pv.Trainer != nil {
		line("trainer", pv.Trainer.String())
	}
	if pv.Seed != nil {
		line("seed", fmt.Sprint(*pv.Seed))
	}
	if len(pv.Hyperparameters) > 0 {
		keys := make([]string, 0, len(pv.Hyperparameters))
		for k := range pv.Hyperparameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, pv.Hyperparameters[k]))
		}
		line("hyperparameters", strings.Join(parts, " "))
	}
}
