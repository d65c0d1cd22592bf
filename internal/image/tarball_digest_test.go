package image

import (
	"context"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// The digest `image build --tarball` prints is the digest a push of that
// tarball gives: the tarball keeps the manifest as it was built.
func TestTarballDigestIsThePushedDigest(t *testing.T) {
	ctx := context.Background()
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	img, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	// An image with a config label, as build makes, not only random bytes.
	img, err = mutate.Config(img, mutateConfigLabel(t, img))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trainer.tar")
	written, err := TarballPublisher{Path: path, Tag: "sagetrain:test"}.Publish(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadImage(ctx, path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := RegistryPublisher{Ref: reg.Host + "/sagetrain/tarball:v1"}.Publish(ctx, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if written.Digest == "" || pushed.Digest != written.Digest {
		t.Fatalf("tarball printed %s, its push gave %s", written.Digest, pushed.Digest)
	}
}

func mutateConfigLabel(t *testing.T, img v1.Image) v1.Config {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	c.Labels = map[string]string{"org.opencontainers.image.title": "sagetrain"}
	return c
}
