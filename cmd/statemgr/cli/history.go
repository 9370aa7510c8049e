package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
)

func newHistoryCommand(g *globals, cred *credentials) *cobra.Command {
	var from uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show a component's transitions and time spent in each state",
		Example: `  statemgr history host.0
  statemgr history host.0 --from 100 --limit 20 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := componentArg(args[0], "host", "chassis", "bmc", "service")
			if err != nil {
				return err
			}
			return query(cmd, g, cred, server.SubjectHistory, server.HistoryRequest{ID: string(id), From: from, Limit: limit}, printHistory)
		},
	}
	cmd.Flags().Uint64Var(&from, "from", 0, "first stream sequence to show")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many transitions (default 100, at most 1000)")
	return cmd
}

func printHistory(w io.Writer, h server.HistoryReply) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tFROM\tTO\tTRIGGER\tREQUESTER\tOPERATION")
	for _, t := range h.Transitions {
		from := t.From
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Seq, t.Time.UTC().Format(time.RFC3339Nano), from, t.To, t.Trigger, t.Requester, t.Operation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h.Next != 0 {
		fmt.Fprintf(w, "(more: --from %d)\n", h.Next)
	}
	fmt.Fprintf(w, "\n%d state changes\n", h.Statistics.Transitions)
	states := make([]string, 0, len(h.Statistics.Entered))
	for st := range h.Statistics.Entered {
		states = append(states, st)
	}
	sort.Strings(states)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tENTERED\tTIME IN STATE")
	for _, st := range states {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", st, h.Statistics.Entered[st], h.Statistics.TimeInState[st].Round(time.Millisecond))
	}
	return tw.Flush()
}
