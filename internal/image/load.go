package image

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// LoadOptions says how to fetch an image named by a reference.
type LoadOptions struct {
	Platform  v1.Platform       // picked from multi-platform images and layouts
	Keychain  authn.Keychain    // nil: authn.DefaultKeychain (docker config and credential helpers)
	Transport http.RoundTripper // nil: remote.DefaultTransport
	Insecure  bool              // allow plain HTTP to a registry that is not on loopback or a private network
}

// LoadImage opens the image that src names:
//   - "oci:DIR" or "oci:DIR@sha256:..." or a folder holding an OCI layout;
//   - an existing file: a tarball written by `docker save` or --tarball;
//   - anything else: a registry reference, pulled with the keychain.
func LoadImage(ctx context.Context, src string, o LoadOptions) (v1.Image, error) {
	if dir, ok := strings.CutPrefix(src, "oci:"); ok {
		return loadLayout(dir, o.Platform)
	}
	if st, err := os.Stat(src); err == nil {
		if st.IsDir() {
			return loadLayout(src, o.Platform)
		}
		img, err := tarball.ImageFromPath(src, nil)
		if err != nil {
			return nil, errs.Container("cannot read image tarball "+src, "give a tarball written by 'docker save' or 'sagetrain image build --tarball'", err)
		}
		return img, nil
	}
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(src, nopts...)
	if err != nil {
		return nil, errs.Configuration(fmt.Sprintf("%q is neither a file, an OCI layout folder nor an image reference", src), "give an image reference like registry/repo:tag, oci:DIR, a layout folder or a tarball path", err)
	}
	img, err := remote.Image(ref, remoteOptions(ctx, o.Keychain, nil, o.Transport, o.Platform)...)
	if err != nil {
		return nil, classifyRegistryError(err, "pull "+ref.String())
	}
	return img, nil
}

func remoteOptions(ctx context.Context, kc authn.Keychain, auth authn.Authenticator, tr http.RoundTripper, p v1.Platform) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("sagetrain")}
	switch {
	case auth != nil:
		opts = append(opts, remote.WithAuth(auth))
	case kc != nil:
		opts = append(opts, remote.WithAuthFromKeychain(kc))
	default:
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if tr != nil {
		opts = append(opts, remote.WithTransport(tr))
	}
	if p.OS != "" {
		opts = append(opts, remote.WithPlatform(p))
	}
	return opts
}

// loadLayout picks one image from an OCI layout: the one with the given
// digest (DIR@sha256:...), else the only image, else the one matching the
// platform, else the last one written.
func loadLayout(spec string, p v1.Platform) (v1.Image, error) {
	dir, want, _ := strings.Cut(spec, "@")
	fix := "give a folder written by 'sagetrain image build --oci-layout' (it holds oci-layout and index.json)"
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, errs.Container("no OCI layout in "+dir, fix, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, errs.Container("cannot read the OCI layout in "+dir, fix, err)
	}
	img, err := pickFromIndex(idx, want, p)
	if err != nil {
		return nil, errs.Container("cannot pick an image from the OCI layout in "+dir, "name it as oci:"+dir+"@sha256:<digest>", err)
	}
	return img, nil
}

func pickFromIndex(idx v1.ImageIndex, want string, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if want != "" {
		h, err := v1.NewHash(want)
		if err != nil {
			return nil, err
		}
		for _, d := range im.Manifests {
			if d.Digest == h {
				if d.MediaType.IsIndex() {
					child, err := idx.ImageIndex(h)
					if err != nil {
						return nil, err
					}
					return pickFromIndex(child, "", p)
				}
				return idx.Image(h)
			}
		}
		return nil, fmt.Errorf("%s is not in the index", want)
	}
	var images []v1.Descriptor
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage():
			images = append(images, d)
		case d.MediaType.IsIndex() && len(im.Manifests) == 1:
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			return pickFromIndex(child, "", p)
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("the index holds no image")
	}
	if len(images) == 1 {
		return idx.Image(images[0].Digest)
	}
	for i := len(images) - 1; i >= 0; i-- {
		d := images[i]
		if d.Platform != nil && p.OS != "" && d.Platform.Satisfies(p) {
			return idx.Image(d.Digest)
		}
	}
	return idx.Image(images[len(images)-1].Digest)
}

// isRemoteRef reports whether LoadImage would pull src from a registry.
func isRemoteRef(src string) bool {
	if strings.HasPrefix(src, "oci:") {
		return false
	}
	_, err := os.Stat(src)
	return err != nil
}
