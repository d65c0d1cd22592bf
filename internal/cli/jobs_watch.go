package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer/metrics"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// jobsWatchInterval is how often --watch brings the record up to date.
const jobsWatchInterval = time.Second

func jsonMarshalCompact(v any) ([]byte, error) { return json.Marshal(v) }

// jobsProgress is what the trainer's log says about its progress.
type jobsProgress struct {
	groups     []string       // age groups, from "age groups: a, b"
	done       map[string]int // group -> epochs, once the group finished (-1: already trained)
	group      string         // group of the last epoch line
	epoch      int
	trainLoss  string
	valLoss    string
	lastLine   string
	finalAUROC string
	record     *progress.Record // the trainer's last structured progress record
}

// eta is the record's estimate of the time left, or "".
func (p jobsProgress) eta() string {
	if p.record == nil || p.record.ETASeconds == nil {
		return ""
	}
	return " eta " + (time.Duration(*p.record.ETASeconds) * time.Second).String()
}

// jobsParseProgress reads a whole log; re-reading is cheap and keeps it simple.
func jobsParseProgress(log []byte) jobsProgress {
	p := jobsProgress{done: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		l := progress.Parse(line)
		if rec, ok := l.(progress.Record); ok {
			p.record = &rec
			continue
		}
		if strings.HasPrefix(line, progress.Prefix) {
			continue // a malformed record is not what the trainer is doing
		}
		if strings.TrimSpace(line) != "" {
			p.lastLine = line
		}
		switch x := l.(type) {
		case progress.Epoch:
			// The trainer's own text (%.6g), as it was printed.
			p.epoch, p.group = x.Epoch, x.Group
			p.trainLoss, p.valLoss = fmt.Sprintf("%.6g", x.TrainLoss), fmt.Sprintf("%.6g", x.ValLoss)
		case progress.Groups:
			p.groups = x.Names
		case progress.GroupDone:
			p.done[x.Group] = x.Epochs
			if x.FromCheckpoint {
				p.done[x.Group] = -1
			}
		case progress.Metric:
			if x.Name == "test_auroc" {
				p.finalAUROC = fmt.Sprintf("%.6g", x.Value)
			}
		}
	}
	return p
}

func jobsIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// jobsWatch follows a job until it ends: each second it reconciles, reads
// the record and the log, and shows a progress bar (groups trained, current
// epoch and losses) on a terminal, or one line per change elsewhere.
func jobsWatch(cmd *cobra.Command, e *jobsEnv, id string, quiet bool) (*store.Job, error) {
	ctx := cmd.Context()
	out := cmd.ErrOrStderr()
	tty := jobsIsTerminal(out) && !jsonOutput()

	var bar *jobsBar
	if tty && !quiet {
		bar = newJobsBar(ctx, out, 32)
	}
	lastLine, lastRefusal := "", ""
	say := func(format string, args ...any) {
		if tty || quiet {
			return
		}
		line := fmt.Sprintf(format, args...)
		if line != lastLine {
			fmt.Fprintln(out, line)
			lastLine = line
		}
	}
	finish := func(j *store.Job) {
		if bar != nil {
			bar.finish(j)
		}
	}
	for {
		if err := e.svc.ReconcileJob(ctx, id); err != nil && ctx.Err() == nil {
			fmt.Fprintln(out, "warning:", err)
		}
		j, err := e.svc.Get(ctx, id)
		if err != nil {
			finish(nil)
			return nil, err
		}
		var log bytes.Buffer
		if j.RemoteARN != "" && j.Backend == "local" {
			// Cheap for local jobs; SageMaker's logs would cost a
			// CloudWatch read every second, so those show the status only.
			_ = e.svc.Logs(ctx, j.ID, false, &log)
		}
		pr := jobsParseProgress(log.Bytes())
		stage := jobsStage(j)
		if bar != nil {
			bar.update(stage, pr)
		}
		if len(pr.groups) > 0 && pr.group != "" {
			say("%s: %d/%d age groups trained; group %s epoch %d train_loss %s val_loss %s%s", stage, len(pr.done), len(pr.groups), pr.group, pr.epoch, pr.trainLoss, pr.valLoss, pr.eta())
		} else {
			say("%s", stage)
		}
		if quiet && strings.HasPrefix(j.StatusMessage, jobs.StopRefused) && j.StatusMessage != lastRefusal {
			// cancel --wait: a stop the backend refuses is said, not waited on in silence.
			fmt.Fprintln(out, "warning: job "+j.ID+": "+j.StatusMessage)
			lastRefusal = j.StatusMessage
		}
		if j.Status.Terminal() {
			finish(j)
			return j, nil
		}
		select {
		case <-ctx.Done():
			finish(nil)
			// Not a job error (exit code 1): the job itself is fine.
			return j, &errs.Error{Msg: "stopped following job " + j.ID + "; it keeps running",
				Fix: "follow it again with 'sagetrain status --watch " + j.ID + "', or stop it with 'sagetrain cancel " + j.ID + "'", Err: ctx.Err()}
		case <-time.After(jobsWatchInterval):
		}
	}
}

// jobsPrintReport prints a report: per age group, its ages, size and
// threshold; the test metrics; and where the model is. Every number is the
// trainer's (metrics.json).
func jobsPrintReport(w io.Writer, r *jobs.Report) {
	if r.Partial {
		jobsPrintPartial(w, r) // report_partial.go
		return
	}
	fmt.Fprintf(w, "Training report: job %s (%s), %s\n", r.JobID, r.RemoteName, r.Status)
	if r.Metrics == nil {
		fmt.Fprintln(w, "The trainer wrote no metrics.json.")
	} else {
		groups := metrics.FromMap(r.Metrics).Groups
		if len(groups) > 0 {
			names := make([]string, 0, len(groups))
			for n := range groups {
				names = append(names, n)
			}
			sort.Slice(names, func(i, j int) bool { return groups[names[i]].AgeMinOr0() < groups[names[j]].AgeMinOr0() })
			fmt.Fprintln(w, "\nAge groups:")
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  GROUP\tAGES\tTRAIN\tVAL\tTEST N\tANOMALIES\tAUROC\tAP\tTHRESHOLD\tSOURCE\tFPR\tRECALL\tF1\tBEST EPOCH")
			for _, n := range names {
				g := groups[n]
				fmt.Fprintf(tw, "  %s\t%s-%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, jobsFmt(jobsVal(g.AgeMin)), jobsFmt(jobsVal(g.AgeMax)), jobsFmt(jobsVal(g.NTrain)),
					jobsFmt(jobsVal(g.NValidation)), jobsFmt(jobsVal(g.Test.N)), jobsFmt(jobsVal(g.Test.NAnomalies)), jobsFmt(jobsVal(g.Test.AUROC)), jobsFmt(jobsVal(g.Test.AP)),
					jobsFmt(jobsVal(g.Threshold)), jobsFmt(jobsVal(g.ThresholdSource)), jobsFmt(jobsVal(g.Test.FalsePositiveRate)), jobsFmt(jobsVal(g.Test.Recall)), jobsFmt(jobsVal(g.Test.F1)), jobsFmt(jobsVal(g.BestEpoch)))
			}
			tw.Flush()
		}
		fmt.Fprintln(w, "\nTest set:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range []string{"test_auroc", "test_average_precision", "test_precision", "test_recall", "test_f1", "test_false_positive_rate", "n_test", "n_test_anomalies"} {
			if v, ok := r.Metrics[k]; ok {
				fmt.Fprintf(tw, "  %s\t%s\n", k, jobsFmt(v))
			}
		}
		tw.Flush()
	}
	if r.TrainingSeconds > 0 {
		fmt.Fprintf(w, "\nTraining took %.1fs (billable %ds).\n", r.TrainingSeconds, r.BillableSeconds)
	}
	fmt.Fprintf(w, "\nModel:     %s\n", r.ModelDir)
	fmt.Fprintf(w, "Output:    %s\n", r.OutputDir)
	fmt.Fprintf(w, "Archive:   %s\n", r.ModelArtifactURI)
	for _, p := range r.Plots {
		fmt.Fprintf(w, "Plot:      %s\n", p)
	}
}

// jobsVal is a typed metric as jobsFmt takes it: nil when absent.
func jobsVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// jobsFmt prints a JSON value: numbers compactly, null as "n/a".
func jobsFmt(v any) string {
	switch x := v.(type) {
	case nil:
		return "n/a"
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', 4, 64)
	case map[string]any:
		if a, ok := x["auroc"]; ok {
			return jobsFmt(a)
		}
		return "…"
	default:
		return fmt.Sprint(x)
	}
}
