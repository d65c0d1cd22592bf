package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sagetrain/sagetrain/internal/store"
)

var _ store.PriceCache = (*Store)(nil)

// GetPrice returns a cached price, or nil.
func (s *Store) GetPrice(ctx context.Context, region, instanceType string) (*store.CachedPrice, error) {
	done, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	p := store.CachedPrice{Region: region, InstanceType: instanceType}
	var fetched int64
	err = s.queryRow(ctx, "SELECT usd_per_hour, source, price_date, fetched_at FROM price_cache WHERE region = ? AND instance_type = ?",
		region, instanceType).Scan(&p.USDPerHour, &p.Source, &p.PriceDate, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get price", err)
	}
	p.FetchedAt = fromMicro(fetched)
	return &p, nil
}

// PutPrice writes (or replaces) a cached price.
func (s *Store) PutPrice(ctx context.Context, p store.CachedPrice) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO price_cache (region, instance_type, usd_per_hour, source, price_date, fetched_at) VALUES (?,?,?,?,?,?)
			ON CONFLICT (region, instance_type) DO UPDATE SET usd_per_hour = excluded.usd_per_hour, source = excluded.source,
				price_date = excluded.price_date, fetched_at = excluded.fetched_at`,
			p.Region, p.InstanceType, p.USDPerHour, p.Source, p.PriceDate, micro(store.Micro(p.FetchedAt)))
		return err
	})
	return wrap("put price", err)
}
