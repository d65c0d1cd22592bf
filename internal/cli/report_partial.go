package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sagetrain/sagetrain/internal/jobs"
)

// jobsPrintPartial prints the partial report of a job that stopped or
// failed before its end: the age groups it finished, the ones it did not.
func jobsPrintPartial(w io.Writer, r *jobs.Report) {
	fmt.Fprintf(w, "PARTIAL training report: job %s (%s), %s before its end\n", r.JobID, r.RemoteName, r.Status)
	if r.PartialReason != "" {
		fmt.Fprintf(w, "The trainer says: %s\n", r.PartialReason)
	}
	fmt.Fprintf(w, "\nAge groups finished (%d):\n", len(r.GroupsFinished))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  GROUP\tAGES\tTRAIN\tVAL\tBEST EPOCH\tEPOCHS\tVAL LOSS\tTRAIN LOSS\tHOST")
	for _, g := range r.GroupsFinished {
		fmt.Fprintf(tw, "  %s\t%d-%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Name, g.AgeMin, g.AgeMax, g.NTrain, g.NValidation,
			g.BestEpoch, g.EpochsTrained, jobsFmt(g.ValLoss), jobsFmt(g.TrainLoss), g.Host)
	}
	tw.Flush()
	notTrained := "none"
	if len(r.GroupsNotTrained) > 0 {
		notTrained = strings.Join(r.GroupsNotTrained, ", ")
	}
	fmt.Fprintf(w, "Age groups not trained: %s\n", notTrained)
	fmt.Fprintln(w, "\nThere is no model to score with; 'sagetrain resume "+r.JobID+"' trains the rest from the checkpoints.")
	if r.TrainingSeconds > 0 {
		fmt.Fprintf(w, "\nTraining took %.1fs (billable %ds).\n", r.TrainingSeconds, r.BillableSeconds)
	}
	fmt.Fprintf(w, "\nOutput:    %s\n", r.OutputDir)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note:      %s\n", n)
	}
}
