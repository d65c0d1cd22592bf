package dataset

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// Defaults of UploadOptions.
const (
	DefaultWorkers            = 32
	DefaultMultipartThreshold = 64 << 20
	DefaultPartSize           = 16 << 20
	// metaSHA256 is the user metadata key holding an object's full SHA-256
	// (hex), so a resumed upload can check an object with one HEAD.
	metaSHA256 = "sha256"
)

// Progress receives upload progress. Start is called once with the totals
// to send, Add after each file, Done at the end.
type Progress interface {
	Start(files int, bytes int64)
	Add(files int, bytes int64)
	Done()
}

// UploadOptions say what to upload where.
type UploadOptions struct {
	Dir      string // the data set folder
	Metadata string // the metadata CSV; uploaded as <prefix>/metadata.csv
	To       string // s3://bucket/prefix

	AllowPartial bool // go on without the files that have problems
	Delete       bool // delete remote objects under the prefix that are not in the data set

	Workers            int   // parallel PUTs; default DefaultWorkers
	MultipartThreshold int64 // files at least this big go multipart
	PartSize           int64
	CacheDir           string // hash cache and journals; default the user cache dir
	// Plain uploads the folder as it is (every non-hidden file) without the
	// trainer's rules; for channels that are not drawings + metadata.
	Plain    bool
	Check    Checker // overrides TrainerRules when not nil
	Progress Progress
	// S3Options tune the S3 client (tests count requests with them).
	S3Options []func(*s3.Options)
}

// UploadResult says what Upload did.
type UploadResult struct {
	URI           string    `json:"uri"` // s3://bucket/prefix/, the training channel
	ManifestURI   string    `json:"manifest_uri"`
	Files         int       `json:"files"` // in the data set (metadata included)
	Bytes         int64     `json:"bytes"`
	Uploaded      int       `json:"uploaded"` // files sent by this run
	UploadedBytes int64     `json:"uploaded_bytes"`
	Skipped       int       `json:"skipped"`  // already there with the same content
	Verified      int       `json:"verified"` // of Skipped, checked by HEAD (resume)
	Deleted       int       `json:"deleted"`
	Extra         int       `json:"extra_remote_objects"` // remote objects not in the set, kept (no --delete)
	Unchanged     bool      `json:"unchanged"`            // the remote manifest already matched
	Problems      []Problem `json:"problems,omitempty"`
	Warnings      []Problem `json:"warnings,omitempty"`
	Excluded      []string  `json:"excluded,omitempty"`
	Seconds       float64   `json:"seconds"`
}

// ProblemsError is returned when the data set has problems and
// AllowPartial is off. It lists every problem.
type ProblemsError struct{ Problems []Problem }

func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the data set has %d problem(s); nothing was uploaded:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.String())
	}
	b.WriteString("\n(fix: correct them, or pass --allow-partial to upload without the bad files)")
	return b.String()
}

// Is makes ProblemsError a configuration error.
func (e *ProblemsError) Is(target error) bool {
	return target == errs.ErrConfiguration || target == errs.ErrSagetrain
}

type payloadHashKey struct{}

// unsignedPayload tells SigV4 not to hash the body. The body is still
// protected: x-amz-checksum-sha256 (a signed header) carries its SHA-256 and
// the server rejects a body that does not match. Without this, the SDK reads
// every file once more to sign it, and the server hashes it twice.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// presetPayloadHash gives SigV4 a payload hash set in the context (see
// unsignedPayload), so the SDK does not compute one.
var presetPayloadHash = middleware.FinalizeMiddlewareFunc("sagetrainPresetPayloadHash",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if h, ok := ctx.Value(payloadHashKey{}).(string); ok && h != "" {
			ctx = v4.SetPayloadHash(ctx, h)
		}
		return next.HandleFinalize(ctx, in)
	})

func addPresetPayloadHash(st *middleware.Stack) error {
	return st.Finalize.Add(presetPayloadHash, middleware.Before)
}

// Upload scans opts.Dir, reports its problems, and uploads what changed to
// opts.To, writing the manifest last.
func Upload(ctx context.Context, cfg aws.Config, opts UploadOptions) (*UploadResult, error) {
	start := time.Now()
	loc, err := ParseS3URI(opts.To)
	if err != nil {
		return nil, err
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MultipartThreshold <= 0 {
		opts.MultipartThreshold = DefaultMultipartThreshold
	}
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		// Keep a connection per worker: with the SDK's default of 10 idle
		// connections per host, the other workers would dial for every file.
		// WithTransportOptions copies the client, keeping its TLS settings.
		cfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
			if tr.MaxIdleConnsPerHost < opts.Workers {
				tr.MaxIdleConnsPerHost = opts.Workers
			}
			if tr.MaxIdleConns != 0 && tr.MaxIdleConns < 2*opts.Workers {
				tr.MaxIdleConns = 2 * opts.Workers
			}
		})
	}
	client := awssetup.NewS3Client(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, addPresetPayloadHash)
	}}, opts.S3Options...)...)
	u := &uploader{client: client, loc: loc, opts: opts}

	// The remote manifest and the hash cache are read while the folder is
	// scanned: an unchanged data set then costs about the longest of the three.
	type fetched struct {
		m   *Manifest
		err error
	}
	mctx, mcancel := context.WithCancel(ctx)
	defer mcancel()
	manifestCh := make(chan fetched, 1)
	go func() {
		m, err := u.remoteManifest(mctx)
		manifestCh <- fetched{m, err}
	}()
	cacheCh := make(chan *hashCache, 1)
	go func() { cacheCh <- loadHashCache(cacheDir(opts.CacheDir), opts.Dir) }()

	check := opts.Check
	if check == nil && !opts.Plain {
		check = TrainerRules
	}
	scan, err := Scan(opts.Dir, opts.Metadata, check)
	cache := <-cacheCh
	u.cache = cache
	defer func() { _ = cache.save() }() // an optimisation: failing to save it is not an error
	if err != nil {
		return nil, err
	}
	if !opts.Plain {
		ok, problems, err := verifyImages(ctx, scan.Files, cache)
		if err != nil {
			return nil, err
		}
		for _, p := range problems {
			scan.Excluded = append(scan.Excluded, p.File)
		}
		scan.Files, scan.Problems = ok, append(scan.Problems, problems...)
	}
	res := &UploadResult{URI: loc.URI(), ManifestURI: "s3://" + loc.Bucket + "/" + loc.Key(ManifestKey),
		Problems: scan.Problems, Warnings: scan.Warnings, Excluded: scan.Excluded}
	if len(scan.Problems) > 0 && !opts.AllowPartial {
		return res, &ProblemsError{Problems: scan.Problems}
	}
	if opts.AllowPartial && len(scan.Problems) > 0 {
		tmpDir, err := os.MkdirTemp("", "sagetrain-partial-")
		if err != nil {
			return res, errs.Configuration("cannot write the partial metadata file", "check the temporary folder", err)
		}
		defer os.RemoveAll(tmpDir)
		if err := partialMetadata(scan, tmpDir); err != nil {
			return res, err
		}
	}
	if len(scan.Files) == 0 {
		return res, errs.Configuration(fmt.Sprintf("the data set folder %s holds no files to upload", opts.Dir),
			"check the folder and the metadata file", nil)
	}
	local, err := buildManifest(ctx, scan.Files, cache)
	if err != nil {
		return res, err
	}
	res.Files, res.Bytes = len(local.Files), local.TotalSize

	got := <-manifestCh
	remote, err := got.m, got.err
	if err != nil {
		return res, err
	}
	if !opts.Delete && remote.SameFiles(local) {
		res.Unchanged = true
		res.Skipped = len(local.Files)
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}

	listed, err := u.list(ctx)
	if err != nil {
		return res, err
	}
	journal, err := openJournal(cacheDir(opts.CacheDir), opts.Dir, loc)
	if err != nil {
		return res, err
	}
	defer journal.Close()
	known := remote.Lookup()
	for p, e := range journal.done {
		known[p] = e
	}
	byRel := map[string]File{}
	for _, f := range scan.Files {
		byRel[f.Rel] = f
	}
	var send, verify []Entry
	for _, e := range local.Files {
		size, there := listed[e.Path]
		switch {
		case there && size == e.Size && known[e.Path] == e:
			res.Skipped++
		case there && size == e.Size:
			verify = append(verify, e)
		default:
			send = append(send, e)
		}
	}
	// Same size but unknown content (an interrupted run without journal):
	// one HEAD each tells whether the object already holds these bytes.
	if len(verify) > 0 {
		same, err := u.verify(ctx, verify)
		if err != nil {
			return res, err
		}
		for i, e := range verify {
			if same[i] {
				res.Skipped++
				res.Verified++
			} else {
				send = append(send, e)
			}
		}
	}

	var total int64
	for _, e := range send {
		total += e.Size
	}
	if opts.Progress != nil {
		opts.Progress.Start(len(send), total)
		defer opts.Progress.Done()
	}
	var sent atomic.Int64
	var sentFiles atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for _, e := range send {
		if gctx.Err() != nil {
			break
		}
		f := byRel[e.Path]
		g.Go(func() error {
			if err := u.put(gctx, f, e); err != nil {
				return err
			}
			journal.Add(e)
			sent.Add(e.Size)
			sentFiles.Add(1)
			if opts.Progress != nil {
				opts.Progress.Add(1, e.Size)
			}
			return nil
		})
	}
	err = g.Wait()
	res.Uploaded, res.UploadedBytes = int(sentFiles.Load()), sent.Load()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return res, errs.Configuration(fmt.Sprintf("upload interrupted after %d of %d files", res.Uploaded, len(send)),
				"run the same command again: it resumes where it stopped", err)
		}
		return res, err
	}

	extra := []string{}
	for p := range listed {
		if p == ManifestKey {
			continue
		}
		if _, ok := byRel[p]; !ok {
			extra = append(extra, p)
		}
	}
	if opts.Delete {
		n, err := u.deleteKeys(ctx, extra)
		res.Deleted = n
		if err != nil {
			return res, err
		}
	} else {
		res.Extra = len(extra)
	}
	if err := u.putManifest(ctx, local); err != nil {
		return res, err
	}
	journal.Finish()
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

type uploader struct {
	client *s3.Client
	loc    S3Location
	opts   UploadOptions
	mpOnce sync.Once
	mp     *transfermanager.Client
	cache  *hashCache // nil in FetchManifest
}

func (u *uploader) remoteManifest(ctx context.Context) (*Manifest, error) {
	out, err := u.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &u.loc.Bucket, Key: aws.String(u.loc.Key(ManifestKey))})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) || awssetup.APIErrorCode(err) == "NoSuchKey" || awssetup.APIErrorCode(err) == "NotFound" {
			return nil, nil
		}
		return nil, awssetup.Explain(err, "read the remote manifest s3://"+u.loc.Bucket+"/"+u.loc.Key(ManifestKey))
	}
	defer out.Body.Close()
	var m Manifest
	if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
		return nil, nil // unreadable: fall back to listing
	}
	return &m, nil
}

// list returns the sizes of the objects under the prefix, by relative path.
func (u *uploader) list(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(u.client, &s3.ListObjectsV2Input{Bucket: &u.loc.Bucket, Prefix: aws.String(u.loc.ListPrefix())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awssetup.Explain(err, "list s3://"+u.loc.Bucket+"/"+u.loc.ListPrefix())
		}
		for _, o := range page.Contents {
			out[u.loc.Rel(aws.ToString(o.Key))] = aws.ToInt64(o.Size)
		}
	}
	return out, nil
}

// verify HEADs each entry's object and reports whether it holds the same
// SHA-256 (from our metadata, else the object's stored checksum).
func (u *uploader) verify(ctx context.Context, entries []Entry) ([]bool, error) {
	same := make([]bool, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.opts.Workers)
	for i, e := range entries {
		g.Go(func() error {
			out, err := u.client.HeadObject(gctx, &s3.HeadObjectInput{Bucket: &u.loc.Bucket, Key: aws.String(u.loc.Key(e.Path)),
				ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				if awssetup.APIErrorCode(err) == "NotFound" || awssetup.APIErrorCode(err) == "NoSuchKey" {
					return nil
				}
				return awssetup.Explain(err, "check s3://"+u.loc.Bucket+"/"+u.loc.Key(e.Path))
			}
			if h := out.Metadata[metaSHA256]; h != "" {
				same[i] = h == e.SHA256
			} else if c := aws.ToString(out.ChecksumSHA256); c != "" {
				same[i] = c == b64(e.SHA256)
			}
			return nil
		})
	}
	return same, g.Wait()
}

func b64(hexSum string) string {
	raw, _ := hex.DecodeString(hexSum)
	return base64.StdEncoding.EncodeToString(raw)
}

func (u *uploader) put(ctx context.Context, f File, e Entry) error {
	fh, err := os.Open(f.Abs)
	if err != nil {
		return errs.Configuration("cannot open "+f.Abs, "check the file's permissions", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || st.Size() != e.Size || !st.ModTime().Equal(f.ModTime) {
		return errs.Configuration(f.Abs+" changed after it was scanned", "wait until nothing writes to the data set, then upload again", err)
	}
	key := u.loc.Key(e.Path)
	ctype := ""
	if f.IsMetadata {
		ctype = "text/csv"
		if strings.HasSuffix(e.Path, ".json") {
			ctype = "application/json"
		}
	}
	if e.Size >= u.opts.MultipartThreshold {
		return u.putMultipart(ctx, fh, key, e, ctype)
	}
	in := &s3.PutObjectInput{
		Bucket:         &u.loc.Bucket,
		Key:            &key,
		Body:           fh,
		ContentLength:  aws.Int64(e.Size),
		ChecksumSHA256: aws.String(b64(e.SHA256)), // the server checks the bytes against it
		Metadata:       map[string]string{metaSHA256: e.SHA256},
	}
	if ctype != "" {
		in.ContentType = &ctype
	}
	out, err := u.client.PutObject(context.WithValue(ctx, payloadHashKey{}, unsignedPayload), in)
	if err != nil {
		return u.explainPut(err, f, "s3://"+u.loc.Bucket+"/"+key)
	}
	if c := aws.ToString(out.ChecksumSHA256); c != "" && c != b64(e.SHA256) {
		return errs.Configuration(fmt.Sprintf("s3://%s/%s was stored with another SHA-256 than %s", u.loc.Bucket, key, f.Abs),
			"upload again; if it persists, the S3 endpoint corrupts data", nil)
	}
	return nil
}

func (u *uploader) putMultipart(ctx context.Context, fh *os.File, key string, e Entry, ctype string) error {
	u.mpOnce.Do(func() {
		u.mp = transfermanager.New(u.client, func(o *transfermanager.Options) {
			o.PartSizeBytes = u.opts.PartSize
			o.MultipartUploadThreshold = u.opts.MultipartThreshold // the file is past it: always parts
			o.Concurrency = 4
		})
	})
	in := &transfermanager.UploadObjectInput{
		Bucket:            &u.loc.Bucket,
		Key:               &key,
		Body:              fh,
		ChecksumAlgorithm: tmtypes.ChecksumAlgorithmSha256, // per part, checked by the server
		Metadata:          map[string]string{metaSHA256: e.SHA256},
	}
	if ctype != "" {
		in.ContentType = &ctype
	}
	if _, err := u.mp.UploadObject(ctx, in); err != nil {
		return u.explainPut(err, File{Rel: e.Path, Abs: fh.Name()}, "s3://"+u.loc.Bucket+"/"+key)
	}
	return nil
}

func (u *uploader) explainPut(err error, f File, remote string) error {
	switch awssetup.APIErrorCode(err) {
	case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
		if u.cache != nil {
			u.cache.forget(f) // hash it afresh next time
		}
		return errs.Configuration(fmt.Sprintf("the server rejected %s: its bytes do not match their SHA-256", remote),
			f.Abs+" probably changed during the upload; upload again", err)
	}
	return awssetup.Explain(err, "upload "+f.Abs+" to "+remote)
}

func (u *uploader) deleteKeys(ctx context.Context, rels []string) (int, error) {
	n := 0
	for len(rels) > 0 {
		batch := rels[:min(1000, len(rels))]
		rels = rels[len(batch):]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, r := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(u.loc.Key(r))}
		}
		out, err := u.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &u.loc.Bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return n, awssetup.Explain(err, "delete objects no longer in the data set")
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return n, errs.Configuration(fmt.Sprintf("cannot delete s3://%s/%s: %s", u.loc.Bucket, aws.ToString(e.Key), aws.ToString(e.Message)),
				"grant s3:DeleteObject on the prefix, or upload without --delete", nil)
		}
		n += len(batch)
	}
	return n, nil
}

func (u *uploader) putManifest(ctx context.Context, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	_, err = u.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:            &u.loc.Bucket,
		Key:               aws.String(u.loc.Key(ManifestKey)),
		Body:              bytes.NewReader(b),
		ContentType:       aws.String("application/json"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		return awssetup.Explain(err, "write the manifest s3://"+u.loc.Bucket+"/"+u.loc.Key(ManifestKey))
	}
	return nil
}

// FetchManifest reads the manifest of an uploaded data set (nil, nil when
// there is none).
func FetchManifest(ctx context.Context, cfg aws.Config, uri string) (*Manifest, error) {
	loc, err := ParseS3URI(uri)
	if err != nil {
		return nil, err
	}
	u := &uploader{client: awssetup.NewS3Client(cfg), loc: loc}
	return u.remoteManifest(ctx)
}

var _ io.Reader = (*os.File)(nil)
