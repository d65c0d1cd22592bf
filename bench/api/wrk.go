package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
)

// runWrk drives the API with Debian's wrk (C, its own process): half the
// requests list (first pages with filters, or later pages by cursors
// gathered beforehand), half read a random job.
func runWrk(ctx context.Context, st store.Store, ids []string, clients int, dur time.Duration) *result {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		check(fmt.Errorf("wrk not found: apt-get install -y wrk (%w)", err))
	}
	base, stop := serve(st)
	defer stop()
	u, _ := url.Parse(base)
	var lists []string
	for _, f := range []string{"", "status=completed", "environment=sagemaker", "status=running,failed", "environment=local&status=stopped", "name=drawings-0042"} {
		lists = append(lists, u.Path+"/jobs?"+f)
	}
	// Later pages: follow the cursor of the unfiltered list for 30 pages.
	cursor := ""
	for i := 0; i < 30; i++ {
		code, body, err := get(defaultClient(), base+"/jobs?cursor="+url.QueryEscape(cursor))
		if err != nil || code != 200 {
			check(fmt.Errorf("paging for wrk: %d %w", code, err))
		}
		var lr struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(body, &lr)
		if lr.NextCursor == "" {
			break
		}
		cursor = lr.NextCursor
		lists = append(lists, u.Path+"/jobs?cursor="+url.QueryEscape(cursor))
	}
	dir, err := os.MkdirTemp("", "api-bench-wrk-")
	check(err)
	defer os.RemoveAll(dir)
	var b strings.Builder
	b.WriteString("local lists = {\n")
	for _, l := range lists {
		b.WriteString(strconv.Quote(l) + ",\n")
	}
	b.WriteString("}\nlocal ids = {\n")
	for _, id := range ids {
		b.WriteString(`"` + id + "\",\n")
	}
	fmt.Fprintf(&b, `}
local prefix = %q
local headers = {["Authorization"] = "Bearer %s"}
init = function(args) math.randomseed(os.time() + math.random(1000000)) end
request = function()
  if math.random(2) == 1 then
    return wrk.format("GET", lists[math.random(#lists)], headers)
  end
  return wrk.format("GET", prefix .. "/jobs/" .. ids[math.random(#ids)], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, 0, 0, 0))
end
`, u.Path, token)
	script := filepath.Join(dir, "mix.lua")
	check(os.WriteFile(script, []byte(b.String()), 0o600))
	cmd := exec.CommandContext(ctx, bin, "-t", "2", "-c", strconv.Itoa(clients), "-d", fmt.Sprintf("%ds", int(dur.Seconds())), "--timeout", "10s", "-s", script, "http://"+u.Host)
	out, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	res := &result{}
	sc := bufio.NewScanner(out)
	var raw []string
	for sc.Scan() {
		line := sc.Text()
		raw = append(raw, line)
		if f := strings.Fields(line); len(f) == 12 && f[0] == "WRKRESULT" {
			n := make([]int64, 11)
			for i := range n {
				n[i], _ = strconv.ParseInt(f[i+1], 10, 64)
			}
			res.wrk = &wrkStats{requests: n[0], elapsed: time.Duration(n[1]) * time.Microsecond,
				p50: time.Duration(n[4]) * time.Microsecond, p90: time.Duration(n[5]) * time.Microsecond,
				p99: time.Duration(n[6]) * time.Microsecond, max: time.Duration(n[7]) * time.Microsecond}
			res.errs = n[2] + n[3]
			res.elapsed = res.wrk.elapsed
		}
	}
	check(cmd.Wait())
	if res.wrk == nil {
		check(fmt.Errorf("no result from wrk:\n%s", strings.Join(raw, "\n")))
	}
	return res
}

type wrkStats struct {
	requests           int64
	elapsed            time.Duration
	p50, p90, p99, max time.Duration
}
