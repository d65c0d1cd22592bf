package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/events"
	"github.com/sagetrain/sagetrain/internal/store"
)

// webhookFlags are serve's event delivery flags.
type webhookFlags struct {
	urls         []string
	secretFile   string
	events       []string
	format       string
	allowPrivate bool
}

func addWebhookFlags(fl *pflag.FlagSet, f *webhookFlags) {
	fl.StringArrayVar(&f.urls, "webhook-url", nil, "POST every job status change to this URL (repeatable); see docs/events.md")
	fl.StringVar(&f.secretFile, "webhook-secret-file", "", "file holding the secret that signs every event (X-Sagetrain-Signature: sha256=HMAC)")
	fl.StringSliceVar(&f.events, "webhook-events", nil, "only these event types to --webhook-url (comma-separated: completed,failed or job.completed or job.*, sweep.status_changed, deployment.deployed, deployment.*; default all)")
	fl.StringVar(&f.format, "webhook-format", events.FormatJSON, "body sent to --webhook-url: json (the event) or slack (a Slack-compatible {\"text\"})")
	fl.BoolVar(&f.allowPrivate, "notify-allow-private", false, "let jobs' own notify_urls reach loopback and private addresses (off: an API user could otherwise make the server POST inside your network)")
}

// newEventSender builds the outbox sender serve runs. It always runs, so
// that jobs' own notify_urls are served too.
func newEventSender(st store.Store, f webhookFlags, log *slog.Logger) (*events.Sender, *events.Metrics, error) {
	ob, ok := st.(store.Outbox)
	if !ok {
		return nil, nil, errs.Configuration("this job store has no events outbox", "use the SQLite or PostgreSQL store", nil)
	}
	var secret []byte
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, nil, errs.Configuration("cannot read the webhook secret file "+f.secretFile, "check the path and its permissions", err)
		}
		secret = []byte(strings.TrimSpace(string(b)))
		if len(secret) < 8 {
			return nil, nil, errs.Configuration("the webhook secret in "+f.secretFile+" is shorter than 8 characters", "put a long random secret in it, e.g. `openssl rand -hex 32 > "+f.secretFile+"`", nil)
		}
	}
	if len(f.urls) > 0 && secret == nil {
		return nil, nil, errs.Configuration("--webhook-url needs --webhook-secret-file", "write a secret (`openssl rand -hex 32 > FILE`), pass --webhook-secret-file FILE, and verify the signature in the receiver (docs/events.md)", nil)
	}
	for _, e := range f.events {
		if !knownEventFilter(e) {
			return nil, nil, errs.Configuration(fmt.Sprintf("--webhook-events entry %q matches no event", e),
				"use statuses (completed,failed), types (job.completed, sweep.status_changed, deployment.deployed, deployment.undeployed) or a prefix with a star (job.*, sweep.*, deployment.*)", nil)
		}
	}
	var dests []events.Destination
	for _, u := range f.urls {
		if err := events.CheckURL(u); err != nil {
			return nil, nil, errs.Configuration(err.Error(), "pass --webhook-url https://host/path", nil)
		}
		dests = append(dests, events.Destination{URL: u, Format: f.format, Events: f.events})
	}
	if f.format != events.FormatJSON && f.format != events.FormatSlack {
		return nil, nil, errs.Configuration("unknown --webhook-format "+f.format, "use json or slack", nil)
	}
	m := events.NewMetrics(ob)
	s, err := events.New(events.Options{Outbox: ob, Destinations: dests, Secret: secret, AllowPrivateNotify: f.allowPrivate,
		Logger: log, Metrics: m})
	if err != nil {
		return nil, nil, errs.Configuration(err.Error(), "check the --webhook-* flags", nil)
	}
	return s, m, nil
}

// runEventSender runs s until ctx ends and closes done.
func runEventSender(ctx context.Context, s *events.Sender, done chan<- struct{}) {
	defer close(done)
	s.Run(ctx)
}

// knownEventFilter accepts "*", a prefix with a star, a job status, or
// job.<status>: a typo would otherwise silently filter every event out.
func knownEventFilter(e string) bool {
	if strings.HasSuffix(e, "*") {
		return true
	}
	st := store.Status(strings.TrimPrefix(e, "job."))
	return st.Valid() || events.KnownSubjectFilter(e)
}
