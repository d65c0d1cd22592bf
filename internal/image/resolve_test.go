package image

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// A tag resolves to the digest it points at when asked, and stays that
// digest after the tag moves.
func TestResolveDigestPinsATag(t *testing.T) {
	t.Parallel()
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	ctx := context.Background()
	ref := reg.Host + "/pin/trainer:nightly"
	push := func() string {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, err := RegistryPublisher{Ref: ref}.Publish(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		return p.Digest
	}
	first := push()
	got, err := ResolveDigest(ctx, ref, ResolveOptions{})
	if err != nil || got != reg.Host+"/pin/trainer@"+first {
		t.Fatalf("ResolveDigest = %q, %v; want the pushed %s", got, err, first)
	}
	second := push()
	if second == first {
		t.Fatal("two random images with one digest")
	}
	again, err := ResolveDigest(ctx, got, ResolveOptions{})
	if err != nil || again != got {
		t.Fatalf("a digest reference resolved to %q, %v", again, err)
	}
	if _, err := ResolveDigest(ctx, reg.Host+"/pin/missing:1", ResolveOptions{}); err == nil || !strings.Contains(err.Error(), "resolve") {
		t.Fatalf("a missing tag: %v", err)
	}
}
