package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// The events outbox. Every status change a driver records (Create's first
// event, each event of an Update) also becomes one OutboxEvent, inserted in
// the same transaction: a change is never committed without its event, nor
// an event without its change. internal/events delivers them.

// Outbox delivery states.
const (
	OutboxPending   = "pending"   // not yet delivered everywhere; retried
	OutboxDelivered = "delivered" // every destination answered 2xx (or there was none)
	OutboxFailed    = "failed"    // given up after the last attempt
)

// OccurredFormat is how event times are written: fixed width, so that the
// strings sort like the times (RFC 3339 with trailing zeros trimmed does not).
const OccurredFormat = "2006-01-02T15:04:05.000000Z07:00"

// maxEventText bounds each free-text field of an event body: messages come
// from backends and trainers and must not reach a receiver unbounded.
const maxEventText = 4096

// EventJob is the job as an event shows it.
type EventJob struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Backend          string     `json:"backend"`
	Status           Status     `json:"status"`
	SecondaryStatus  string     `json:"secondary_status"`
	FailureReason    string     `json:"failure_reason"`
	StatusMessage    string     `json:"status_message,omitempty"`
	RemoteName       string     `json:"remote_name,omitempty"`
	RemoteARN        string     `json:"remote_arn,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	StartedAt        *time.Time `json:"started_at,omitempty"`
	EndedAt          *time.Time `json:"ended_at,omitempty"`
	BillableSeconds  int64      `json:"billable_seconds"`
	ModelArtifactURI string     `json:"model_artifact_uri,omitempty"`
}

// EventBody is the JSON every webhook destination receives.
type EventBody struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"` // "job.<status>", e.g. job.completed
	Job        EventJob `json:"job"`
	Message    string   `json:"message,omitempty"` // what this change said
	OccurredAt string   `json:"occurred_at"`       // OccurredFormat, UTC
}

// OutboxEvent is one row of the outbox with its delivery state.
type OutboxEvent struct {
	Seq        int64
	ID         string
	JobID      string
	Type       string
	Payload    json.RawMessage // the exact body sent
	NotifyURLs []string        // the job's own destinations (spec notify_urls)
	OccurredAt time.Time
	CreatedAt  time.Time

	State         string
	Attempts      int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseExpires  time.Time
	DoneURLs      []string // destinations that have answered 2xx
	LastError     string
	DeliveredAt   *time.Time
}

// OutboxResult is what a sender records after working on a claimed event.
type OutboxResult struct {
	State         string   // OutboxPending (retry at NextAttemptAt), OutboxDelivered or OutboxFailed
	DoneURLs      []string // all destinations done so far
	Attempted     bool     // at least one delivery was attempted (counts an attempt)
	NextAttemptAt time.Time
	LastError     string
}

// OutboxFilter selects outbox rows for ListOutbox. Zero values mean "any".
type OutboxFilter struct {
	JobID    string
	State    string
	AfterSeq int64 // rows with a larger Seq (pagination, oldest first)
	Limit    int   // default 100, max 1000
}

// Outbox is implemented by both drivers next to Store.
type Outbox interface {
	// ClaimOutbox leases up to limit due events to owner for ttl: for each
	// job, only its oldest pending event (so one job's events go out in
	// order), and only when unleased or its lease has expired.
	ClaimOutbox(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*OutboxEvent, error)
	// FinishOutbox records the result of owner's work on event seq; false
	// when owner no longer held its lease (nothing is written then).
	FinishOutbox(ctx context.Context, seq int64, owner string, r OutboxResult) (bool, error)
	// ListOutbox returns events oldest first.
	ListOutbox(ctx context.Context, f OutboxFilter) ([]*OutboxEvent, error)
	// CountOutbox returns the number of pending and of failed events.
	CountOutbox(ctx context.Context) (map[string]int64, error)
}

// OutboxLimit applies ListOutbox's default and maximum page size.
func OutboxLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 1000)
}

// NewOutboxEvents makes the outbox rows of events just recorded for job
// (job holds the values being written).
func NewOutboxEvents(job *Job, events []Event) ([]*OutboxEvent, error) {
	if len(events) == 0 {
		return nil, nil
	}
	notify := NotifyURLs(job.Spec)
	now := Now()
	out := make([]*OutboxEvent, 0, len(events))
	for _, e := range events {
		at := Micro(e.At)
		if at.IsZero() {
			at = now
		}
		b := EventBody{
			ID:   NewID(),
			Type: "job." + string(e.Status),
			Job: EventJob{
				ID: job.ID, Name: job.Name, Backend: job.Backend, Status: e.Status, SecondaryStatus: e.SecondaryStatus,
				FailureReason: bound(job.FailureReason), StatusMessage: bound(job.StatusMessage),
				RemoteName: job.RemoteName, RemoteARN: job.RemoteARN,
				CreatedAt: job.CreatedAt, StartedAt: job.StartedAt, EndedAt: job.EndedAt,
				BillableSeconds: job.BillableSeconds, ModelArtifactURI: job.ModelArtifactURI,
			},
			Message:    bound(e.Message),
			OccurredAt: at.UTC().Format(OccurredFormat),
		}
		if !e.Status.Terminal() {
			// A failure reason of an earlier attempt is not this change's.
			b.Job.FailureReason = ""
		}
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		out = append(out, &OutboxEvent{ID: b.ID, JobID: job.ID, Type: b.Type, Payload: raw, NotifyURLs: notify,
			OccurredAt: at, CreatedAt: now, State: OutboxPending, NextAttemptAt: now})
	}
	return out, nil
}

// NotifyURLs reads a stored spec's notify_urls (nil when none or unreadable).
func NotifyURLs(spec json.RawMessage) []string {
	if len(spec) == 0 || !strings.Contains(string(spec), `"notify_urls"`) {
		return nil
	}
	var s struct {
		NotifyURLs []string `json:"notify_urls"`
	}
	if json.Unmarshal(spec, &s) != nil {
		return nil
	}
	return s.NotifyURLs
}

// EncodeURLs and DecodeURLs are how URL lists are kept in a TEXT column.
func EncodeURLs(urls []string) string {
	if len(urls) == 0 {
		return ""
	}
	b, _ := json.Marshal(urls)
	return string(b)
}

// DecodeURLs reads a job's notify_urls back from their stored form.
func DecodeURLs(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func bound(s string) string {
	if len(s) <= maxEventText {
		return s
	}
	s = s[:maxEventText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// BoundError shortens a delivery error for the outbox's last_error.
func BoundError(s string) string {
	const max = 500
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
