package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sagetrain/sagetrain/internal/store"
)

// KnownSubjectFilter reports whether a --webhook-events entry names a
// sweep or deployment event: its full type, or its last part (deployed,
// undeployed, status_changed).
func KnownSubjectFilter(e string) bool {
	for _, t := range []string{store.EventSweepStatusChanged, store.EventDeploymentDeployed, store.EventDeploymentUndeployed} {
		_, last, _ := strings.Cut(t, ".")
		if e == t || e == last {
			return true
		}
	}
	return false
}

// slackSubjectText is the Slack text of a sweep or deployment event; false
// for a job event (or an unreadable body).
func slackSubjectText(payload []byte) (string, bool) {
	var b store.SubjectEventBody
	if json.Unmarshal(payload, &b) != nil || (b.Sweep == nil && b.Deployment == nil) {
		return "", false
	}
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var sb strings.Builder
	switch {
	case b.Sweep != nil:
		sw := b.Sweep
		icon := ":hourglass_flowing_sand:"
		switch sw.Status {
		case "completed":
			icon = ":white_check_mark:"
		case "failed":
			icon = ":x:"
		case "stopped":
			icon = ":octagonal_sign:"
		}
		fmt.Fprintf(&sb, "%s sweep *%s* (%s) is *%s*", icon, esc.Replace(sw.Name), esc.Replace(sw.ID), esc.Replace(sw.Status))
		if sw.PreviousStatus != "" {
			fmt.Fprintf(&sb, " (was %s)", esc.Replace(sw.PreviousStatus))
		}
	default:
		d := b.Deployment
		icon, verb := ":rocket:", "deployed"
		if b.Type == store.EventDeploymentUndeployed {
			icon, verb = ":no_entry_sign:", "undeployed"
		}
		fmt.Fprintf(&sb, "%s model *%s* %s for ages %d-%d (deployment %s", icon, esc.Replace(d.ModelID), verb, d.AgeMin, d.AgeMax, esc.Replace(d.ID))
		if !slices.Contains([]string{"deployed", "undeployed"}, d.Reason) {
			fmt.Fprintf(&sb, ", %s", esc.Replace(d.Reason))
		}
		sb.WriteString(")")
	}
	fmt.Fprintf(&sb, " at %s", b.OccurredAt)
	return sb.String(), true
}
