package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sagetrain/sagetrain/internal/image"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func TestPushBarFollowsARealPush(t *testing.T) {
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	img, err := random.Image(3<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out testpeer.SyncBuffer
	updates, stop := newPushBar(&out)
	_, err = image.RegistryPublisher{Ref: reg.Host + "/bar/test:v1", Progress: updates}.Publish(context.Background(), img)
	stop()
	stop() // a second call does nothing
	if err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "push") || !strings.Contains(s, "MiB") {
		t.Fatalf("no push bar drawn: %q", s)
	}
}

func TestPushBarStopsWhenThePushNeverStarted(t *testing.T) {
	var out testpeer.SyncBuffer
	updates, stop := newPushBar(&out)
	updates <- v1.Update{Total: 100, Complete: 10}
	// Nothing closes the channel (say the ECR login failed): stop must
	// still return.
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return for a push that never ran")
	}
}
