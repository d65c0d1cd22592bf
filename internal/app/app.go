package app

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	smbackend "github.com/sagetrain/sagetrain/internal/backend/sagemaker"
	"github.com/sagetrain/sagetrain/internal/dataset"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/storeopen"
)

// EnvLocalRoot moves the local backend's job folders.
const EnvLocalRoot = "SAGETRAIN_LOCAL_ROOT"

// Options says how to put the program together. The zero value is what a
// one-shot command on this machine wants, minus the refresh cache and the
// uploader.
type Options struct {
	DB           string           // --db: a SQLite path, sqlite://PATH or postgres://; "" = $SAGETRAIN_DB, else the default file
	LocalRoot    string           // local job folders; "" = $SAGETRAIN_LOCAL_ROOT, else DataDir/local-jobs
	ArtifactRoot string           // unpacked artifacts; "" = next to the SQLite file, else DataDir/artifacts
	AWS          awssetup.Options // profile and region for everything that touches AWS

	// CheckCredentials, when > 0, retrieves the AWS credentials within it
	// and turns SageMaker off if that fails (serve: no wait on instance
	// metadata at start).
	CheckCredentials time.Duration
	// AWSAPIOptions are added to the AWS configuration (serve's metrics).
	AWSAPIOptions []func(*middleware.Stack) error
	// RefreshCache keeps SageMaker's refresh state in a file in DataDir, so
	// each one-shot command lists live jobs instead of describing them all.
	RefreshCache bool
	// Upload lets the service upload a local data set for a SageMaker job.
	Upload bool
	// Precheck checks a SageMaker job's S3 input, role and image at submit,
	// before anything is recorded or billed.
	Precheck bool
	// Jobs are the service's own settings (poll interval, lease TTL, owner);
	// Backends, ArtifactRoot and Uploader are filled in by Open.
	Jobs jobs.Options
}

// App is the program, put together.
type App struct {
	Store    store.Store
	Location storeopen.Location // where the store is (the SQLite file, or PostgreSQL)
	Jobs     *jobs.Service
	Backends map[string]backend.Backend
	Local    *local.Backend

	AWS    aws.Config // valid when AWSErr is nil
	AWSErr error      // why SageMaker is off, if it is

	DataDir      string // the user's sagetrain data folder
	LocalRoot    string
	ArtifactRoot string
}

// Open opens the store, the backends and the service. AWS is optional:
// without it local jobs work and AWSErr says why SageMaker is off.
func Open(ctx context.Context, o Options) (*App, error) {
	st, loc, err := storeopen.OpenLocation(ctx, o.DB)
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, Location: loc, DataDir: local.DataDir()}
	a.LocalRoot = firstOf(o.LocalRoot, os.Getenv(EnvLocalRoot), local.DefaultRoot())
	if a.Local, err = local.New(local.Options{Root: a.LocalRoot}); err != nil {
		st.Close()
		return nil, err
	}
	a.Backends = map[string]backend.Backend{"local": a.Local}

	a.AWS, a.AWSErr = loadAWS(ctx, o)
	var uploader func(ctx context.Context, dir, metadata, prefix string) (string, error)
	if a.AWSErr == nil {
		a.AWS.APIOptions = append(a.AWS.APIOptions, o.AWSAPIOptions...)
		var smo smbackend.Options
		if o.RefreshCache {
			smo.CachePath = filepath.Join(a.DataDir, "sagemaker-refresh-cache.json")
		}
		a.Backends["sagemaker"] = smbackend.New(a.AWS, smo)
		if o.Upload {
			cfg := a.AWS
			// A SageMaker job with a local data set: upload it
			// (incrementally, with its manifest) next to the job's output.
			uploader = func(ctx context.Context, dir, metadata, prefix string) (string, error) {
				res, err := dataset.Upload(ctx, cfg, dataset.UploadOptions{Dir: dir, Metadata: metadata, To: prefix})
				if err != nil {
					return "", err
				}
				return res.URI, nil
			}
		}
	}

	a.ArtifactRoot = o.ArtifactRoot
	if a.ArtifactRoot == "" {
		a.ArtifactRoot = filepath.Join(a.DataDir, "artifacts")
		if !loc.Postgres() { // next to the SQLite file, so one folder holds a whole setup
			a.ArtifactRoot = filepath.Join(filepath.Dir(loc.SQLitePath), "artifacts")
		}
	}
	jo := o.Jobs
	jo.Backends, jo.ArtifactRoot, jo.Uploader = a.Backends, a.ArtifactRoot, uploader
	var cfg *aws.Config // nil: AWS is off
	if a.AWSErr == nil {
		cfg = &a.AWS
		if o.Precheck {
			jo.Precheck = awssetup.SubmitChecks(a.AWS)
		}
	}
	// Provenance (tags pinned to digests, data digests) and prices.
	jo = withProvenance(jo, cfg)
	usePriceList(cfg, st)
	a.Jobs = jobs.New(st, jo)
	return a, nil
}

// Close closes the store.
func (a *App) Close() error { return a.Store.Close() }

func loadAWS(ctx context.Context, o Options) (aws.Config, error) {
	cfg, err := awssetup.LoadConfig(ctx, o.AWS)
	if err != nil || o.CheckCredentials <= 0 {
		return cfg, err
	}
	cctx, cancel := context.WithTimeout(ctx, o.CheckCredentials)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
