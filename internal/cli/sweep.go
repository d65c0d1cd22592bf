package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/api"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/sweep"
)

// sweepWaitInterval is how often --wait advances the sweep and its jobs.
const sweepWaitInterval = time.Second

func newSweepCmd() *cobra.Command {
	var (
		grids, ranges, sets []string
		random, parallel    int
		objective, engine   string
		backend, name       string
		seed                uint64
		wait                bool
	)
	cmd := &cobra.Command{
		Use:   "sweep SPEC",
		Short: "Run a parameter sweep: trials of a spec over a grid or random ranges, ranked by an objective",
		Long: `Start a sweep: one parent record whose trials are ordinary jobs of the spec
(local or SageMaker, as the spec says), each with some spec fields set.
KEY is any spec field path (hyperparameters.learning_rate, instance_type);
the objective is any number of the trainer's metrics.json (test_auroc,
val_loss, groups.NAME.val_loss) and whether to maximise or minimise it.

--grid KEY=V1,V2,... (repeatable) runs every combination. --random N with
--range KEY=LO:HI[:log] (repeatable) draws N trials instead (integers when
both ends are integers; grid keys are then drawn from their values).

At most --max-parallel trials run at once. The sweep lives in the job store:
if this command dies, any later 'sagetrain status SWEEP' (or 'serve')
carries it on. 'sagetrain status SWEEP' shows the ranked trials,
'sagetrain cancel SWEEP' stops every live trial, 'sagetrain list' shows the
sweep as one row ('--sweep SWEEP' lists its trials).`,
		Example: "  sagetrain sweep job.yaml --grid hyperparameters.learning_rate=0.001,0.003 --grid hyperparameters.dropout=0.0,0.1 --objective test_auroc:max --max-parallel 2 --wait\n" +
			"  sagetrain sweep job.yaml --random 8 --range hyperparameters.learning_rate=0.0001:0.01:log --objective val_loss:min",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sp, err := spec.Load(args[0])
			if err != nil {
				return err
			}
			if backend != "" {
				sets = append([]string{"backend=" + backend}, sets...)
			}
			for _, kv := range sets {
				if err := sp.Override(kv); err != nil {
					return err
				}
			}
			req := sweep.Request{Name: name, Spec: sp, Random: random, MaxParallel: parallel, Engine: engine, Seed: seed}
			if objective == "" {
				return errs.Configuration("a sweep needs an objective", "add --objective METRIC:max|min, e.g. --objective test_auroc:max", nil)
			}
			if req.Objective, err = sweep.ParseObjective(objective); err != nil {
				return err
			}
			for _, g := range grids {
				a, err := sweep.ParseAxis(g)
				if err != nil {
					return err
				}
				req.Grid = append(req.Grid, a)
			}
			for _, r := range ranges {
				rg, err := sweep.ParseRange(r)
				if err != nil {
					return err
				}
				req.Ranges = append(req.Ranges, rg)
			}
			e, err := jobsOpen(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			sp.ApplyDefaults()
			if sp.Backend == spec.BackendSageMaker && e.awsErr != nil {
				return e.awsErr
			}
			svc, err := sweep.New(e.svc)
			if err != nil {
				return err
			}
			v, err := svc.Create(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sweep %s: %d trials, at most %d at once, objective %s\n", v.ID, len(v.Trials), v.MaxParallel, v.Objective)
			if err := svc.StepOne(cmd.Context(), v.ID); err != nil {
				return fmt.Errorf("sweep %s recorded, but starting its trials failed: %w", v.ID, err)
			}
			if wait {
				if v, err = sweepWait(cmd, e, svc, v.ID); err != nil {
					return err
				}
			} else if v, err = svc.Get(cmd.Context(), v.ID); err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), v)
			}
			sweepPrint(cmd.OutOrStdout(), v)
			if !wait {
				fmt.Fprintf(cmd.OutOrStdout(), "follow it: sagetrain status --watch %s\n", v.ID)
			}
			return sweepEndErr(v, wait)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&grids, "grid", nil, "a grid axis: KEY=V1,V2,... (repeatable)")
	f.IntVar(&random, "random", 0, "draw this many random trials from --range (and --grid) values")
	f.StringArrayVar(&ranges, "range", nil, "a random search range: KEY=LO:HI[:log] (repeatable; needs --random)")
	f.Uint64Var(&seed, "seed", 0, "random search seed (default 1: the same request draws the same trials)")
	f.StringVar(&objective, "objective", "", "METRIC:max or METRIC:min over the trainer's metrics.json (required)")
	f.IntVar(&parallel, "max-parallel", 1, "at most this many trials at once")
	f.StringVar(&engine, "engine", "", "jobs (default: sagetrain schedules the trials) or sagemaker-tuner")
	f.StringVar(&backend, "backend", "", "override the spec's backend: local or sagemaker")
	f.StringArrayVar(&sets, "set", nil, "override a spec field for every trial: key=value (repeatable)")
	f.StringVar(&name, "name", "", "the sweep's name (default: the spec's job_name; trials are NAME-t1, NAME-t2, ...)")
	f.BoolVar(&wait, "wait", false, "follow the sweep until every trial has ended")
	return cmd
}

// sweepWait follows a sweep until it ends, reporting changes on stderr.
func sweepWait(cmd *cobra.Command, e *jobsEnv, svc *sweep.Service, id string) (*sweep.View, error) {
	last := ""
	return svc.Wait(cmd.Context(), id, sweepWaitInterval, e.svc.ReconcileOnce, func(v *sweep.View) {
		line := fmt.Sprintf("sweep %s: %s; %d waiting, %d live, %d completed, %d failed, %d stopped", v.ID, v.Status,
			v.Counts.Waiting, v.Counts.Live, v.Counts.Completed, v.Counts.Failed, v.Counts.Stopped)
		if v.Best != nil && v.Best.ObjectiveValue != nil {
			line += fmt.Sprintf("; best %s=%.6g (trial %d)", v.Objective.Metric, *v.Best.ObjectiveValue, v.Best.Ordinal)
		}
		if line != last {
			fmt.Fprintln(cmd.ErrOrStderr(), line)
			last = line
		}
	})
}

// sweepEndErr makes a waited-for sweep with no completed trial a failing command.
func sweepEndErr(v *sweep.View, waited bool) error {
	if !waited || v.Status == sweep.StatusCompleted {
		return nil
	}
	if v.Status == sweep.StatusFailed {
		return errs.Job("sweep "+v.ID+": no trial completed", "see 'sagetrain logs JOB' of its trials ('sagetrain list --sweep "+v.ID+"')", nil)
	}
	if v.Status == sweep.StatusStopped {
		return errs.Job("sweep "+v.ID+" was cancelled", "start it again to finish it", nil)
	}
	return nil
}

// sweepPrint shows the sweep and its ranked trials.
func sweepPrint(w io.Writer, v *sweep.View) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Sweep:\t%s\n", v.ID)
	fmt.Fprintf(tw, "Name:\t%s\n", v.Name)
	fmt.Fprintf(tw, "Status:\t%s\n", v.Status)
	if v.Message != "" {
		fmt.Fprintf(tw, "Message:\t%s\n", v.Message)
	}
	fmt.Fprintf(tw, "Objective:\t%s\n", v.Objective)
	fmt.Fprintf(tw, "Parallel:\t%d (%s, %s)\n", v.MaxParallel, v.Engine, v.Backend)
	if v.Best != nil && v.Best.ObjectiveValue != nil {
		fmt.Fprintf(tw, "Best:\ttrial %d, job %s, %s=%.6g (%s)\n", v.Best.Ordinal, v.Best.ID, v.Objective.Metric, *v.Best.ObjectiveValue, sweep.ParamString(v.Best.Params))
	}
	tw.Flush()
	keys := map[string]bool{}
	for _, t := range v.Trials {
		for k := range t.Params {
			keys[k] = true
		}
	}
	cols := make([]string, 0, len(keys))
	for k := range keys {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"RANK", "TRIAL", "JOB", "STATUS", strings.ToUpper(v.Objective.Metric)}
	for _, c := range cols {
		head = append(head, strings.ToUpper(c[strings.LastIndex(c, ".")+1:]))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, t := range v.Trials {
		rank, val, job := "-", "-", t.ID
		if t.Rank > 0 {
			rank = fmt.Sprint(t.Rank)
		}
		if t.ObjectiveValue != nil {
			val = fmt.Sprintf("%.6g", *t.ObjectiveValue)
		} else if t.Note != "" {
			val = "(" + t.Note + ")"
		}
		if job == "" {
			job = "-"
		}
		row := []string{rank, fmt.Sprint(t.Ordinal), job, t.Status, val}
		for _, c := range cols {
			row = append(row, t.Params[c])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// sweepFind returns the sweep service when id names a sweep, nil otherwise.
func sweepFind(ctx context.Context, e *jobsEnv, id string) *sweep.Service {
	svc, err := sweep.New(e.svc)
	if err != nil || !svc.IsSweep(ctx, id) {
		return nil
	}
	return svc
}

// sweepsStep advances every live sweep, as jobsSync does for jobs, so any
// command carries on a sweep whose own process went away.
func sweepsStep(cmd *cobra.Command, e *jobsEnv) {
	svc, err := sweep.New(e.svc)
	if err != nil {
		return
	}
	if err := svc.Step(cmd.Context()); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: bringing sweeps up to date:", err)
	}
}

// sweepStatusCmd is `status SWEEP [--watch]`.
func sweepStatusCmd(cmd *cobra.Command, e *jobsEnv, svc *sweep.Service, id string, watch bool) error {
	var (
		v   *sweep.View
		err error
	)
	if watch {
		v, err = sweepWait(cmd, e, svc, id)
	} else {
		jobsSync(cmd, e)
		v, err = svc.Get(cmd.Context(), id)
	}
	if err != nil {
		return err
	}
	if jsonOutput() {
		return printJSON(cmd.OutOrStdout(), v)
	}
	sweepPrint(cmd.OutOrStdout(), v)
	return sweepEndErr(v, watch)
}

// sweepCancelCmd is `cancel SWEEP [--wait]`.
func sweepCancelCmd(cmd *cobra.Command, e *jobsEnv, svc *sweep.Service, id string, wait bool) error {
	jobsSync(cmd, e)
	v, err := svc.Cancel(cmd.Context(), id)
	if err != nil {
		return err
	}
	if wait {
		if v, err = sweepWait(cmd, e, svc, id); err != nil {
			return err
		}
	}
	if jsonOutput() {
		return printJSON(cmd.OutOrStdout(), v)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: %s (%d live trials)\n", v.ID, v.Status, v.Counts.Live)
	return nil
}

// sweepListRows are the sweeps `list` shows as one row each (first page only).
func sweepListRows(ctx context.Context, e *jobsEnv, f store.ListFilter) []*sweep.View {
	if f.Cursor != "" || f.SweepID != "" || !f.NoTrials {
		return nil
	}
	svc, err := sweep.New(e.svc)
	if err != nil {
		return nil
	}
	vs, err := svc.List(ctx, f.Limit)
	if err != nil {
		return nil
	}
	var out []*sweep.View
	for _, v := range vs {
		if f.Backend != "" && v.Backend != f.Backend {
			continue
		}
		if f.NameContains != "" && !strings.Contains(strings.ToLower(v.Name), strings.ToLower(f.NameContains)) {
			continue
		}
		if len(f.Statuses) > 0 {
			continue // job statuses do not apply to sweeps
		}
		out = append(out, v)
	}
	return out
}

// sweepRow is a sweep in list's table.
func sweepRow(v *sweep.View) string {
	done := v.Counts.Completed + v.Counts.Failed + v.Counts.Stopped
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.Backend, v.Status,
		fmt.Sprintf("sweep %d/%d", done, len(v.Trials)), v.CreatedAt.Local().Format(time.DateTime), "")
}

// sweepRound is one reconcile pass of serve: the jobs, then the sweeps
// (which start trials as slots free up).
type sweepRound struct {
	jobs   *jobs.Service
	sweeps *sweep.Service
}

func (r sweepRound) ReconcileOnce(ctx context.Context) error {
	err := r.jobs.ReconcileOnce(ctx)
	if r.sweeps != nil {
		err = errors.Join(err, r.sweeps.Step(ctx))
	}
	return err
}

// sweepReconciler is svc's reconciler with the sweeps' scheduler after it.
func sweepReconciler(svc *jobs.Service) sweepRound {
	sw, _ := sweep.New(svc)
	return sweepRound{jobs: svc, sweeps: sw}
}

// sweepAPI is the sweep service serve's API uses (nil when the store keeps no sweeps).
func sweepAPI(svc *jobs.Service) api.SweepService {
	sw, err := sweep.New(svc)
	if err != nil {
		return nil
	}
	return sw
}
