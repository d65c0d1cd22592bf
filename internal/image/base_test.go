package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// A base pushed to a registry first, then pulled by Build: the result keeps
// the base's layers, adds the trainer on top, and records the base.
func TestBuildOnBaseFromRegistry(t *testing.T) {
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{Username: "builder", Password: "s3cret"})
	t.Setenv("DOCKER_CONFIG", dockerConfig(t, reg.Host, "builder", "s3cret")) // the default keychain reads it
	ctx := context.Background()

	marker := filepath.Join(t.TempDir(), "framework.txt")
	if err := os.WriteFile(marker, []byte("a framework lives here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	minimal, err := MinimalBase(platformAMD64, nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	l, err := buildLayer([]layerFile{{Path: "/opt/framework/framework.txt", Src: marker, Mode: 0o644}}, time.Unix(0, 0), "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.AppendLayers(minimal, l)
	if err != nil {
		t.Fatal(err)
	}
	baseRef := reg.Host + "/frameworks/base:1"
	pushed, err := RegistryPublisher{Ref: baseRef}.Publish(ctx, base)
	if err != nil {
		t.Fatalf("push base: %v", err)
	}

	img := buildFixture(t, BuildOptions{Base: baseRef})
	baseLayers, _ := base.Layers()
	layers, _ := img.Layers()
	if len(layers) != len(baseLayers)+1 {
		t.Fatalf("%d layers on a %d-layer base", len(layers), len(baseLayers))
	}
	for i, bl := range baseLayers {
		a, _ := bl.Digest()
		b, _ := layers[i].Digest()
		if a != b {
			t.Fatalf("layer %d: %s, base has %s", i, b, a)
		}
	}
	cf, _ := img.ConfigFile()
	if cf.Config.Labels[LabelBaseDigest] != pushed.Digest || cf.Config.Labels[LabelBaseName] != baseRef {
		t.Fatalf("base labels %v, want %s", cf.Config.Labels, pushed.Digest)
	}
	files := extract(t, img, t.TempDir())
	mustExist(t, files, "/opt/framework/framework.txt", BinaryPath)

	// The same base by digest gives the same image, apart from the label
	// that names it.
	byDigest := buildFixture(t, BuildOptions{Base: pushed.Reference})
	cf2, _ := byDigest.ConfigFile()
	if cf2.Config.Labels[LabelBaseDigest] != pushed.Digest {
		t.Fatalf("by digest: %v", cf2.Config.Labels)
	}

	// Without credentials the pull is refused as an authentication error.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := Build(ctx, BuildOptions{Source: fixtureDir(t), Base: baseRef}); !isAuthErr(err) {
		t.Fatalf("build on a private base without credentials: %v", err)
	}
}

// A base given as an OCI layout folder, and images read back from a layout
// and from a tarball.
func TestLayoutAndTarballRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := defaultFixture(t)
	dir := filepath.Join(t.TempDir(), "layout")
	pub, err := LayoutPublisher{Dir: dir, Tag: "dev"}.Publish(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Reference != "oci:"+dir+"@"+pub.Digest {
		t.Fatalf("layout reference %s", pub.Reference)
	}
	for _, src := range []string{dir, "oci:" + dir, pub.Reference} {
		got, err := LoadImage(ctx, src, LoadOptions{})
		if err != nil || digestOf(t, got) != pub.Digest {
			t.Fatalf("load %s: %v", src, err)
		}
	}
	// Writing the same tag again replaces the entry instead of adding one.
	if _, err := (LayoutPublisher{Dir: dir, Tag: "dev"}).Publish(ctx, img); err != nil {
		t.Fatal(err)
	}
	onBase := buildFixture(t, BuildOptions{Base: "oci:" + dir})
	layers, _ := onBase.Layers()
	if len(layers) != 3 {
		t.Fatalf("image built on the layout has %d layers", len(layers))
	}
	cf, _ := onBase.ConfigFile()
	if _, ok := cf.Config.Labels[LabelBaseName]; ok {
		t.Fatal("a local layout path leaked into the labels (it would break reproducibility)")
	}

	tarPath := filepath.Join(t.TempDir(), "img.tar")
	tp, err := TarballPublisher{Path: tarPath, Tag: "sagetrain:dev"}.Publish(ctx, img)
	if err != nil || tp.Reference != tarPath {
		t.Fatalf("tarball: %+v %v", tp, err)
	}
	got, err := LoadImage(ctx, tarPath, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := img.ConfigName()
	b, _ := got.ConfigName()
	if a != b {
		t.Fatalf("tarball round trip changed the config: %s vs %s", a, b)
	}
	if _, err := LoadImage(ctx, "oci:"+t.TempDir(), LoadOptions{}); err == nil {
		t.Fatal("an empty folder loaded as a layout")
	}
}
