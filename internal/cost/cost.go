package cost

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// Price is one instance type's on-demand price.
type Price struct {
	Region       string  `json:"region"`
	InstanceType string  `json:"instance_type"`
	USDPerHour   float64 `json:"usd_per_hour"`
	Source       string  `json:"source"` // SourcePriceList or SourcePinned
	Date         string  `json:"date"`   // when the price was read (price list) or transcribed (pinned)
	Note         string  `json:"note,omitempty"`
}

// Price sources.
const (
	SourcePriceList = "aws-price-list"
	SourcePinned    = "pinned-table"
)

// Prices finds an instance type's price in a region.
type Prices interface {
	Price(ctx context.Context, region, instanceType string) (Price, error)
}

//go:embed prices.json
var pinnedJSON []byte

type pinnedTable struct {
	Source     string             `json:"source"`
	Date       string             `json:"date"`
	Region     string             `json:"region"`
	USDPerHour map[string]float64 `json:"usd_per_hour"`
}

var pinned = func() pinnedTable {
	var t pinnedTable
	if err := json.Unmarshal(pinnedJSON, &t); err != nil {
		panic("cost: prices.json: " + err.Error())
	}
	return t
}()

// Pinned is the table shipped with the binary.
type Pinned struct{}

// PinnedDate is when the pinned table was transcribed.
func PinnedDate() string { return pinned.Date }

// Price looks the type up in the pinned table. Its prices are us-east-1's;
// another region gets them with a note saying so.
func (Pinned) Price(_ context.Context, region, instanceType string) (Price, error) {
	usd, ok := pinned.USDPerHour[instanceType]
	if !ok {
		return Price{}, fmt.Errorf("instance type %s is not in the pinned price table (docs/cost.md lists it)", instanceType)
	}
	p := Price{Region: region, InstanceType: instanceType, USDPerHour: usd, Source: SourcePinned, Date: pinned.Date}
	if region != pinned.Region {
		p.Note = "the pinned table has " + pinned.Region + " prices; " + region + " may differ"
	}
	return p, nil
}

// Job is what a cost needs to know of a job.
type Job struct {
	Backend         string
	Region          string
	InstanceType    string
	InstanceCount   int
	Spot            bool
	MaxRuntime      int64 // seconds
	Status          store.Status
	StartedAt       *time.Time
	EndedAt         *time.Time
	BillableSeconds int64
	CPUSeconds      *float64 // local jobs: the trainer's CPU time, once known
}

// Cost is a job's cost as shown by list, report and the API.
type Cost struct {
	USD           *float64 `json:"cost_usd"` // nil for local jobs and unknown prices
	Final         bool     `json:"final"`    // the job has ended: this is what it cost
	Basis         string   `json:"basis"`    // billable_seconds, elapsed (estimate while running), none
	Seconds       int64    `json:"seconds"`  // instance-seconds the money is for
	InstanceType  string   `json:"instance_type,omitempty"`
	InstanceCount int      `json:"instance_count,omitempty"`
	Spot          bool     `json:"spot,omitempty"`
	Price         *Price   `json:"price,omitempty"`
	CPUSeconds    *float64 `json:"cpu_seconds,omitempty"` // local jobs
	Note          string   `json:"note,omitempty"`
}

// Of computes a job's cost at now. SageMaker's billable seconds already
// count a spot job's discount (billable time is the discounted time), so
// the on-demand price applies; they are per instance, hence times the
// count. While a job runs, the elapsed training time stands in for them,
// an upper bound for spot jobs.
func Of(j Job, p *Price, priceErr error, now time.Time) Cost {
	c := Cost{Final: j.Status.Terminal(), InstanceType: j.InstanceType, InstanceCount: max(j.InstanceCount, 1), Spot: j.Spot}
	if j.Backend == "local" {
		c.Basis, c.CPUSeconds, c.Seconds = "cpu_seconds", j.CPUSeconds, j.BillableSeconds
		c.Note = "local jobs cost no money; cpu_seconds is the trainer's CPU time"
		return c
	}
	switch {
	case j.BillableSeconds > 0 && (c.Final || j.StartedAt == nil):
		c.Basis, c.Seconds = "billable_seconds", j.BillableSeconds*int64(c.InstanceCount)
	case j.StartedAt != nil:
		end := now
		if j.EndedAt != nil {
			end = *j.EndedAt
		}
		c.Basis, c.Seconds = "elapsed", int64(math.Ceil(end.Sub(*j.StartedAt).Seconds()))*int64(c.InstanceCount)
		if j.BillableSeconds > 0 {
			c.Basis, c.Seconds = "billable_seconds", j.BillableSeconds*int64(c.InstanceCount)
		}
	default:
		c.Basis = "none"
	}
	if p == nil {
		if priceErr != nil {
			c.Note = "no price: " + priceErr.Error()
		}
		return c
	}
	c.Price = p
	usd := round(float64(c.Seconds) / 3600 * p.USDPerHour)
	c.USD = &usd
	if !c.Final && j.Spot {
		c.Note = "estimate at the on-demand price; spot billing is lower"
	}
	return c
}

// WorstCase is the most a job can cost: max runtime x instances x price.
func WorstCase(j Job, p Price) float64 {
	return round(float64(j.MaxRuntime*int64(max(j.InstanceCount, 1))) / 3600 * p.USDPerHour)
}

// RuntimeFor is the longest runtime (seconds, whole) that keeps a job
// within budget USD.
func RuntimeFor(j Job, p Price, budget float64) int64 {
	if p.USDPerHour <= 0 {
		return math.MaxInt32
	}
	return int64(math.Floor(budget * 3600 / (p.USDPerHour * float64(max(j.InstanceCount, 1)))))
}

// round keeps micro-dollars: a one-second job still shows what it cost.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }
