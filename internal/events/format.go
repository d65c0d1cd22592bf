package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sagetrain/sagetrain/internal/store"
)

// slackBody turns a stored event into a Slack-compatible incoming-webhook
// body: {"text": "..."}. Slack's mrkdwn treats &, < and > as control
// characters, so they are escaped; everything else is shown as written.
func slackBody(payload []byte) []byte {
	if text, ok := slackSubjectText(payload); ok {
		out, _ := json.Marshal(map[string]string{"text": text})
		return out
	}
	var b store.EventBody
	if err := json.Unmarshal(payload, &b); err != nil {
		out, _ := json.Marshal(map[string]string{"text": "sagetrain event (unreadable)"})
		return out
	}
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s job *%s* (%s, %s) is *%s*", emoji(b.Job.Status), esc.Replace(b.Job.Name), esc.Replace(b.Job.ID), esc.Replace(b.Job.Backend), b.Job.Status)
	if b.Job.SecondaryStatus != "" {
		fmt.Fprintf(&sb, " (%s)", esc.Replace(b.Job.SecondaryStatus))
	}
	if b.Job.FailureReason != "" {
		fmt.Fprintf(&sb, ": %s", esc.Replace(b.Job.FailureReason))
	} else if b.Message != "" {
		fmt.Fprintf(&sb, ": %s", esc.Replace(b.Message))
	}
	fmt.Fprintf(&sb, " at %s", b.OccurredAt)
	out, _ := json.Marshal(map[string]string{"text": sb.String()})
	return out
}

func emoji(s store.Status) string {
	switch s {
	case store.StatusCompleted:
		return ":white_check_mark:"
	case store.StatusFailed:
		return ":x:"
	case store.StatusStopped, store.StatusStopping:
		return ":octagonal_sign:"
	}
	return ":hourglass_flowing_sand:"
}
