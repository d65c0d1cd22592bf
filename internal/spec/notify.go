package spec

import "net/url"

// MaxNotifyURLs bounds a job's own webhook destinations.
const MaxNotifyURLs = 5

// checkNotify validates notify_urls: absolute http(s) URLs with a host and
// no credentials. Where they may point is the server's rule (serve
// --notify-allow-private), checked on every delivery.
func (v *validator) checkNotify(s *Spec) {
	if len(s.NotifyURLs) > MaxNotifyURLs {
		v.add("notify_urls", "has %d URLs; at most %d", len(s.NotifyURLs), MaxNotifyURLs)
		return
	}
	for _, raw := range s.NotifyURLs {
		if len(raw) > 2048 {
			v.add("notify_urls", "a URL is longer than 2048 characters")
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			v.add("notify_urls", "%q is not an absolute http:// or https:// URL", short(raw))
			continue
		}
		if u.User != nil {
			v.add("notify_urls", "a URL carries credentials (user:password@); the events are signed instead, see docs/events.md")
		}
	}
}

func short(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
