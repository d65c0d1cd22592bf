package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// The registry only knows the user and password of moto's ECR token: a
// push without them is refused as an authentication failure, the push that
// logs in through ECR's GetAuthorizationToken gets in, creates the
// repository in ECR (scan on push) and returns repo@digest.
func TestECR(t *testing.T) {
	// The SDK must keep working with a custom CA bundle set, as on
	// corporate machines (a hand-made HTTP client would break config loading).
	ca, err := filepath.Abs("basefs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", ca)
	moto := testpeer.StartMoto(t)             // one moto for all: it is slow to start
	reg := testpeer.StartECRRegistry(t, moto) // also points the SDK at moto
	img := defaultFixture(t)
	t.Run("TokenAuth", func(t *testing.T) { testPushWithECRTokenAuth(t, reg, img) })
	t.Run("NoCreateAndErrors", func(t *testing.T) { testPushECRNoCreateAndErrors(t, reg, img) })
	t.Run("URIAccountAndRegion", func(t *testing.T) { testPushECRURIUsesAccountAndRegionOfURI(t, img) })
}

func testPushWithECRTokenAuth(t *testing.T, reg *testpeer.Registry, img v1.Image) {
	ctx := context.Background()
	uri := reg.Host + "/drawings/trainer:v1"

	_, err := RegistryPublisher{Ref: uri, Auth: authn.Anonymous}.Publish(ctx, img)
	if !errors.Is(err, ErrAuthentication) || !errors.Is(err, errs.ErrContainer) {
		t.Fatalf("anonymous push: %v, want an authentication container error", err)
	}
	_, err = RegistryPublisher{Ref: uri, Auth: &authn.Basic{Username: "AWS", Password: "wrong"}}.Publish(ctx, img)
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("wrong password: %v", err)
	}

	res, err := PushECR(ctx, img, uri, ECROptions{ECRAuth: true, ImmutableTags: true})
	if err != nil {
		t.Fatalf("push with ECR credentials: %v", err)
	}
	want := reg.Host + "/drawings/trainer@" + digestOf(t, img)
	if res.Reference != want || !res.RepositoryCreated || !res.ECR {
		t.Fatalf("result %+v, want reference %s and a created repository", res, want)
	}
	size, _ := Size(img)
	if res.SizeBytes != size || size <= 0 {
		t.Fatalf("size %d, want %d", res.SizeBytes, size)
	}

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := ecr.NewFromConfig(cfg).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"drawings/trainer"}})
	if err != nil || len(repos.Repositories) != 1 {
		t.Fatalf("repository not in ECR: %v", err)
	}
	r := repos.Repositories[0]
	if r.ImageScanningConfiguration == nil || !r.ImageScanningConfiguration.ScanOnPush || r.ImageTagMutability != "IMMUTABLE" {
		t.Fatalf("repository settings: scan %+v mutability %s", r.ImageScanningConfiguration, r.ImageTagMutability)
	}

	// A second push finds the repository and creates nothing.
	res2, err := PushECR(ctx, img, uri, ECROptions{ECRAuth: true})
	if err != nil || res2.RepositoryCreated || res2.Digest != res.Digest {
		t.Fatalf("second push: %+v %v", res2, err)
	}

	// What was pushed is what comes back, by digest and by tag.
	auth := &authn.Basic{Username: reg.Username, Password: reg.Password}
	for _, ref := range []string{res.Reference, uri} {
		got, err := LoadImage(ctx, ref, LoadOptions{Keychain: staticKeychain{auth}})
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if digestOf(t, got) != res.Digest {
			t.Fatalf("pulled %s has digest %s, pushed %s", ref, digestOf(t, got), res.Digest)
		}
	}
}

func testPushECRNoCreateAndErrors(t *testing.T, reg *testpeer.Registry, img v1.Image) {
	ctx := context.Background()

	_, err := PushECR(ctx, img, reg.Host+"/missing/repo", ECROptions{ECRAuth: true, NoCreate: true})
	if !errors.Is(err, ErrNoRepository) {
		t.Fatalf("push to a missing repository with NoCreate: %v", err)
	}

	// Nothing listens on this port: a network error, not an auth one.
	dead := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	_, err = RegistryPublisher{Ref: dead + "/x/y:1"}.Publish(ctx, img)
	if !errors.Is(err, ErrNetwork) || errors.Is(err, ErrAuthentication) {
		t.Fatalf("push to a closed port: %v", err)
	}

	// Without a tag the image is pushed by digest alone and still pinned.
	res, err := PushECR(ctx, img, reg.Host+"/untagged/repo", ECROptions{ECRAuth: true})
	if err != nil || !strings.HasSuffix(res.Reference, "@"+res.Digest) {
		t.Fatalf("untagged push: %+v %v", res, err)
	}
	repo, err := name.NewRepository(reg.Host + "/untagged/repo")
	if err != nil {
		t.Fatal(err)
	}
	basic := remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})
	if _, err := remote.Head(repo.Digest(res.Digest), basic); err != nil {
		t.Fatalf("the untagged image is not in the registry: %v", err)
	}
	// distribution answers NAME_UNKNOWN for a repository without tags
	if tags, err := remote.List(repo, basic); len(tags) != 0 {
		t.Fatalf("untagged push left tags %v (%v)", tags, err)
	}

	if h, ok := ParseECRHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com"); !ok || h.Account != "123456789012" || h.Region != "eu-west-1" {
		t.Fatalf("ParseECRHost: %+v %v", h, ok)
	}
	if h, ok := ParseECRHost("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"); !ok || !h.FIPS || h.Region != "us-gov-west-1" {
		t.Fatalf("ParseECRHost fips: %+v %v", h, ok)
	}
	if _, ok := ParseECRHost("127.0.0.1:5000"); ok {
		t.Fatal("a local registry taken for ECR")
	}
}

// A real ECR URI sends GetAuthorizationToken for the URI's account in the
// URI's region (cross-account), to the ECR API endpoint moto stands in for.
func testPushECRURIUsesAccountAndRegionOfURI(t *testing.T, img v1.Image) {
	var mu sync.Mutex
	var regions []string
	load := func(ctx context.Context, region string) (aws.Config, error) {
		mu.Lock()
		regions = append(regions, region)
		mu.Unlock()
		return config.LoadDefaultConfig(ctx, config.WithRegion(region))
	}
	// The registry itself is refused by the transport: ECR auth and the
	// repository must succeed first, then the push fails on the network.
	uri := "210987654321.dkr.ecr.eu-west-3.amazonaws.com/team/trainer:1"
	tr := &refuseTransport{}
	if !IsECRReference(uri) || IsECRReference("127.0.0.1:5000/team/trainer:1") {
		t.Fatal("IsECRReference")
	}
	_, err := ECRPublisher{URI: uri, Options: ECROptions{LoadAWSConfig: load, Transport: tr}}.Publish(context.Background(), img)
	if err == nil || !errors.Is(err, ErrNetwork) {
		t.Fatalf("push to unreachable ECR host: %v", err)
	}
	if len(regions) != 1 || regions[0] != "eu-west-3" {
		t.Fatalf("AWS config loaded for regions %v, want [eu-west-3]", regions)
	}
	cfg, _ := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-3"))
	out, err := ecr.NewFromConfig(cfg).DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{
		RegistryId: aws.String("210987654321"), RepositoryNames: []string{"team/trainer"}})
	if err != nil || len(out.Repositories) != 1 || aws.ToString(out.Repositories[0].RegistryId) != "210987654321" {
		t.Fatalf("repository not created in account 210987654321/eu-west-3: %v", err)
	}
	if tr.hosts.Load() == 0 {
		t.Fatal("the push never tried the registry")
	}
}

// refuseTransport fails every request as a refused connection would.
type refuseTransport struct{ hosts atomic.Int32 }

func (r *refuseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.hosts.Add(1)
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// A push that dies part-way leaves some blobs in the registry; the next push
// uploads only the others.
func TestPushResumesAfterInterruptedUpload(t *testing.T) {
	t.Parallel()
	reg := testpeer.StartRegistry(t, testpeer.RegistryOptions{})
	img := buildFixture(t, BuildOptions{Adds: []Add{{Src: filepath.Join(fixtureDir(t), "go.mod"), Dst: "/opt/go.mod"}}})
	layers, _ := img.Layers()
	blobs := len(layers) + 1 // and the config
	ctx := context.Background()
	ref := reg.Host + "/resume/trainer:1"

	// The trainer layer's upload breaks when it is being committed, after
	// the other blobs went through.
	big, _ := layers[1].Digest()
	first := &countingTransport{failDigest: big.String(), othersDone: int32(blobs - 1)}
	_, err := RegistryPublisher{Ref: ref, Transport: first}.Publish(ctx, img)
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("the interrupted push: %v", err)
	}
	if got := int(first.committed.Load()); got != blobs-1 {
		t.Fatalf("first push committed %d of %d blobs", got, blobs)
	}
	if ok, err := blobExists(ctx, reg.Host+"/resume/trainer", big); ok || err != nil {
		t.Fatalf("the interrupted blob is in the registry (%v)", err)
	}

	second := &countingTransport{}
	res, err := RegistryPublisher{Ref: ref, Transport: second}.Publish(ctx, img)
	if err != nil {
		t.Fatalf("resumed push: %v", err)
	}
	if got := second.committed.Load(); got != 1 || second.started.Load() != 1 {
		t.Fatalf("resumed push started %d and committed %d uploads, want 1 (%d blobs were already there)", second.started.Load(), got, blobs-1)
	}
	if ok, err := blobExists(ctx, reg.Host+"/resume/trainer", big); !ok {
		t.Fatalf("the resumed push did not upload the missing blob (%v)", err)
	}
	if res.Digest != digestOf(t, img) {
		t.Fatalf("digest %s", res.Digest)
	}
	// A third push uploads nothing at all.
	third := &countingTransport{}
	if _, err := (RegistryPublisher{Ref: ref, Transport: third}).Publish(ctx, img); err != nil || third.started.Load() != 0 {
		t.Fatalf("repeat push started %d uploads (%v)", third.started.Load(), err)
	}
}

// blobExists asks the (unauthenticated) registry with a plain HEAD.
func blobExists(ctx context.Context, repo string, h v1.Hash) (bool, error) {
	host, path, _ := strings.Cut(repo, "/")
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+host+"/v2/"+path+"/blobs/"+h.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// countingTransport counts blob uploads started (POST .../blobs/uploads/)
// and committed (PUT ...?digest= answered 201). When failDigest is set, the
// commit of that blob waits for othersDone commits, then fails.
type countingTransport struct {
	failDigest         string
	othersDone         int32
	started, committed atomic.Int32
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/blobs/uploads/") {
		c.started.Add(1)
	}
	isCommit := req.Method == http.MethodPut && req.URL.Query().Get("digest") != ""
	if isCommit && c.failDigest != "" && req.URL.Query().Get("digest") == c.failDigest {
		deadline := time.Now().Add(30 * time.Second)
		for c.committed.Load() < c.othersDone && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return nil, errors.New("injected: upload interrupted")
	}
	resp, err := remote.DefaultTransport.RoundTrip(req)
	if err == nil && isCommit && resp.StatusCode == http.StatusCreated {
		c.committed.Add(1)
	}
	return resp, err
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
