package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/store"
)

// Header names every delivery carries.
const (
	SignatureHeader = "X-Sagetrain-Signature" // "sha256=" + hex HMAC-SHA256 of the body
	EventIDHeader   = "X-Sagetrain-Event-Id"
	EventTypeHeader = "X-Sagetrain-Event-Type"
)

// Body formats.
const (
	FormatJSON  = "json"  // the event as stored (store.EventBody)
	FormatSlack = "slack" // {"text": "..."} for Slack-compatible incoming webhooks
)

// maxNotifyURLs bounds a job's own destinations.
const maxNotifyURLs = 5

// Sign returns the signature header value of body with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature with secret (constant time).
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// CheckURL accepts an absolute http or https URL with a host and no
// credentials in it.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("webhook URL %q is not an absolute http:// or https:// URL; give one like https://hooks.example.org/sagetrain", bounded(raw))
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL %s carries credentials; use --webhook-secret-file and verify the signature instead", redact(raw))
	}
	if len(raw) > 2048 {
		return fmt.Errorf("webhook URL is longer than 2048 characters")
	}
	return nil
}

// Matches reports whether an event type is in a --webhook-events list: an
// entry is a full type (job.completed), a status (completed), or a prefix
// with a star (job.*). An empty list matches everything.
func Matches(list []string, typ string) bool {
	if len(list) == 0 {
		return true
	}
	_, status, _ := strings.Cut(typ, ".")
	for _, e := range list {
		switch {
		case e == "*" || e == typ || e == status:
			return true
		case strings.HasSuffix(e, "*") && strings.HasPrefix(typ, strings.TrimSuffix(e, "*")):
			return true
		}
	}
	return false
}

// deliverer POSTs events; one for the operator's destinations, one for the
// jobs' own (which may not reach private addresses unless allowed).
type deliverer struct {
	client *http.Client
}

func newDeliverer(timeout time.Duration, allowPrivate bool) *deliverer {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		// Checked on the address actually dialled, after DNS: a name that
		// resolves to a private address is refused too.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !publicIP(ip) {
				return fmt.Errorf("%w: %s", errPrivateAddress, host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	if !allowPrivate {
		tr.Proxy = nil // a proxy would dial the private address for us
	}
	return &deliverer{client: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A redirect is an answer, not an instruction: a receiver that
		// moved must be reconfigured (and a job's URL must not bounce
		// the request somewhere private).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var errPrivateAddress = errors.New("refusing to send a job's notify_urls event to a loopback, private or link-local address (serve --notify-allow-private allows it)")

func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		// 100.64.0.0/10 (carrier-grade NAT) is not public either.
		(ip.To4() != nil && ip.To4()[0] == 100 && ip.To4()[1]&0xc0 == 64))
}

// result classifies one attempt for the metrics.
type result string

const (
	resultOK        result = "ok"
	resultHTTPError result = "http_error"
	resultTimeout   result = "timeout"
	resultError     result = "error"
)

// post sends ev to u once; nil error means the receiver answered 2xx.
func (d *deliverer) post(ctx context.Context, u, format string, ev *store.OutboxEvent, secret []byte) (result, error) {
	body := []byte(ev.Payload)
	if format == FormatSlack {
		body = slackBody(ev.Payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return resultError, fmt.Errorf("bad webhook URL %s", redact(u))
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "sagetrain/"+buildinfo.Get().Version)
	h.Set(EventIDHeader, ev.ID)
	h.Set(EventTypeHeader, ev.Type)
	if len(secret) > 0 {
		h.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return resultTimeout, fmt.Errorf("POST %s: timed out", redact(u))
		}
		if errors.Is(err, errPrivateAddress) {
			return resultError, errPrivateAddress
		}
		return resultError, fmt.Errorf("POST %s: %s", redact(u), connError(err))
	}
	// Drain a little so the connection can be reused; never more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resultHTTPError, fmt.Errorf("POST %s: the receiver answered %d", redact(u), resp.StatusCode)
	}
	return resultOK, nil
}

// connError is the innermost cause of a transport error, without the URL
// (which the caller names, redacted).
func connError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return bounded(err.Error())
}

// redact keeps a URL's scheme, host and path: a query string may hold a
// token (Slack's hooks carry theirs in the path, so that is cut too).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	p := u.Path
	if len(p) > 16 {
		p = p[:16] + "…"
	}
	return u.Scheme + "://" + u.Host + p
}

func bounded(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
