package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.PriceCache = (*Store)(nil)

// GetPrice returns a cached price, or nil.
func (s *Store) GetPrice(ctx context.Context, region, instanceType string) (*store.CachedPrice, error) {
	p := store.CachedPrice{Region: region, InstanceType: instanceType}
	err := s.pool.QueryRow(ctx, "SELECT usd_per_hour, source, price_date, fetched_at FROM price_cache WHERE region = $1 AND instance_type = $2",
		region, instanceType).Scan(&p.USDPerHour, &p.Source, &p.PriceDate, &p.FetchedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get price", err)
	}
	p.FetchedAt = p.FetchedAt.UTC()
	return &p, nil
}

// PutPrice writes (or replaces) a cached price.
func (s *Store) PutPrice(ctx context.Context, p store.CachedPrice) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO price_cache (region, instance_type, usd_per_hour, source, price_date, fetched_at) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (region, instance_type) DO UPDATE SET usd_per_hour = excluded.usd_per_hour, source = excluded.source,
			price_date = excluded.price_date, fetched_at = excluded.fetched_at`,
		p.Region, p.InstanceType, p.USDPerHour, p.Source, p.PriceDate, store.Micro(p.FetchedAt))
	return wrap("put price", err)
}
