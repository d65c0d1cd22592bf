package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// opCounter counts S3 operations by name through SDK middleware.
type opCounter struct {
	mu     sync.Mutex
	n      map[string]int
	onCall func(op string) // optional, called before each request
}

func newCounter() *opCounter { return &opCounter{n: map[string]int{}} }

func (c *opCounter) option(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			c.mu.Lock()
			c.n[op]++
			f := c.onCall
			c.mu.Unlock()
			if f != nil {
				f(op)
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
}

func (c *opCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

func (c *opCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = map[string]int{}
}

type env struct {
	cfg    aws.Config
	client *s3.Client
	bucket string
}

func startEnv(t *testing.T) *env {
	t.Helper()
	srv := testpeer.StartS3(t)
	srv.Env(t)
	ctx := context.Background()
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{Connections: 16})
	if err != nil {
		t.Fatal(err)
	}
	c := awssetup.NewS3Client(cfg)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drawings")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return &env{cfg: cfg, client: c, bucket: "drawings"}
}

// makeSet writes n files of random content in sub-folders and a metadata CSV
// outside the folder; it returns the folder and the metadata path.
func makeSet(t *testing.T, n int, minSize, maxSize int) (string, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "set")
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var meta strings.Builder
	meta.WriteString("image_path,age,subject,expert_label\n")
	for i := range n {
		rel := fmt.Sprintf("age%d/d%04d.png", i%5, i)
		writeRandom(t, filepath.Join(dir, rel), r, minSize+r.IntN(maxSize-minSize+1))
		fmt.Fprintf(&meta, "%s,%d,house,\n", rel, 4+i%5)
	}
	mp := filepath.Join(root, "metadata.csv")
	if err := os.WriteFile(mp, []byte(meta.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, mp
}

func writeRandom(t *testing.T, path string, r *rand.Rand, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkRemote downloads every object of the manifest and compares its
// SHA-256 with the local file's.
func checkRemote(t *testing.T, e *env, prefix, dir, metadata string) *Manifest {
	t.Helper()
	ctx := context.Background()
	m, err := FetchManifest(ctx, e.cfg, "s3://"+e.bucket+"/"+prefix)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v %v", m, err)
	}
	for _, f := range m.Files {
		local := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Path == MetadataKey {
			local = metadata
		}
		want, _, err := hashFile(local)
		if err != nil {
			t.Fatal(err)
		}
		if want != f.SHA256 {
			t.Errorf("manifest %s: sha %s, local %s", f.Path, f.SHA256, want)
		}
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &e.bucket, Key: aws.String(prefix + "/" + f.Path)})
		if err != nil {
			t.Fatalf("get %s: %v", f.Path, err)
		}
		h := sha256.New()
		n, _ := io.Copy(h, out.Body)
		out.Body.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != want || n != f.Size {
			t.Errorf("object %s: sha %s size %d, want %s size %d", f.Path, got, n, want, f.Size)
		}
	}
	return m
}

func TestUploadIncremental(t *testing.T) {
	e := startEnv(t)
	dir, meta := makeSet(t, 60, 1000, 40000)
	cache := t.TempDir()
	cnt := newCounter()
	opts := UploadOptions{Dir: dir, Metadata: meta, To: "s3://drawings/sets/v1", CacheDir: cache, Workers: 8, Plain: true,
		S3Options: []func(*s3.Options){cnt.option}}
	ctx := context.Background()

	res, err := Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.URI != "s3://drawings/sets/v1/" || res.Files != 61 || res.Uploaded != 61 || res.Unchanged {
		t.Fatalf("first upload: %+v", res)
	}
	if got := cnt.get("PutObject"); got != 62 { // 61 files + the manifest
		t.Errorf("first upload: %d PutObject, want 62", got)
	}
	m := checkRemote(t, e, "sets/v1", dir, meta)
	if m.Files[0].Path != "age0/d0000.png" || m.Lookup()[MetadataKey].Size == 0 {
		t.Errorf("manifest layout: first %q, metadata %+v", m.Files[0].Path, m.Lookup()[MetadataKey])
	}

	// Unchanged: nothing but the manifest check.
	cnt.reset()
	res, err = Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || res.Uploaded != 0 || cnt.get("PutObject") != 0 || cnt.get("ListObjectsV2") != 0 || cnt.get("GetObject") != 1 {
		t.Fatalf("unchanged re-upload: %+v, ops %v", res, cnt.n)
	}

	// One file changed, one added, one removed: only those two are sent.
	r := rand.New(rand.NewPCG(99, 1))
	writeRandom(t, filepath.Join(dir, "age1/d0001.png"), r, 5000)
	writeRandom(t, filepath.Join(dir, "new/extra.png"), r, 7000)
	if err := os.Remove(filepath.Join(dir, "age2/d0002.png")); err != nil {
		t.Fatal(err)
	}
	cnt.reset()
	res, err = Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 2 || cnt.get("PutObject") != 3 || res.Extra != 1 || res.Deleted != 0 {
		t.Fatalf("changed re-upload: %+v, ops %v", res, cnt.n)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &e.bucket, Key: aws.String("sets/v1/age2/d0002.png")}); err != nil {
		t.Errorf("a removed file's object was deleted without --delete: %v", err)
	}
	checkRemote(t, e, "sets/v1", dir, meta)

	// --delete removes it.
	opts.Delete = true
	res, err = Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || res.Uploaded != 0 {
		t.Fatalf("--delete: %+v", res)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &e.bucket, Key: aws.String("sets/v1/age2/d0002.png")}); err == nil {
		t.Errorf("--delete kept the removed file's object")
	}
}

func TestUploadResumeAfterInterrupt(t *testing.T) {
	e := startEnv(t)
	dir, meta := makeSet(t, 80, 2000, 30000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cnt := newCounter()
	cnt.onCall = func(op string) {
		if op == "PutObject" && cnt.get("PutObject") == 30 {
			cancel()
		}
	}
	for _, tc := range []struct {
		name    string
		journal bool // false: a fresh cache dir, so resume relies on listing + HEAD
	}{{"with journal", true}, {"without journal", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cnt.reset()
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			prefix := "resume/" + strings.ReplaceAll(tc.name, " ", "-")
			cache := t.TempDir()
			opts := UploadOptions{Dir: dir, Metadata: meta, To: "s3://drawings/" + prefix, CacheDir: cache, Workers: 4, Plain: true,
				S3Options: []func(*s3.Options){cnt.option}}
			res, err := Upload(ctx, e.cfg, opts)
			if err == nil || !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "resumes") {
				t.Fatalf("interrupted upload: err %v", err)
			}
			if _, err := FetchManifest(context.Background(), e.cfg, "s3://drawings/"+prefix); err != nil {
				t.Fatal(err)
			}
			if m, _ := FetchManifest(context.Background(), e.cfg, "s3://drawings/"+prefix); m != nil {
				t.Fatalf("a manifest was written by an interrupted upload")
			}
			done := res.Uploaded
			if done == 0 || done >= 81 {
				t.Fatalf("interrupted after %d files", done)
			}
			if !tc.journal {
				opts.CacheDir = t.TempDir()
			}
			cnt.reset()
			res, err = Upload(context.Background(), e.cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Uploaded+res.Skipped != 81 || res.Skipped < done {
				t.Fatalf("resume: %+v (first run sent %d)", res, done)
			}
			if got := cnt.get("PutObject"); got != 81-res.Skipped+1 {
				t.Errorf("resume sent %d PutObject, want %d", got, 81-res.Skipped+1)
			}
			// Only the PUTs in flight at the interruption are unknown to the journal.
			if tc.journal && res.Verified > opts.Workers {
				t.Errorf("with a journal, resume should HEAD at most the %d objects in flight: verified %d", opts.Workers, res.Verified)
			}
			if !tc.journal && (res.Verified < done || cnt.get("HeadObject") == 0) {
				t.Errorf("without a journal, resume should verify the sent objects by HEAD: %+v", res)
			}
			checkRemote(t, e, prefix, dir, meta)
		})
	}
}

func TestUploadReportsProblemsFirst(t *testing.T) {
	e := startEnv(t)
	dir, meta := makeSet(t, 10, 100, 1000)
	for _, bad := range []string{"age0/empty.png", "age3/empty2.png"} {
		if err := os.WriteFile(filepath.Join(dir, bad), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	opts := UploadOptions{Dir: dir, Metadata: meta, To: "s3://drawings/p", CacheDir: t.TempDir(), Plain: true}
	_, err := Upload(ctx, e.cfg, opts)
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 || !errors.Is(err, errs.ErrConfiguration) ||
		!strings.Contains(err.Error(), "age0/empty.png") || !strings.Contains(err.Error(), "age3/empty2.png") {
		t.Fatalf("want both problems reported, got %v", err)
	}
	list, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &e.bucket})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("bytes were sent despite problems: %v %d", err, len(list.Contents))
	}
	opts.AllowPartial = true
	res, err := Upload(ctx, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 11 || len(res.Excluded) != 2 {
		t.Fatalf("--allow-partial: %+v", res)
	}
	m := checkRemote(t, e, "p", dir, meta)
	if _, ok := m.Lookup()["age0/empty.png"]; ok {
		t.Errorf("an excluded file is in the manifest")
	}
}

func TestUploadMultipart(t *testing.T) {
	e := startEnv(t)
	root := t.TempDir()
	dir := filepath.Join(root, "set")
	r := rand.New(rand.NewPCG(5, 5))
	writeRandom(t, filepath.Join(dir, "embeddings.npy"), r, 12<<20+123)
	writeRandom(t, filepath.Join(dir, "small/a.png"), r, 3000)
	cnt := newCounter()
	opts := UploadOptions{Dir: dir, To: "s3://drawings/mp", CacheDir: t.TempDir(), MultipartThreshold: 5 << 20, PartSize: 5 << 20, Plain: true,
		S3Options: []func(*s3.Options){cnt.option}}
	res, err := Upload(context.Background(), e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 2 || cnt.get("UploadPart") != 3 || cnt.get("CompleteMultipartUpload") != 1 {
		t.Fatalf("multipart: %+v ops %v", res, cnt.n)
	}
	checkRemote(t, e, "mp", dir, "")
	// A resume without journal recognises the multipart object by its metadata.
	opts.CacheDir = t.TempDir()
	if _, err := e.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &e.bucket, Key: aws.String("mp/manifest.json")}); err != nil {
		t.Fatal(err)
	}
	cnt.reset()
	res, err = Upload(context.Background(), e.cfg, opts)
	if err != nil || res.Verified != 2 || cnt.get("UploadPart") != 0 {
		t.Fatalf("re-upload without manifest: %+v %v ops %v", res, err, cnt.n)
	}
}

func TestUploadWrongCredentials(t *testing.T) {
	e := startEnv(t)
	dir, meta := makeSet(t, 3, 100, 200)
	const secret = "definitely-not-the-secret"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	cfg, err := awssetup.LoadConfig(context.Background(), awssetup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Upload(context.Background(), cfg, UploadOptions{Dir: dir, Metadata: meta, To: "s3://" + e.bucket + "/x", CacheDir: t.TempDir(), Plain: true})
	if err == nil || !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "secret access key") {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error leaks the secret: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
	cfg, _ = awssetup.LoadConfig(context.Background(), awssetup.Options{})
	_, err = Upload(context.Background(), cfg, UploadOptions{Dir: dir, Metadata: meta, To: "s3://" + e.bucket + "/x", CacheDir: t.TempDir(), Plain: true})
	if err == nil || !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "access key id") {
		t.Fatalf("unknown key: %v", err)
	}
	_, err = Upload(context.Background(), e.cfg, UploadOptions{Dir: dir, Metadata: meta, To: "s3://no-such-bucket/x", CacheDir: t.TempDir(), Plain: true})
	if err == nil || !strings.Contains(err.Error(), "bucket does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
}

// The server checks every body against the SHA-256 we send: bytes that do
// not match what was hashed are refused, not stored.
func TestUploadRejectsBytesThatDoNotMatchTheirChecksum(t *testing.T) {
	e := startEnv(t)
	dir, meta := makeSet(t, 4, 500, 800)
	cache := t.TempDir()
	scan, err := Scan(dir, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A stale cache entry (same size and mtime, other content) stands for a
	// file whose bytes changed between hashing and sending.
	hc := loadHashCache(cache, dir)
	victim := scan.Files[1]
	hc.update(victim, func(ce *cacheEntry) { ce.SHA256 = strings.Repeat("ab", 32) })
	if err := hc.save(); err != nil {
		t.Fatal(err)
	}
	_, err = Upload(context.Background(), e.cfg, UploadOptions{Dir: dir, Metadata: meta, To: "s3://drawings/bad", CacheDir: cache, Plain: true})
	if err == nil || !strings.Contains(err.Error(), "do not match their SHA-256") || !strings.Contains(err.Error(), victim.Rel) {
		t.Fatalf("mismatching bytes: %v", err)
	}
	if _, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &e.bucket, Key: aws.String("bad/" + victim.Rel)}); err == nil {
		t.Error("the server stored bytes that do not match their checksum")
	}
	if m, _ := FetchManifest(context.Background(), e.cfg, "s3://drawings/bad"); m != nil {
		t.Error("a manifest was written after a failed upload")
	}
	// The stale entry was dropped: the next run hashes the file again and succeeds.
	if _, err := Upload(context.Background(), e.cfg, UploadOptions{Dir: dir, Metadata: meta, To: "s3://drawings/bad", CacheDir: cache, Plain: true}); err != nil {
		t.Fatalf("upload after the rejection: %v", err)
	}
	checkRemote(t, e, "bad", dir, meta)
}
