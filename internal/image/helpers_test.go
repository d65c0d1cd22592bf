package image

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// fixtureDir is a tiny Go module with a ./cmd/sagetrain, so most tests
// compile in a second instead of building the whole trainer.
func fixtureDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	fixtureOnce sync.Once
	fixtureImg  v1.Image
	fixtureErr  error
)

// defaultFixture is the fixture built once with default options, shared by
// the tests that only need some image.
func defaultFixture(t testing.TB) v1.Image {
	t.Helper()
	src := fixtureDir(t)
	fixtureOnce.Do(func() { fixtureImg, fixtureErr = Build(context.Background(), BuildOptions{Source: src}) })
	if fixtureErr != nil {
		t.Fatalf("build: %v", fixtureErr)
	}
	return fixtureImg
}

func buildFixture(t testing.TB, o BuildOptions) v1.Image {
	t.Helper()
	if o.Source == "" {
		o.Source = fixtureDir(t)
	}
	// not cancelled on return: a remote base's layers are read later with it
	img, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return img
}

func digestOf(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// extract writes img's flattened filesystem under dir (regular files,
// folders and symlinks) and returns the tar headers seen, by path.
func extract(t testing.TB, img v1.Image, dir string) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("extract: %v", err)
		}
		name := filepath.Clean(strings.TrimPrefix(h.Name, "/"))
		if strings.HasPrefix(name, "..") {
			t.Fatalf("unsafe path in image: %s", h.Name)
		}
		seen["/"+name] = h
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode&0o777)|0o200)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		case tar.TypeSymlink:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			_ = os.Symlink(h.Linkname, p)
		}
	}
	return seen
}

func mustExist(t testing.TB, files map[string]*tar.Header, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, ok := files[p]; !ok {
			t.Errorf("image lacks %s", p)
		}
	}
}

var platformAMD64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// dockerConfig writes a docker config.json with one login and returns its folder.
func dockerConfig(t testing.TB, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func isAuthErr(err error) bool { return errors.Is(err, ErrAuthentication) }
