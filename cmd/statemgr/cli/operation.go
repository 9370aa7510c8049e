package cli

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newOperationCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:     "operation OP",
		Short:   "Show what became of an operation: its records and its outcome",
		Example: `  statemgr operation op-1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, cred, server.SubjectOperationGet, server.OperationRequest{Operation: args[0]}, printOperation)
		},
	}
}

func printOperation(w io.Writer, op server.OperationReply) error {
	fmt.Fprintf(w, "operation %s: %s on %s by %s\n", op.Operation, op.Request, op.ID, op.Requester)
	fmt.Fprintf(w, "outcome:   %s, state %s", op.Outcome.Result, op.Outcome.State)
	if op.Outcome.Cause != "" {
		fmt.Fprintf(w, " (%s)", op.Outcome.Cause)
	}
	fmt.Fprintln(w)
	p := eventPrinter{w: w}
	for _, ev := range op.Records {
		p.print(ev)
	}
	return nil
}

func newAcknowledgeCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:     "acknowledge OP",
		Aliases: []string{"ack"},
		Short:   "Acknowledge the alert of an operation parked in failure, clearing the blocking error on its target",
		Example: `  statemgr acknowledge op-000042`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, cred, server.SubjectOperationAck, server.OperationRequest{Operation: args[0]}, func(w io.Writer, reply server.AcknowledgeReply) error {
				_, err := fmt.Fprintf(w, "operation %s acknowledged: its target takes power requests again\n", reply.Operation)
				return err
			})
		},
	}
}

func newAlertsCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "alerts",
		Short: "List the standing alerts: operations parked in failure, each blocking power requests on its target until acknowledged, and PSUs that do not answer, until they do",
		Example: `  statemgr alerts
  statemgr acknowledge op-000042`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, cred, client.AlertsAll, printAlerts)
		},
	}
}

func printAlerts(w io.Writer, l server.AlertList) error {
	if len(l.Alerts) == 0 {
		_, err := fmt.Fprintln(w, "no standing alerts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tKIND\tTARGET\tSTATE\tALERT")
	for _, a := range l.Alerts {
		op := cmp.Or(a.Operation, "-") // a silent PSU's alert is no operation's
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", op, a.Kind, a.ID, a.State, a.Alert)
	}
	return tw.Flush()
}
