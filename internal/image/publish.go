package image

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Published says where an image went.
type Published struct {
	Reference string `json:"reference"`  // digest-pinned: repo@sha256:..., oci:DIR@sha256:..., or the tarball path
	Digest    string `json:"digest"`     // the manifest digest
	SizeBytes int64  `json:"size_bytes"` // manifest + config + compressed layers: what a pull downloads
}

// Publisher writes an image somewhere.
type Publisher interface {
	Publish(ctx context.Context, img v1.Image) (Published, error)
}

// DefaultLayoutDir is where `image build` writes when told nothing else.
const DefaultLayoutDir = "dist/image"

// LayoutPublisher writes to an OCI image layout folder, replacing the image
// that had the same tag (org.opencontainers.image.ref.name).
type LayoutPublisher struct {
	Dir string
	Tag string // "" = "latest"
}

// Publish writes img into the OCI layout folder, tagged.
func (p LayoutPublisher) Publish(ctx context.Context, img v1.Image) (Published, error) {
	tag := p.Tag
	if tag == "" {
		tag = "latest"
	}
	fix := "check that " + p.Dir + " is writable and has free space"
	var lp layout.Path
	var err error
	if _, serr := os.Stat(filepath.Join(p.Dir, "index.json")); serr == nil {
		lp, err = layout.FromPath(p.Dir)
	} else {
		lp, err = layout.Write(p.Dir, empty.Index)
	}
	if err != nil {
		return Published{}, errs.Container("cannot open OCI layout "+p.Dir, fix, err)
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": tag}
	if err := lp.ReplaceImage(img, match.Annotation("org.opencontainers.image.ref.name", tag), layout.WithAnnotations(ann)); err != nil {
		return Published{}, errs.Container("cannot write the image to OCI layout "+p.Dir, fix, err)
	}
	return describe(img, func(d string) string { return "oci:" + p.Dir + "@" + d })
}

// TarballPublisher writes a tarball that `docker load` accepts.
type TarballPublisher struct {
	Path string
	Tag  string // the repo:tag docker load gives it; "" = sagetrain:latest
}

// Publish writes img as a docker-loadable tarball.
func (p TarballPublisher) Publish(ctx context.Context, img v1.Image) (Published, error) {
	t := p.Tag
	if t == "" {
		t = "sagetrain:latest"
	}
	tag, err := name.NewTag(t)
	if err != nil {
		return Published{}, errs.Configuration(fmt.Sprintf("tag %q is not valid", t), "use repo:tag, e.g. sagetrain:dev", err)
	}
	if dir := filepath.Dir(p.Path); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
	}
	if err := tarball.WriteToFile(p.Path, tag, img); err != nil {
		return Published{}, errs.Container("cannot write tarball "+p.Path, "check that the folder is writable and has free space", err)
	}
	return describe(img, func(string) string { return p.Path })
}

// RegistryPublisher pushes to a registry. Blobs the registry already has
// are not uploaded again (remote.Write checks each with HEAD first), so a
// push that was interrupted resumes where it stopped.
type RegistryPublisher struct {
	Ref       string              // registry/repo[:tag]; without a tag the image is pushed by digest only
	Auth      authn.Authenticator // nil = Keychain
	Keychain  authn.Keychain      // nil = docker config + credential helpers
	Transport http.RoundTripper   // nil = remote.DefaultTransport
	Insecure  bool                // plain HTTP to a non-loopback, non-private registry
	Progress  chan<- v1.Update    // optional upload progress; closed by remote.Write
}

// Publish pushes img to the registry and returns its reference by digest.
func (p RegistryPublisher) Publish(ctx context.Context, img v1.Image) (Published, error) {
	var nopts []name.Option
	if p.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(p.Ref, nopts...)
	if err != nil {
		return Published{}, errs.Configuration(fmt.Sprintf("%q is not an image reference", p.Ref), "write it as registry/repository[:tag]", err)
	}
	d, err := img.Digest()
	if err != nil {
		return Published{}, err
	}
	target := ref
	if _, isTag := ref.(name.Tag); isTag && !hasExplicitTag(p.Ref) {
		target = ref.Context().Digest(d.String())
	}
	opts := remoteOptions(ctx, p.Keychain, p.Auth, p.Transport, v1.Platform{})
	if p.Progress != nil {
		opts = append(opts, remote.WithProgress(p.Progress))
	}
	if err := remote.Write(target, img, opts...); err != nil {
		return Published{}, classifyRegistryError(err, "push to "+ref.Context().String())
	}
	return describe(img, func(d string) string { return ref.Context().String() + "@" + d })
}

// hasExplicitTag reports whether ref ends in :tag (name.ParseReference
// would otherwise invent :latest).
func hasExplicitTag(ref string) bool {
	slash := -1
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			slash = i
			break
		}
	}
	for i := len(ref) - 1; i > slash; i-- {
		if ref[i] == ':' {
			return true
		}
	}
	return false
}

func describe(img v1.Image, refOf func(digest string) string) (Published, error) {
	d, err := img.Digest()
	if err != nil {
		return Published{}, err
	}
	size, err := Size(img)
	if err != nil {
		return Published{}, err
	}
	return Published{Reference: refOf(d.String()), Digest: d.String(), SizeBytes: size}, nil
}

// Size is what pulling img downloads: manifest, config and compressed layers.
func Size(img v1.Image) (int64, error) {
	m, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	c, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	total := int64(len(m) + len(c))
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	for _, l := range layers {
		s, err := l.Size()
		if err != nil {
			return 0, err
		}
		total += s
	}
	return total, nil
}
