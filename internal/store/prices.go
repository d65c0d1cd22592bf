package store

import (
	"context"
	"time"
)

// CachedPrice is one instance type's price as the AWS Price List API gave it.
type CachedPrice struct {
	Region       string
	InstanceType string
	USDPerHour   float64
	Source       string
	PriceDate    string
	FetchedAt    time.Time
}

// PriceCache keeps prices read from the AWS Price List API, so each
// (region, instance type) is asked about at most once a day. Both drivers
// implement it next to Store.
type PriceCache interface {
	// GetPrice returns the cached price, or nil when there is none.
	GetPrice(ctx context.Context, region, instanceType string) (*CachedPrice, error)
	PutPrice(ctx context.Context, p CachedPrice) error
}
