package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Helpers every driver shares: the parts of the Store contract that do not
// depend on the database (defaults, event rules, time precision, errors).

// PrepareNew fills Create's defaults (ID, status, times, version) and
// normalises times to microseconds.
func PrepareNew(j *Job) error { return PrepareNewAt(j, Now()) }

// PrepareNewAt is PrepareNew with the time of a Core's clock.
func PrepareNewAt(j *Job, now time.Time) error {
	if j.ID == "" {
		j.ID = NewID()
	}
	if j.Status == "" {
		j.Status = StatusPending
	}
	if !j.Status.Valid() {
		return InvalidStatus(j.Status)
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	j.CreatedAt = Micro(j.CreatedAt)
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	j.UpdatedAt = Micro(j.UpdatedAt)
	if j.Version == 0 {
		j.Version = 1
	}
	j.StartedAt = MicroPtr(j.StartedAt)
	j.EndedAt = MicroPtr(j.EndedAt)
	j.LeaseExpires = Micro(j.LeaseExpires)
	return nil
}

// UpdateEvents fills the events an Update was given with their defaults
// (job ID, time, status), or, when it was given none and the status or
// secondary status changed, makes that change the one event.
func UpdateEvents(job *Job, events []Event, oldStatus Status, oldSecondary string, now time.Time) []Event {
	if len(events) == 0 {
		if job.Status == oldStatus && job.SecondaryStatus == oldSecondary {
			return nil
		}
		return []Event{{JobID: job.ID, At: now, Status: job.Status, SecondaryStatus: job.SecondaryStatus, Message: job.StatusMessage}}
	}
	out := make([]Event, len(events))
	for i, e := range events {
		e.JobID = job.ID
		if e.At.IsZero() {
			e.At = now
		}
		e.At = Micro(e.At)
		if e.Status == "" {
			e.Status = job.Status
		}
		out[i] = e
	}
	return out
}

// DistinctStatuses validates a status filter and drops repeats.
func DistinctStatuses(in []Status) ([]string, error) {
	var out []string
	seen := map[Status]bool{}
	for _, st := range in {
		if !st.Valid() {
			return nil, InvalidStatus(st)
		}
		if !seen[st] {
			seen[st] = true
			out = append(out, string(st))
		}
	}
	return out, nil
}

// MicroPtr rounds a time to microseconds (what both databases keep); nil and zero stay nil.
func MicroPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	m := Micro(*t)
	return &m
}

// Conflict is the errs.ErrConflict a driver returns when an update lost the race.
func Conflict(msg string) error {
	return errs.Conflict(msg, "read the job again (Get) and retry the change on the fresh copy", nil)
}

// InvalidStatus is the error for a status that is not one of AllStatuses.
func InvalidStatus(s Status) error {
	return errs.Configuration(fmt.Sprintf("invalid job status %q", s),
		fmt.Sprintf("use one of %v", AllStatuses), nil)
}

// CreatedBefore orders jobs oldest first (by creation time, then ID).
func CreatedBefore(a, b *Job) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// QualifiedColumns prefixes each of a comma-separated column list with
// table ("jobs.id, jobs.name"), for queries that join (a RETURNING after a
// join with a CTE is otherwise ambiguous on id); NULL placeholders stay as
// they are.
func QualifiedColumns(table, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		if p = strings.TrimSpace(p); !strings.HasPrefix(p, "NULL") {
			p = table + "." + p
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}
