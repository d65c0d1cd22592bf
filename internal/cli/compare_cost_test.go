package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/jobs"
)

func TestCompareTableHasACostRow(t *testing.T) {
	usd, cpu := 0.115, 12.5
	c := &jobs.Comparison{Jobs: []jobs.ComparedJob{
		{ID: "a", Name: "sm", CostUSD: &usd, Cost: &cost.Cost{USD: &usd, Final: true}},
		{ID: "b", Name: "lo", Cost: &cost.Cost{Basis: "cpu_seconds", CPUSeconds: &cpu}},
		{ID: "c", Name: "run", Cost: &cost.Cost{USD: &usd}},
		{ID: "d", Name: "none"},
	}}
	var b bytes.Buffer
	comparePrint(&b, c)
	var row string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "cost_usd") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) != 6 || f[1] != "$0.1150" || f[2] != "12.5" || f[4] != "~$0.1150" || f[5] != "-" {
		t.Fatalf("cost row %q in\n%s", row, b.String())
	}
}
