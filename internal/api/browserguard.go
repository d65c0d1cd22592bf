package api

import (
	"net"
	"net/http"
	"strings"

	"github.com/sagetrain/sagetrain/internal/excerpt"
)

// browserGuard is what keeps a web page the user visits from using the
// service: every unsafe method on every route (API and dashboard, in both
// auth modes) passes the standard library's CrossOriginProtection, and in
// no-auth mode the Host header must be a loopback name or the listen
// address, so a DNS-rebound name reaches nothing.
type browserGuard struct {
	cop   *http.CrossOriginProtection
	hosts map[string]bool // nil: any Host (bearer mode)
}

func newBrowserGuard(insecure bool, listen string) *browserGuard {
	g := &browserGuard{cop: http.NewCrossOriginProtection()}
	if insecure {
		g.hosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
		if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
			g.hosts[strings.ToLower(h)] = true
		} else if listen != "" {
			g.hosts[strings.ToLower(listen)] = true
		}
	}
	return g
}

// check answers a refused request and reports whether it was refused.
func (g *browserGuard) check(w http.ResponseWriter, r *http.Request) bool {
	if g.hosts != nil {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "."), "["), "]"))
		if !g.hosts[host] {
			writeError(w, http.StatusMisdirectedRequest, "misdirected_request",
				"Host "+excerpt.Quote(r.Host)+" is not this server's: without authentication it answers only to localhost, 127.0.0.1, [::1] and its --addr; use one of those names")
			return true
		}
	}
	if err := g.cop.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "cross_origin",
			"cross-origin "+r.Method+" refused: a web page of another site cannot act on this service; call it from the dashboard itself or from a program (no Origin or Sec-Fetch-Site header)")
		return true
	}
	return false
}
