package cli

import "testing"

// --webhook-events accepts the sweep and deployment types next to the job
// ones, and still refuses a typo.
func TestWebhookEventsFilterKnowsSweepsAndDeployments(t *testing.T) {
	for e, want := range map[string]bool{"completed": true, "job.failed": true, "sweep.status_changed": true,
		"deployment.deployed": true, "deployment.undeployed": true, "undeployed": true, "deployment.*": true,
		"sweep.done": false, "deploy": false} {
		if got := knownEventFilter(e); got != want {
			t.Errorf("knownEventFilter(%q) = %v, want %v", e, got, want)
		}
	}
}
