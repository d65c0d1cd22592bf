package cost

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

var (
	defaultMu     sync.RWMutex
	defaultPrices Prices = Pinned{}
)

// SetDefault sets the Prices that For uses (serve and the CLI set the
// price-list resolver when AWS is configured; the pinned table otherwise).
func SetDefault(p Prices) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultPrices = p
}

func getDefault() Prices {
	defaultMu.RLock()
	defer defaultMu.RUnlock()
	return defaultPrices
}

// FromStore reads what a cost needs from a stored job: its spec's instance
// type, count, spot use and max runtime, the region of its ARN, and for a
// local job the trainer's CPU-seconds from its report.
func FromStore(j *store.Job) Job {
	c := Job{Backend: j.Backend, Status: j.Status, StartedAt: j.StartedAt, EndedAt: j.EndedAt, BillableSeconds: j.BillableSeconds, InstanceCount: 1}
	var sp spec.Spec
	if len(j.Spec) > 0 && json.Unmarshal(j.Spec, &sp) == nil {
		c.InstanceType, c.InstanceCount, c.Spot, c.MaxRuntime = sp.InstanceType, int(sp.InstanceCount), sp.UseSpotInstances, int64(sp.MaxRuntimeSeconds)
	}
	if parts := strings.Split(j.RemoteARN, ":"); len(parts) > 3 && parts[0] == "arn" {
		c.Region = parts[3]
	}
	if len(j.Report) > 0 {
		var r struct {
			CPUSeconds *float64 `json:"cpu_seconds"`
		}
		if json.Unmarshal(j.Report, &r) == nil {
			c.CPUSeconds = r.CPUSeconds
		}
	}
	return c
}

// For is the cost of a stored job now, priced by the default Prices. A
// summary job (list pages leave the spec out) has no instance type: its
// cost is left empty rather than guessed.
func For(ctx context.Context, j *store.Job) *Cost {
	cj := FromStore(j)
	if cj.Backend != "local" && cj.InstanceType == "" {
		return nil
	}
	var (
		p   *Price
		err error
	)
	if cj.Backend != "local" {
		region := cj.Region
		if region == "" {
			region = pinned.Region
		}
		var got Price
		if got, err = getDefault().Price(ctx, region, cj.InstanceType); err == nil {
			p = &got
		}
	}
	c := Of(cj, p, err, time.Now())
	return &c
}

// PriceFor looks a price up with the default Prices.
func PriceFor(ctx context.Context, region, instanceType string) (Price, error) {
	if region == "" {
		region = pinned.Region
	}
	return getDefault().Price(ctx, region, instanceType)
}
