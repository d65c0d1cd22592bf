package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/app"
	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/backend/local"
	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

// jobsEnv is an open store and a service on it, for one command.
type jobsEnv struct {
	svc    *jobs.Service
	st     store.Store
	local  *local.Backend
	awsErr error // why the sagemaker backend is unavailable, if it is
}

func (e *jobsEnv) Close() { _ = e.st.Close() }

// jobsOpen opens the store and builds the service with the local backend
// and, when AWS configuration loads, the SageMaker backend.
func jobsOpen(ctx context.Context) (*jobsEnv, error) {
	a, err := app.Open(ctx, app.Options{DB: globals.DB, RefreshCache: true, Upload: true, Precheck: true,
		AWS: awssetup.Options{Profile: globals.Profile, Region: globals.Region}})
	if err != nil {
		return nil, err
	}
	return &jobsEnv{svc: a.Jobs, st: a.Store, local: a.Local, awsErr: a.AWSErr}, nil
}

// jobsSyncOne is jobsSync for a command about one job: only that job's
// backend is asked about it.
func jobsSyncOne(cmd *cobra.Command, e *jobsEnv, id string) {
	if err := e.svc.ReconcileJob(cmd.Context(), id); err != nil && !errors.Is(err, errs.ErrNotFound) {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: bringing the job's record up to date:", err)
	}
}

// jobsSync brings the records up to date before a command reads them, so
// the CLI is right even with no `serve` running. A failure is reported on
// stderr but does not stop the command: the stored record is still shown.
func jobsSync(cmd *cobra.Command, e *jobsEnv) {
	if err := e.svc.ReconcileOnce(cmd.Context()); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: bringing job records up to date:", err)
	}
	sweepsStep(cmd, e)
}

// jobView is a job as the CLI prints it in JSON.
type jobView struct {
	ID                string       `json:"id"`
	Name              string       `json:"name"`
	RemoteName        string       `json:"remote_name"`
	RemoteARN         string       `json:"remote_arn,omitempty"`
	Backend           string       `json:"backend"`
	Status            store.Status `json:"status"`
	SecondaryStatus   string       `json:"secondary_status,omitempty"`
	StatusMessage     string       `json:"status_message,omitempty"`
	FailureReason     string       `json:"failure_reason,omitempty"`
	CancelRequested   bool         `json:"cancel_requested,omitempty"`
	IdempotencyKey    string       `json:"idempotency_key,omitempty"`
	CreatedAt         time.Time    `json:"created_at"`
	CostUSD           *float64     `json:"cost_usd"` // null for local jobs (see cost.cpu_seconds)
	Cost              *cost.Cost   `json:"cost,omitempty"`
	UpdatedAt         time.Time    `json:"updated_at"`
	StartedAt         *time.Time   `json:"started_at,omitempty"`
	EndedAt           *time.Time   `json:"ended_at,omitempty"`
	BillableSeconds   int64        `json:"billable_seconds"`
	ModelArtifactURI  string       `json:"model_artifact_uri,omitempty"`
	OutputArtifactURI string       `json:"output_artifact_uri,omitempty"`
	ArtifactDir       string       `json:"artifact_dir,omitempty"`
	HasReport         bool         `json:"has_report"`
	Events            []eventView  `json:"events,omitempty"`
}

type eventView struct {
	At              time.Time    `json:"at"`
	Status          store.Status `json:"status"`
	SecondaryStatus string       `json:"secondary_status,omitempty"`
	Message         string       `json:"message,omitempty"`
}

func jobsView(j *store.Job, events []store.Event) jobView {
	v := jobView{ID: j.ID, Name: j.Name, RemoteName: j.RemoteName, RemoteARN: j.RemoteARN, Backend: j.Backend,
		Status: j.Status, SecondaryStatus: j.SecondaryStatus, StatusMessage: j.StatusMessage, FailureReason: j.FailureReason,
		CancelRequested: j.CancelRequested, IdempotencyKey: j.IdempotencyKey, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		StartedAt: j.StartedAt, EndedAt: j.EndedAt, BillableSeconds: j.BillableSeconds, ModelArtifactURI: j.ModelArtifactURI,
		OutputArtifactURI: j.OutputArtifactURI, ArtifactDir: j.ArtifactDir, HasReport: len(j.Report) > 0}
	if c := cost.For(context.Background(), j); c != nil {
		v.Cost, v.CostUSD = c, c.USD
	}
	for _, e := range events {
		v.Events = append(v.Events, eventView{At: e.At, Status: e.Status, SecondaryStatus: e.SecondaryStatus, Message: e.Message})
	}
	return v
}

func jobsPrintJob(w io.Writer, j *store.Job, events []store.Event) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("ID", j.ID)
	row("Name", j.Name)
	row("Remote name", j.RemoteName)
	row("ARN", j.RemoteARN)
	row("Backend", j.Backend)
	status := string(j.Status)
	if j.SecondaryStatus != "" {
		status += " (" + j.SecondaryStatus + ")"
	}
	row("Status", status)
	row("Message", j.StatusMessage)
	row("Failure reason", j.FailureReason)
	if j.CancelRequested {
		row("Cancel", "requested")
	}
	row("Created", j.CreatedAt.Local().Format(time.DateTime))
	if j.StartedAt != nil {
		row("Started", j.StartedAt.Local().Format(time.DateTime))
	}
	if j.EndedAt != nil {
		row("Ended", j.EndedAt.Local().Format(time.DateTime))
	}
	if j.BillableSeconds > 0 {
		row("Billable", fmt.Sprintf("%ds", j.BillableSeconds))
	}
	row("Model", j.ModelArtifactURI)
	row("Output", j.OutputArtifactURI)
	row("Artifacts", j.ArtifactDir)
	tw.Flush()
	if len(events) > 0 {
		fmt.Fprintln(w, "History:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Local().Format("15:04:05.000"), e.Status, e.SecondaryStatus, e.Message)
		}
		tw.Flush()
	}
}

func newSubmitCmd() *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use:   "submit SPEC",
		Short: "Submit a training job described by a YAML or JSON spec",
		Long: `Validate the spec against every SageMaker rule (all violations at once, with
their field paths), record the job, and start it on its backend (local by
default). The job keeps running after this command returns; follow it with
'sagetrain status --watch ID' or 'sagetrain logs -f ID'.

--set overrides any spec field by its name (job_name=x, instance_count=2,
hyperparameters.epochs=20, tags.team=ml). The same --idempotency-key
returns the first job instead of submitting another.`,
		Example: "  sagetrain submit job.yaml\n  sagetrain submit job.yaml --set hyperparameters.epochs=5 --idempotency-key nightly-2026-11-27\n  sagetrain submit job.yaml --wait -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Spec = args[0]
			return runSubmit(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Sets, "set", nil, "override a spec field: key=value (repeatable)")
	f.StringVar(&o.IdempotencyKey, "idempotency-key", "", "submitting again with the same key returns the first job")
	f.StringVar(&o.Backend, "backend", "", "override the spec's backend: local or sagemaker")
	f.BoolVar(&o.Wait, "wait", false, "follow the job until it ends")
	f.Float64Var(&o.MaxCost, "max-cost", 0, "refuse the job if its worst case (max_runtime_seconds x instances x price) exceeds this many USD; without max_runtime_seconds in the spec, set it to what the budget pays for")
	f.BoolVar(&o.RequireDigest, "require-digest", false, "refuse an image_uri given by tag: only repository@sha256:... (a tag is otherwise pinned to its digest at submit)")
	return cmd
}

// submitOptions are submit's argument and flags.
type submitOptions struct {
	Spec           string   // the spec file
	Sets           []string // --set key=value overrides, in order
	IdempotencyKey string
	Backend        string // --backend, applied before the --set overrides
	Wait           bool
	MaxCost        float64 // USD; 0: no limit
	RequireDigest  bool
}

// runSubmit validates the spec, records the job and starts it.
func runSubmit(cmd *cobra.Command, o submitOptions) error {
	sp, err := spec.LoadContext(cmd.Context(), o.Spec)
	if err != nil {
		return err
	}
	sets := o.Sets
	if o.Backend != "" {
		sets = append([]string{"backend=" + o.Backend}, sets...)
	}
	for _, kv := range sets {
		if err := sp.Override(kv); err != nil {
			return err
		}
	}
	// Every violation of the spec comes first, before any question
	// of whether AWS is configured.
	explicitRuntime := sp.MaxRuntimeSeconds != 0
	sp.ApplyDefaults()
	if err := jobs.ValidateSpec(sp); err != nil {
		return err
	}
	e, err := jobsOpen(cmd.Context())
	if err != nil {
		return err
	}
	defer e.Close()
	if o.MaxCost != 0 {
		msg, err := applyMaxCost(cmd.Context(), sp, o.MaxCost, explicitRuntime, awsRegion())
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.ErrOrStderr(), msg)
	}
	if sp.Backend == spec.BackendSageMaker && e.awsErr != nil {
		return e.awsErr
	}
	warn := func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) }
	j, created, err := e.svc.Submit(cmd.Context(), sp, jobs.SubmitOptions{IdempotencyKey: o.IdempotencyKey, Warn: warn, RequireDigest: o.RequireDigest})
	if err != nil && j == nil {
		return err
	}
	if err != nil {
		if err = submitLaunchOutcome(cmd, j, err); err != nil {
			return err
		}
	}
	if o.Wait {
		if j, err = jobsWatch(cmd, e, j.ID, false); err != nil {
			return err
		}
	}
	if jsonOutput() {
		v := jobsView(j, nil)
		return printJSON(cmd.OutOrStdout(), struct {
			jobView
			Created bool `json:"created"`
		}{v, created})
	}
	w := cmd.OutOrStdout()
	if created {
		fmt.Fprintf(w, "submitted job %s (%s) on %s: %s\n", j.ID, j.RemoteName, j.Backend, j.Status)
	} else {
		fmt.Fprintf(w, "idempotency key %q already used: job %s (%s) is %s\n", o.IdempotencyKey, j.ID, j.RemoteName, j.Status)
	}
	if !o.Wait {
		fmt.Fprintf(w, "follow it: sagetrain status --watch %s\n", j.ID)
	}
	return jobsEndErr(j, o.Wait)
}

// jobsEndErr makes a waited-for job that did not complete a failing command.
func jobsEndErr(j *store.Job, waited bool) error {
	if !waited || j.Status == store.StatusCompleted {
		return nil
	}
	if j.Status == store.StatusFailed {
		return errs.Job("job "+j.ID+" failed: "+j.FailureReason, "see 'sagetrain logs "+j.ID+"'", nil)
	}
	if j.Status == store.StatusStopped {
		return errs.Job("job "+j.ID+" was stopped", "submit it again to retrain", nil)
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:     "status ID",
		Short:   "Show a job (by id or remote name) and its history; --watch follows it until it ends",
		Example: "  sagetrain status 01JDX3...\n  sagetrain status --watch quickstart-ab12cd34",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			if sw := sweepFind(cmd.Context(), e, args[0]); sw != nil {
				return sweepStatusCmd(cmd, e, sw, args[0], watch)
			}
			var j *store.Job
			if watch {
				if j, err = jobsWatch(cmd, e, args[0], false); err != nil {
					return err
				}
			} else {
				jobsSyncOne(cmd, e, args[0])
				if j, err = e.svc.Get(cmd.Context(), args[0]); err != nil {
					return err
				}
			}
			events, err := e.svc.Events(cmd.Context(), j.ID)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), jobsView(j, events))
			}
			jobsPrintJob(cmd.OutOrStdout(), j, events)
			return jobsEndErr(j, watch)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the job with a progress display until it ends")
	return cmd
}

func newListCmd() *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List jobs, newest first, filtered by status, backend and name, a page at a time",
		Example: "  sagetrain list\n  sagetrain list --status running,preparing --backend local\n  sagetrain list --name nightly --limit 20 --cursor <next cursor>",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, o)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Statuses, "status", nil, "only these statuses (comma-separated or repeated)")
	fl.StringVar(&o.Filter.Backend, "backend", "", "only this backend: local or sagemaker")
	fl.StringVar(&o.Filter.NameContains, "name", "", "only jobs whose name or remote name contains this")
	fl.IntVar(&o.Filter.Limit, "limit", 50, "jobs per page (at most 1000)")
	fl.StringVar(&o.Filter.Cursor, "cursor", "", "the next page's cursor, from a previous list")
	fl.BoolVar(&o.Trials, "trials", false, "list sweeps' trials too (by default a sweep is one row)")
	fl.StringVar(&o.Filter.SweepID, "sweep", "", "only the trials of this sweep")
	fl.BoolVar(&o.Remote, "remote", false, "list the SageMaker account's training jobs sagetrain does not know (adopt one with 'sagetrain attach')")
	fl.StringVar(&o.Since, "since", "", "with --remote: only jobs created within this long (7d, 36h)")
	fl.StringVar(&o.Filter.NameContains, "name-contains", "", "same as --name")
	return cmd
}

// listOptions are list's flags.
type listOptions struct {
	Filter   store.ListFilter // --backend, --name, --limit, --cursor, --sweep
	Statuses []string         // --status, each comma-separated
	Trials   bool             // sweeps' trials as rows of their own
	Remote   bool             // the account's SageMaker jobs sagetrain does not know
	Since    string           // with Remote: how far back
}

// runList prints a page of jobs (and sweeps), or the account's unknown jobs.
func runList(cmd *cobra.Command, o listOptions) error {
	f := o.Filter
	if err := listCheckFlags(f); err != nil {
		return err
	}
	for _, s := range o.Statuses {
		for _, p := range strings.Split(s, ",") {
			st := store.Status(strings.TrimSpace(p))
			if !st.Valid() {
				return errs.Configuration(fmt.Sprintf("unknown status %q", p), "use one of pending, preparing, running, stopping, stopped, completed, failed", nil)
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	e, err := jobsOpen(cmd.Context())
	if err != nil {
		return err
	}
	defer e.Close()
	if o.Remote {
		return listRemote(cmd, e, o.Since, f.NameContains, f.Limit)
	}
	jobsSync(cmd, e)
	f.NoTrials = !o.Trials && f.SweepID == ""
	js, next, err := e.svc.List(cmd.Context(), f)
	if err != nil {
		return err
	}
	sweeps := sweepListRows(cmd.Context(), e, f)
	if jsonOutput() {
		views := make([]jobView, len(js))
		for i, j := range js {
			views[i] = jobsView(j, nil)
		}
		out := map[string]any{"jobs": views, "next_cursor": next}
		if sweeps != nil {
			out["sweeps"] = sweeps
		}
		return printJSON(cmd.OutOrStdout(), out)
	}
	w := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBACKEND\tSTATUS\tSECONDARY\tCREATED\tREMOTE NAME\tCOST")
	for _, v := range sweeps {
		fmt.Fprint(tw, sweepRow(v))
	}
	for _, j := range js {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, j.Backend, j.Status, j.SecondaryStatus,
			j.CreatedAt.Local().Format(time.DateTime), j.RemoteName, costCell(cmd.Context(), j))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "more: sagetrain list%s --cursor %s\n", listFilterFlags(cmd), next)
	}
	return nil
}

func newCancelCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Stop a live job; it ends 'stopped' once the backend confirms",
		Long: `Ask for a job to be stopped. The request is recorded, so it holds across
restarts: the reconciler repeats it until the backend confirms. A local job's
trainer gets SIGTERM (it checkpoints), then SIGKILL after 10 seconds.`,
		Example: "  sagetrain cancel 01JDX3...\n  sagetrain cancel --wait quickstart-ab12cd34",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			if sw := sweepFind(cmd.Context(), e, args[0]); sw != nil {
				return sweepCancelCmd(cmd, e, sw, args[0], wait)
			}
			jobsSyncOne(cmd, e, args[0])
			j, err := e.svc.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if wait {
				if j, err = jobsWatch(cmd, e, j.ID, true); err != nil {
					return err
				}
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), jobsView(j, nil))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s: %s\n", j.ID, j.Status)
			if strings.HasPrefix(j.StatusMessage, jobs.StopRefused) {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", j.StatusMessage)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job has stopped")
	return cmd
}

func newLogsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:     "logs ID",
		Short:   "Print a job's log; -f follows it until the job ends",
		Example: "  sagetrain logs 01JDX3...\n  sagetrain logs -f quickstart-ab12cd34",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			jobsSyncOne(cmd, e, args[0])
			if jsonOutput() {
				// One JSON object per log line.
				w := &jobsJSONLines{w: cmd.OutOrStdout()}
				err := e.svc.Logs(cmd.Context(), args[0], follow, w)
				w.flush()
				return err
			}
			return e.svc.Logs(cmd.Context(), args[0], follow, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the job ends")
	return cmd
}

// jobsJSONLines turns a log stream into {"line": "..."} objects.
type jobsJSONLines struct {
	w   io.Writer
	buf []byte
}

func (j *jobsJSONLines) Write(p []byte) (int, error) {
	j.buf = append(j.buf, p...)
	for {
		i := strings.IndexByte(string(j.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(j.buf[:i])
		j.buf = j.buf[i+1:]
		if err := jobsEncodeLine(j.w, line); err != nil {
			return 0, err
		}
	}
}

func (j *jobsJSONLines) flush() {
	if len(j.buf) > 0 {
		_ = jobsEncodeLine(j.w, string(j.buf))
		j.buf = nil
	}
}

func jobsEncodeLine(w io.Writer, line string) error {
	b, err := jsonMarshalCompact(map[string]string{"line": line})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "report ID",
		Short:   "Print a completed job's training report and where its model is",
		Example: "  sagetrain report 01JDX3...\n  sagetrain report quickstart-ab12cd34 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			jobsSyncOne(cmd, e, args[0])
			r, err := e.svc.Report(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), r)
			}
			jobsPrintReport(cmd.OutOrStdout(), r)
			printCostAndProvenance(cmd.Context(), cmd.OutOrStdout(), e.svc, r)
			return nil
		},
	}
	return cmd
}

// newLocalRunCmd is the local backend's detached runner; users never call it.
func newLocalRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "local-run JOBDIR",
		Short:  "Run one local job (started by the local backend; not for direct use)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The runner outlives its parent's signals on purpose; its own
			// SIGTERM handling is in local.RunJob.
			return local.RunJob(context.WithoutCancel(cmd.Context()), args[0])
		},
	}
}
