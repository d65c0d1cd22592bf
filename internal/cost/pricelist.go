package cost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/sagetrain/sagetrain/internal/store"
)

// PriceListRegion is where the Price List API answers (it is global, served
// from a few regions only).
const PriceListRegion = "us-east-1"

// PriceList prices instance types with pricing:GetProducts, caching each
// answer in memory and in the store for MaxAge, and falling back to the
// pinned table when the API cannot be reached or knows no price.
type PriceList struct {
	client  *pricing.Client
	cache   store.PriceCache // may be nil
	maxAge  time.Duration
	timeout time.Duration

	mu   sync.Mutex
	mem  map[string]Price
	miss map[string]missed // recent failures: not asked again for a while
}

type missed struct {
	at  time.Time
	err error
}

// NewPriceList makes a PriceList on cfg (its region is replaced by the
// Price List API's; AWS_ENDPOINT_URL_PRICING is honoured by the SDK).
func NewPriceList(cfg aws.Config, cache store.PriceCache) *PriceList {
	c := cfg.Copy()
	c.Region = PriceListRegion
	return &PriceList{client: pricing.NewFromConfig(c), cache: cache, maxAge: 24 * time.Hour, timeout: 3 * time.Second,
		mem: map[string]Price{}, miss: map[string]missed{}}
}

// missTTL is how long a failed lookup is not repeated (list pages price
// every row: an unreachable API must not be asked once per row).
const missTTL = 10 * time.Minute

// Price returns the price list's price, cached, else the pinned table's
// with a note saying why.
func (p *PriceList) Price(ctx context.Context, region, instanceType string) (Price, error) {
	key := region + "/" + instanceType
	now := time.Now()
	p.mu.Lock()
	if got, ok := p.mem[key]; ok {
		p.mu.Unlock()
		return got, nil
	}
	m, failed := p.miss[key]
	p.mu.Unlock()
	if failed && now.Sub(m.at) < missTTL {
		return p.fallback(ctx, region, instanceType, m.err)
	}
	if p.cache != nil {
		if c, err := p.cache.GetPrice(ctx, region, instanceType); err == nil && c != nil && now.Sub(c.FetchedAt) < p.maxAge {
			got := Price{Region: region, InstanceType: instanceType, USDPerHour: c.USDPerHour, Source: c.Source, Date: c.PriceDate}
			p.remember(key, got)
			return got, nil
		}
	}
	got, err := p.fetch(ctx, region, instanceType)
	if err != nil {
		p.mu.Lock()
		p.miss[key] = missed{at: now, err: err}
		p.mu.Unlock()
		return p.fallback(ctx, region, instanceType, err)
	}
	if p.cache != nil {
		_ = p.cache.PutPrice(context.WithoutCancel(ctx), store.CachedPrice{Region: region, InstanceType: instanceType,
			USDPerHour: got.USDPerHour, Source: got.Source, PriceDate: got.Date, FetchedAt: now})
	}
	p.remember(key, got)
	return got, nil
}

func (p *PriceList) remember(key string, got Price) {
	p.mu.Lock()
	p.mem[key] = got
	delete(p.miss, key)
	p.mu.Unlock()
}

func (p *PriceList) fallback(ctx context.Context, region, instanceType string, cause error) (Price, error) {
	got, err := Pinned{}.Price(ctx, region, instanceType)
	if err != nil {
		return Price{}, fmt.Errorf("%w; and the price list: %w", err, cause)
	}
	note := "price list not used: " + bounded(cause.Error())
	if got.Note != "" {
		note = got.Note + "; " + note
	}
	got.Note = note
	return got, nil
}

// fetch asks GetProducts for the SageMaker training price of one type.
func (p *PriceList) fetch(ctx context.Context, region, instanceType string) (Price, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	in := &pricing.GetProductsInput{
		ServiceCode:   aws.String("AmazonSageMaker"),
		FormatVersion: aws.String("aws_v1"),
		MaxResults:    aws.Int32(100),
		Filters: []types.Filter{
			{Type: types.FilterTypeTermMatch, Field: aws.String("regionCode"), Value: aws.String(region)},
			{Type: types.FilterTypeTermMatch, Field: aws.String("instanceName"), Value: aws.String(instanceType)},
		},
	}
	pg := pricing.NewGetProductsPaginator(p.client, in)
	for pages := 0; pg.HasMorePages() && pages < 10; pages++ {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return Price{}, err
		}
		for _, doc := range out.PriceList {
			if usd, ok := trainingPrice(doc, instanceType); ok {
				return Price{Region: region, InstanceType: instanceType, USDPerHour: usd, Source: SourcePriceList,
					Date: time.Now().UTC().Format(time.DateOnly)}, nil
			}
		}
	}
	return Price{}, errors.New("the price list has no on-demand training price for " + instanceType + " in " + region)
}

// trainingPrice reads one price-list product: a training usage type
// (REGION-Train:TYPE, not spot) with an hourly on-demand USD price.
func trainingPrice(doc, instanceType string) (float64, bool) {
	var p struct {
		Product struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"product"`
		Terms struct {
			OnDemand map[string]struct {
				PriceDimensions map[string]struct {
					Unit         string            `json:"unit"`
					PricePerUnit map[string]string `json:"pricePerUnit"`
				} `json:"priceDimensions"`
			} `json:"OnDemand"`
		} `json:"terms"`
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return 0, false
	}
	ut := p.Product.Attributes["usagetype"]
	if !strings.HasSuffix(ut, "Train:"+instanceType) || strings.Contains(strings.ToLower(ut), "spot") {
		return 0, false
	}
	for _, term := range p.Terms.OnDemand {
		for _, d := range term.PriceDimensions {
			if !strings.HasPrefix(strings.ToLower(d.Unit), "hr") {
				continue
			}
			if v, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64); err == nil && v > 0 {
				return v, true
			}
		}
	}
	return 0, false
}

func bounded(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
