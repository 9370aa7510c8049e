package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
)

func newOperationCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:     "operation OP",
		Short:   "Show what became of an operation: its records and its outcome",
		Example: `  statemgr operation op-1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var op server.OperationReply
			if err := s.request(cmd.Context(), server.SubjectOperationGet, server.OperationRequest{Operation: args[0]}, &op); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.output == outputJSON {
				return printJSON(w, op)
			}
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
		},
	}
}

func newAcknowledgeCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:     "acknowledge OP",
		Aliases: []string{"ack"},
		Short:   "Acknowledge the alert of an operation parked in failure, clearing the blocking error on its target",
		Example: `  statemgr acknowledge op-000042`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var reply server.AcknowledgeReply
			if err := s.request(cmd.Context(), server.SubjectOperationAck, server.OperationRequest{Operation: args[0]}, &reply); err != nil {
				return err
			}
			if g.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), reply)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "operation %s acknowledged: its target takes power requests again\n", reply.Operation)
			return nil
		},
	}
}
