package image

import (
	_ "embed"
	"fmt"
	"io/fs"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// mozillaCABundle is the default base's CA bundle: the Mozilla roots of
// Debian's ca-certificates package, pinned in the repository (regenerate
// with gen-ca-bundle.sh) so that the base is the same on every machine and
// never carries a build machine's own or proxy CAs.
//
//go:embed basefs/ca-certificates.crt
var mozillaCABundle []byte

// CABundlePath is where the default base puts its CA bundle (Debian's path,
// which Go, OpenSSL and the AWS SDKs look at).
const CABundlePath = "/etc/ssl/certs/ca-certificates.crt"

const (
	passwdFile = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	groupFile  = "root:x:0:\nnogroup:x:65534:\n"
	// Go's resolver reads this; without it, it still works, but say so.
	nsswitchFile = "hosts: files dns\n"
)

// MinimalBase builds the default base image in memory, with no pull: one
// layer holding a CA bundle, /etc/passwd and /etc/group (root and nobody),
// /etc/nsswitch.conf, /tmp and /root; nothing else (no shell). Timezone data
// is not in it: the trainer is compiled with Go's embedded tzdata
// (-tags timetzdata), so it works on any base.
// caBundle nil means the pinned Mozilla bundle.
func MinimalBase(p v1.Platform, caBundle []byte, created time.Time) (v1.Image, error) {
	if caBundle == nil {
		caBundle = mozillaCABundle
	}
	files := []layerFile{
		{Path: CABundlePath, Data: caBundle, Mode: 0o644},
		{Path: "/etc/passwd", Data: []byte(passwdFile), Mode: 0o644},
		{Path: "/etc/group", Data: []byte(groupFile), Mode: 0o644},
		{Path: "/etc/nsswitch.conf", Data: []byte(nsswitchFile), Mode: 0o644},
		{Path: "/tmp", Dir: true, Mode: 0o777 | fs.ModeSticky},
		{Path: "/root", Dir: true, Mode: 0o700},
	}
	layer, err := buildLayer(files, created, types.OCILayer)
	if err != nil {
		return nil, fmt.Errorf("build the minimal base layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "sagetrain image build: minimal base (CA bundle, passwd, group, /tmp)",
			Comment:   "CA bundle: Mozilla roots from Debian ca-certificates",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: created}
	cf.Config.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"SSL_CERT_FILE=" + CABundlePath,
	}
	return mutate.ConfigFile(img, cf)
}
