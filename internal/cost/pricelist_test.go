package cost

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sagetrain/sagetrain/internal/store/sqlite"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func priceListConfig(t *testing.T, endpoint string) *PriceList {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_PRICING", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return NewPriceList(cfg, nil)
}

// A price-list answer prices the job; it is asked once, then cached in
// memory and in the store (a new process reads the store).
func TestPriceListAnswerIsUsedAndCached(t *testing.T) {
	peer := testpeer.StartPricing(t, map[string]map[string]float64{"eu-west-1": {"ml.m5.xlarge": 0.258}})
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pl := priceListConfig(t, peer.URL)
	pl.cache = st
	ctx := context.Background()
	p, err := pl.Price(ctx, "eu-west-1", "ml.m5.xlarge")
	if err != nil || p.USDPerHour != 0.258 || p.Source != SourcePriceList || p.Date == "" {
		t.Fatalf("price %+v, %v; want the price list's 0.258", p, err)
	}
	if _, err := pl.Price(ctx, "eu-west-1", "ml.m5.xlarge"); err != nil || peer.Requests.Load() != 1 {
		t.Fatalf("second lookup: %v, %d requests", err, peer.Requests.Load())
	}
	again := priceListConfig(t, peer.URL)
	again.cache = st
	if q, err := again.Price(ctx, "eu-west-1", "ml.m5.xlarge"); err != nil || q.USDPerHour != 0.258 || peer.Requests.Load() != 1 {
		t.Fatalf("from the store: %+v %v, %d requests", q, err, peer.Requests.Load())
	}

	// A job priced through it.
	SetDefault(pl)
	defer SetDefault(Pinned{})
	j := smJob(t, "completed", 3600, false)
	j.RemoteARN = strings.Replace(j.RemoteARN, "us-east-1", "eu-west-1", 1)
	c := For(ctx, j)
	if c.USD == nil || *c.USD != round(2*0.258) || c.Price.Source != SourcePriceList {
		t.Fatalf("job cost %+v", c)
	}
}

// Types the price list does not know, and an unreachable price list, fall
// back to the pinned table and say so.
func TestPriceListFallsBackToThePinnedTable(t *testing.T) {
	peer := testpeer.StartPricing(t, nil)
	pl := priceListConfig(t, peer.URL)
	p, err := pl.Price(context.Background(), "us-east-1", "ml.c5.xlarge")
	if err != nil || p.Source != SourcePinned || p.USDPerHour != 0.204 || !strings.Contains(p.Note, "price list not used") {
		t.Fatalf("unknown to the price list: %+v %v", p, err)
	}
	down := priceListConfig(t, "http://127.0.0.1:1")
	p, err = down.Price(context.Background(), "us-east-1", "ml.c5.xlarge")
	if err != nil || p.Source != SourcePinned || !strings.Contains(p.Note, "price list not used") {
		t.Fatalf("unreachable: %+v %v", p, err)
	}
}
