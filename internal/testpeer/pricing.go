package testpeer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Pricing is a peer speaking the AWS Price List API's GetProducts
// (awsJson1_1, target AWSPriceListService.GetProducts) for AmazonSageMaker,
// answering from a table of on-demand training prices in the shape of the
// real price list (product attributes and OnDemand terms as JSON strings).
// moto has no Price List API; point the SDK at this with
// AWS_ENDPOINT_URL_PRICING=URL.
type Pricing struct {
	URL      string
	Requests atomic.Int64
}

// StartPricing serves prices[region][instanceType] = USD per hour.
func StartPricing(t testing.TB, prices map[string]map[string]float64) *Pricing {
	t.Helper()
	p := &Pricing{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		if r.Header.Get("X-Amz-Target") != "AWSPriceListService.GetProducts" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"__type":"InvalidParameterException","Message":"unsupported target %q"}`, r.Header.Get("X-Amz-Target"))
			return
		}
		var in struct {
			ServiceCode string
			Filters     []struct{ Type, Field, Value string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ServiceCode != "AmazonSageMaker" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"InvalidParameterException","Message":"bad request"}`)
			return
		}
		f := map[string]string{}
		for _, x := range in.Filters {
			f[x.Field] = x.Value
		}
		region, typ := f["regionCode"], f["instanceName"]
		var list []string
		if usd, ok := prices[region][typ]; ok {
			prefix := strings.ToUpper(region[:2]) + "E1" // the real list's short region codes; any prefix will do
			for _, ut := range []string{prefix + "-Train:" + typ, prefix + "-Host:" + typ, prefix + "-Spot-Train:" + typ} {
				price := usd
				if !strings.HasSuffix(ut, "-Train:"+typ) || strings.Contains(ut, "Spot") {
					price = usd * 1.7 // hosting and spot prices must not be taken for training's
				}
				doc, _ := json.Marshal(map[string]any{
					"product": map[string]any{"productFamily": "ML Instance", "sku": ut,
						"attributes": map[string]string{"regionCode": region, "instanceName": typ, "usagetype": ut, "servicecode": "AmazonSageMaker"}},
					"serviceCode": "AmazonSageMaker",
					"terms": map[string]any{"OnDemand": map[string]any{ut + ".JRTCKXETXF": map[string]any{
						"priceDimensions": map[string]any{ut + ".JRTCKXETXF.6YS6EN2CT7": map[string]any{
							"unit": "Hrs", "pricePerUnit": map[string]string{"USD": fmt.Sprintf("%.4f", price)}}}}}},
				})
				list = append(list, string(doc))
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"FormatVersion": "aws_v1", "PriceList": list})
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}
