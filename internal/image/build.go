package image

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	sagebuild "github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// Where the trainer goes in the image, and the labels we set.
const (
	BinaryPath      = "/usr/local/bin/sagetrain"
	LabelRevision   = "org.opencontainers.image.revision"
	LabelTitle      = "org.opencontainers.image.title"
	LabelBaseName   = "org.opencontainers.image.base.name"
	LabelBaseDigest = "org.opencontainers.image.base.digest"
	LabelVersion    = "org.opencontainers.image.version" // the trainer's module version (buildinfo)
	LabelGoVersion  = "com.github.sagetrain.go-version"  // the Go that compiled the trainer
	DefaultPackage  = "./cmd/sagetrain"
)

// Add is one `--add SRC:DST`: a file or folder on disk put at DST.
type Add struct{ Src, Dst string }

// ParseAdd parses "SRC:DST".
func ParseAdd(s string) (Add, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return Add{}, errs.Configuration(fmt.Sprintf("--add %q is not SRC:DST", s), "write it as a local path, a colon and an absolute path in the image, e.g. --add ./train.py:/opt/program/train.py", nil)
	}
	return Add{Src: s[:i], Dst: s[i+1:]}, nil
}

// BuildOptions says what to build. The zero value builds ./cmd/sagetrain of
// the module around the current folder for linux/amd64 on the minimal base.
type BuildOptions struct {
	Source   string      // a folder inside the Go module to build; "" = current folder
	Package  string      // the main package, relative to the module root; "" = ./cmd/sagetrain
	Base     string      // "" = MinimalBase; else anything LoadImage takes
	Platform v1.Platform // "" = linux/amd64; linux/arm64 supported
	Adds     []Add
	Revision string    // the source revision label; "" = none
	Created  time.Time // every timestamp in the image; zero = the Unix epoch
	CABundle []byte    // the minimal base's CA bundle; nil = the pinned Mozilla roots

	Keychain  authn.Keychain    // for pulling the base; nil = docker config + credential helpers
	Transport http.RoundTripper // for pulling the base
	GoCommand string            // "" = "go"
	Log       io.Writer         // the compiler's output; nil = discarded unless it fails
	// Binary is a built trainer (a static linux binary of Platform) laid
	// in as it is, instead of compiling the source: how an installed
	// sagetrain, with no source and no Go, builds its own image.
	Binary string
}

// ParsePlatform parses "linux/amd64" or "linux/arm64[/v8]".
func ParsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: "amd64"}, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS != "linux" || (p.Architecture != "amd64" && p.Architecture != "arm64") {
		return v1.Platform{}, errs.Configuration(fmt.Sprintf("unsupported platform %q", s), "use linux/amd64 (SageMaker's x86 instances) or linux/arm64 (Graviton)", err)
	}
	if p.Architecture == "arm64" && p.Variant == "" {
		p.Variant = "v8"
	}
	return *p, nil
}

// CreatedFromEnv returns SOURCE_DATE_EPOCH as a time, or the Unix epoch.
func CreatedFromEnv() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	var sec int64
	if _, err := fmt.Sscan(s, &sec); err != nil {
		return time.Time{}, errs.Configuration("SOURCE_DATE_EPOCH="+s+" is not a number of seconds", "unset it or set it to e.g. $(git log -1 --format=%ct)", err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Build compiles the trainer and lays it onto the base. The base's manifest
// and config are fetched while the compiler runs; a remote base's layers are
// read later, when the image is published, with ctx: keep it alive until then.
func Build(ctx context.Context, o BuildOptions) (v1.Image, error) {
	if o.Platform.OS == "" {
		o.Platform = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0).UTC()
	}
	o.Created = o.Created.UTC()
	tmp, err := os.MkdirTemp("", "sagetrain-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var (
		base   v1.Image
		binary = filepath.Join(tmp, "sagetrain")
	)
	g, gctx := errgroup.WithContext(ctx)
	if o.Binary != "" {
		binary = o.Binary
	} else {
		g.Go(func() error { return compile(gctx, o, binary) })
	}
	g.Go(func() (err error) {
		if o.Base == "" {
			base, err = MinimalBase(o.Platform, o.CABundle, o.Created)
			return err
		}
		// not gctx: a remote image keeps its context for the layer fetches
		// that come later, after the group is done
		base, err = LoadImage(ctx, o.Base, LoadOptions{Platform: o.Platform, Keychain: o.Keychain, Transport: o.Transport})
		if err == nil {
			_, err = base.ConfigFile() // fetch manifest and config now, alongside the compiler
			if err != nil {
				err = classifyRegistryError(err, "pull "+o.Base)
			}
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := checkBasePlatform(base, o.Platform, o.Base); err != nil {
		return nil, err
	}

	layerType := types.OCILayer
	if mt, err := base.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer // keep one media-type family in the manifest
	}
	appLayer, err := buildLayer([]layerFile{{Path: BinaryPath, Src: binary, Mode: 0o755}}, o.Created, layerType)
	if err != nil {
		return nil, errs.Container("cannot write the trainer layer", "check free space in the temporary folder", err)
	}
	adds := []mutate.Addendum{{
		Layer:     appLayer,
		MediaType: layerType,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "sagetrain image build: " + BinaryPath},
	}}
	if len(o.Adds) > 0 {
		var files []layerFile
		for _, a := range o.Adds {
			fs, err := filesFromDisk(a.Src, a.Dst)
			if err != nil {
				return nil, errs.Configuration(fmt.Sprintf("--add %s:%s", a.Src, a.Dst), "check that the source exists and the destination is an absolute path", err)
			}
			files = append(files, fs...)
		}
		l, err := buildLayer(files, o.Created, layerType)
		if err != nil {
			return nil, errs.Container("cannot write the --add layer", "check the added files are readable", err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: layerType,
			History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "sagetrain image build: --add"}})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, errs.Container("cannot add layers to the base image", "check the base image", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errs.Container("cannot read the base image's configuration", "check the base image", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: o.Created}
	cf.OS, cf.Architecture, cf.Variant = o.Platform.OS, o.Platform.Architecture, o.Platform.Variant
	cf.Author = ""
	// SageMaker runs `<image> train`: the argument replaces Cmd and is
	// passed to the entrypoint, so this runs `sagetrain train`.
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = []string{"train"}
	cf.Config.WorkingDir = "/"
	cf.Config.User = "" // root: SageMaker mounts /opt/ml for root
	cf.Config.Env = withPath(cf.Config.Env)
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels[LabelTitle] = "sagetrain"
	// the labels say what `sagetrain version` in the image says
	if bi, err := buildinfo.ReadFile(binary); err == nil {
		info := sagebuild.FromBuildInfo(bi)
		cf.Config.Labels[LabelVersion] = info.Version
		cf.Config.Labels[LabelGoVersion] = info.GoVersion
	}
	if o.Revision != "" {
		cf.Config.Labels[LabelRevision] = o.Revision
	} else {
		delete(cf.Config.Labels, LabelRevision)
	}
	if o.Base != "" {
		if isRemoteRef(o.Base) { // a local path would make the digest depend on where it is
			cf.Config.Labels[LabelBaseName] = o.Base
		}
		if d, err := base.Digest(); err == nil {
			cf.Config.Labels[LabelBaseDigest] = d.String()
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// withPath makes sure PATH holds /usr/local/bin, keeping the base's entries.
func withPath(env []string) []string {
	out := append([]string(nil), env...)
	for i, e := range out {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			for _, d := range strings.Split(v, ":") {
				if d == "/usr/local/bin" {
					return out
				}
			}
			out[i] = "PATH=/usr/local/bin:" + v
			return out
		}
	}
	return append(out, "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin")
}

func checkBasePlatform(base v1.Image, p v1.Platform, name string) error {
	cf, err := base.ConfigFile()
	if err != nil {
		return errs.Container("cannot read the base image's configuration", "check the base image "+name, err)
	}
	if cf.Architecture != "" && cf.Architecture != p.Architecture {
		return errs.Configuration(fmt.Sprintf("base image %s is %s/%s, not %s/%s", name, cf.OS, cf.Architecture, p.OS, p.Architecture),
			"pick a base built for "+p.Architecture+" or change --platform", nil)
	}
	return nil
}

// compile builds the main package statically for the platform, with flags
// that make the binary depend only on the source and the Go version.
func compile(ctx context.Context, o BuildOptions, out string) error {
	goCmd := o.GoCommand
	if goCmd == "" {
		goCmd = "go"
	}
	src := o.Source
	if src == "" {
		src = "."
	}
	root, err := ModuleRoot(ctx, goCmd, src)
	if err != nil {
		return err
	}
	pkg := o.Package
	if pkg == "" {
		pkg = DefaultPackage
	}
	ldflags := "-s -w -buildid="
	if o.Revision != "" && !strings.ContainsAny(o.Revision, " \t'\"") {
		ldflags += " -X " + sagebuild.RevisionSymbol + "=" + o.Revision // model.json then names the commit
	}
	cmd := exec.CommandContext(ctx, goCmd, "build",
		"-trimpath", "-buildvcs=false", "-tags", "timetzdata",
		"-ldflags", ldflags,
		"-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+o.Platform.OS, "GOARCH="+o.Platform.Architecture,
		"GOAMD64=v1", "GOARM64=v8.0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if o.Log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, o.Log), io.MultiWriter(&buf, o.Log)
	}
	if err := cmd.Run(); err != nil {
		return errs.Container(fmt.Sprintf("go build %s in %s failed", pkg, root),
			"fix the compile error below, or point --source at the module and --package at the main package:\n"+strings.TrimSpace(buf.String()), err)
	}
	return nil
}

// ModuleRoot returns the folder of the go.mod that governs dir.
func ModuleRoot(ctx context.Context, goCmd, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", errs.Configuration("cannot run '"+goCmd+" env GOMOD' in "+dir, "install Go (the build compiles the trainer) and check --source", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errs.Configuration(dir+" is not inside a Go module", "run from sagetrain's source tree or give --source DIR", nil)
	}
	return filepath.Dir(gomod), nil
}

// SourceRevision returns the git commit of dir, or "" when it is not a git
// checkout (or git is missing).
func SourceRevision(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
