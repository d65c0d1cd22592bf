package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/api"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/store/storeopen"
)

func newEventsCmd() *cobra.Command {
	var f store.OutboxFilter
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List job events (the outbox) and their webhook delivery state, oldest first",
		Long: `events lists every job status change recorded in the store's outbox and how its
webhook delivery went: pending (to be sent or retried at NEXT), delivered, or
failed (given up). 'sagetrain serve' delivers them (see docs/events.md).`,
		Example: "  sagetrain events --state pending\n  sagetrain events --job 01J... -o json\n  sagetrain events --after 200 --limit 100",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.State {
			case "", store.OutboxPending, store.OutboxDelivered, store.OutboxFailed:
			default:
				return errs.Configuration(fmt.Sprintf("unknown --state %q", f.State), "use pending, delivered or failed", nil)
			}
			st, err := storeopen.Open(cmd.Context(), globals.DB)
			if err != nil {
				return err
			}
			defer st.Close()
			ob, ok := st.(store.Outbox)
			if !ok {
				return errs.Configuration("this job store has no events outbox", "use the SQLite or PostgreSQL store", nil)
			}
			if f.JobID != "" {
				// Accept the backend's job name as every other command does.
				if j, err := st.Get(cmd.Context(), f.JobID); err == nil {
					f.JobID = j.ID
				}
			}
			evs, err := ob.ListOutbox(cmd.Context(), f)
			if err != nil {
				return err
			}
			next := ""
			if n := len(evs); n > 0 && n == store.OutboxLimit(f.Limit) {
				next = fmt.Sprint(evs[n-1].Seq)
			}
			if jsonOutput() {
				views := make([]api.OutboxEventView, len(evs))
				for i, e := range evs {
					views[i] = api.NewOutboxEventView(e)
				}
				return printJSON(cmd.OutOrStdout(), api.EventsResponse{Events: views, Count: len(views), NextCursor: next})
			}
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tEVENT ID\tTYPE\tJOB\tOCCURRED\tSTATE\tATTEMPTS\tNEXT/DELIVERED\tLAST ERROR")
			for _, e := range evs {
				when := ""
				switch {
				case e.State == store.OutboxPending:
					when = e.NextAttemptAt.Local().Format(time.DateTime)
				case e.DeliveredAt != nil:
					when = e.DeliveredAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Seq, e.ID, e.Type, e.JobID,
					e.OccurredAt.Local().Format(time.DateTime), e.State, e.Attempts, when, e.LastError)
			}
			tw.Flush()
			if next != "" {
				fmt.Fprintf(w, "more: sagetrain events --after %s\n", next)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.JobID, "job", "", "only this job's events (id or remote name)")
	fl.StringVar(&f.State, "state", "", "only events in this delivery state: pending, delivered or failed")
	fl.IntVar(&f.Limit, "limit", 100, "events per page (at most 1000)")
	fl.Int64Var(&f.AfterSeq, "after", 0, "events after this SEQ (the 'more:' cursor of a previous page)")
	return cmd
}
