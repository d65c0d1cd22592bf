package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/api"
	"github.com/sagetrain/sagetrain/internal/app"
	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/models"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store/storeopen"
)

type serveFlags struct {
	addr          string
	tokenFile     string
	insecure      bool
	reconcile     bool
	poll          time.Duration
	leaseTTL      time.Duration
	localRoot     string
	artifactRoot  string
	secureCookies bool
	bucket        string
	repository    string
	role          string
	prefix        string
	listCache     time.Duration
	dataRoots     []string
	maxJobMemory  string
	webhooks      webhookFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the training service: REST API, dashboard, metrics and the job reconciler",
		Long: `serve runs the REST API under /api/v1/training, the job dashboard at /, /healthz,
/readyz and /metrics, and the reconciler that follows every live job, in one process.

Clients authenticate with bearer tokens from --token-file (one a line) or
SAGETRAIN_API_TOKENS (comma-separated). --insecure-no-auth turns authentication
off and is only accepted on a loopback --addr.

Several serve processes may share one PostgreSQL store (--db postgres://...):
leases in the store hand each live job to one reconciler at a time. Give them a
shared --artifact-root (and --local-root for local jobs) if they run on
different hosts.`,
		Example: `  SAGETRAIN_API_TOKENS=$(openssl rand -hex 32) sagetrain serve --addr 127.0.0.1:8080
  sagetrain serve --db postgres://sagetrain@db/sagetrain --addr 0.0.0.0:8080 --token-file /etc/sagetrain/tokens`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serveRun(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file of API bearer tokens, one a line (also: "+api.TokenEnv+", comma-separated)")
	fl.BoolVar(&f.insecure, "insecure-no-auth", false, "run without authentication (only on a loopback --addr)")
	fl.BoolVar(&f.reconcile, "reconcile", true, "run the job reconciler in this process (false: API only)")
	fl.DurationVar(&f.poll, "poll", jobs.DefaultPollInterval, "time between reconciler passes")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", jobs.DefaultLeaseTTL, "how long a reconciler holds a job before another may take it")
	fl.StringVar(&f.localRoot, "local-root", "", "folder of local jobs (default $SAGETRAIN_LOCAL_ROOT, else the user's data dir)")
	fl.StringVar(&f.artifactRoot, "artifact-root", "", "where completed jobs' artifacts are unpacked (default: next to the SQLite file, or the user's data dir)")
	fl.DurationVar(&f.listCache, "list-cache", api.DefaultListCacheTTL, "serve GET /jobs pages from memory for this long (0: off); this process's own writes clear it, Cache-Control: no-cache bypasses it")
	fl.StringArrayVar(&f.dataRoots, "data-root", nil, "server folder API jobs may read data from (repeatable; also "+api.DataRootsEnv+", colon-separated); without one, API requests cannot name server paths")
	fl.StringVar(&f.maxJobMemory, "max-job-memory", "4GiB", "refuse API jobs whose network is estimated to need more memory than this to train")
	fl.BoolVar(&f.secureCookies, "secure-cookies", false, "mark dashboard cookies Secure (set when serving behind TLS)")
	fl.StringVar(&f.bucket, "bucket", "", "S3 bucket checked by /environments/status and used by /sagemaker/setup by default")
	fl.StringVar(&f.repository, "repository", "sagetrain", "ECR repository checked by /environments/status and used by /sagemaker/setup")
	fl.StringVar(&f.role, "role", awssetup.DefaultRoleName, "execution role name checked by /environments/status and created by /sagemaker/setup")
	fl.StringVar(&f.prefix, "prefix", awssetup.DefaultPrefix, "the root prefix in the bucket, as in setup (data/, output/, checkpoints/ under it)")
	addWebhookFlags(fl, &f.webhooks)
	return cmd
}

func serveRun(cmd *cobra.Command, f serveFlags) error {
	ctx := cmd.Context()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))

	tokens, err := api.LoadTokens(f.tokenFile, os.Getenv(api.TokenEnv))
	if err != nil {
		return err
	}
	switch {
	case f.insecure && len(tokens) > 0:
		return errs.Configuration("--insecure-no-auth was given together with API tokens", "drop --insecure-no-auth, or unset "+api.TokenEnv+" and --token-file", nil)
	case f.insecure:
		if err := api.CheckInsecure(f.addr); err != nil {
			return err
		}
	case len(tokens) == 0:
		return errs.Configuration("no API tokens configured",
			"give tokens with --token-file FILE or "+api.TokenEnv+"=tok1,tok2 (e.g. from `openssl rand -hex 32`), or --insecure-no-auth on a loopback --addr for a local try-out", nil)
	}

	dataRoots, err := api.ResolveDataRoots(f.dataRoots, os.Getenv(api.DataRootsEnv))
	if err != nil {
		return err
	}

	maxMem, err := spec.ParseBytes(f.maxJobMemory)
	if err != nil {
		return errs.Configuration("bad --max-job-memory", "give a size such as 4GiB or 512MiB", err)
	}

	var metrics *api.Metrics // made once the store is open; AWS calls start after
	a, err := app.Open(ctx, app.Options{DB: globals.DB, LocalRoot: f.localRoot, ArtifactRoot: f.artifactRoot,
		CheckCredentials: 5 * time.Second,
		AWSAPIOptions:    []func(*middleware.Stack) error{func(s *middleware.Stack) error { return metrics.AWSAPIOption(s) }},
		Jobs:             jobs.Options{PollInterval: f.poll, LeaseTTL: f.leaseTTL}})
	if err != nil {
		return err
	}
	defer a.Close()
	st, svc, backends, loc := a.Store, a.Jobs, a.Backends, a.Location
	metrics = api.NewMetrics(st)
	sender, senderMetrics, err := newEventSender(st, f.webhooks, log)
	if err != nil {
		return err
	}
	if err := senderMetrics.Register(metrics.Registry()); err != nil {
		return err
	}

	// AWS is optional: without it local jobs work and the SageMaker routes
	// answer 503 with what to do.
	envs := &api.AWSEnvironments{
		Validate: awssetup.Layout{Bucket: f.bucket, Root: f.prefix}.ValidateOptions(f.repository, f.role),
		Role:     awssetup.Layout{Bucket: f.bucket, Root: f.prefix}.RoleOptions(f.role, f.repository),
	}
	ready := map[string]func(context.Context) error{}
	if a.AWSErr != nil {
		log.Info("AWS is not configured: SageMaker jobs are off", "reason", a.AWSErr)
	} else {
		envs.Config = a.AWS
		ready["aws"] = envs.ReadyCheck
		log.Info("AWS configured: SageMaker jobs are on", "region", a.AWS.Region)
	}

	if n := svc.RemovePartial(); n > 0 {
		log.Info("removed artifact folders a killed collection left", "count", n)
	}

	modelSvc, err := models.Open(st, svc.ArtifactRoot())
	if err != nil {
		return err
	}
	handler := api.New(api.Options{Models: modelSvc,
		Jobs: api.FromJobs(svc), Store: st, Environments: envs, Metrics: metrics,
		Tokens: tokens, Insecure: f.insecure, ReadyChecks: ready, Logger: log, SecureCookies: f.secureCookies,
		ListCacheTTL: listCacheTTL(f.listCache), DataRoots: dataRoots, MaxJobMemory: maxMem, ListenAddr: f.addr,
	})
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return errs.Configuration("cannot listen on "+f.addr, "pick a free port with --addr", err)
	}
	handler.SetSweeps(sweepAPI(svc))
	srv := api.NewHTTPServer(f.addr, handler)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	recDone := make(chan struct{})
	if f.reconcile {
		go func() {
			defer close(recDone)
			api.RunReconciler(runCtx, sweepReconciler(svc), f.poll, metrics, log)
		}()
	} else {
		close(recDone)
	}
	sendDone := make(chan struct{})
	go runEventSender(runCtx, sender, sendDone)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	auth := "bearer tokens"
	if f.insecure {
		auth = "none (--insecure-no-auth)"
	}
	if jsonOutput() {
		_ = printJSON(cmd.OutOrStdout(), map[string]any{"url": url, "api": url + api.Prefix, "auth": auth, "store": serveStoreKind(loc), "reconciler": f.reconcile, "owner": svc.Owner(), "backends": serveBackendNames(backends)})
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "sagetrain serving on %s (API %s%s, dashboard %s/, auth: %s, store: %s, backends: %s, reconciler: %v)\n",
			url, url, api.Prefix, url, auth, serveStoreKind(loc), strings.Join(serveBackendNames(backends), ","), f.reconcile)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-srvErr:
	}
	log.Info("shutting down")
	stop()
	shCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(shCtx)
	<-recDone
	<-sendDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return errs.Configuration("the server stopped", "see the error and restart", serveErr)
	}
	return nil
}

func serveStoreKind(loc storeopen.Location) string {
	if loc.Postgres() {
		return "postgres"
	}
	return "sqlite " + loc.SQLitePath
}

func serveBackendNames(m map[string]backend.Backend) []string {
	var out []string
	for _, k := range []string{"local", "sagemaker"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// listCacheTTL maps --list-cache (0 turns it off) to api.Options.ListCacheTTL
// (where 0 means the default and a negative value off).
func listCacheTTL(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
