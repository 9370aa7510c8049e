package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newInterlocksCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "interlocks [ID]",
		Short: "List what blocks each power and maintenance request now, in the order admission checks it (the first is the refusal the request would get), and what clears it",
		Example: `  statemgr interlocks
  statemgr interlocks host.0`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				cid, err := componentArg(args[0], actors.KindHost, actors.KindChassis, actors.KindBMC)
				if err != nil {
					return err
				}
				id = string(cid)
			}
			fetch := func(ctx context.Context, request client.RequestFunc) (server.InterlocksReply, error) {
				return client.InterlocksAll(ctx, request, id)
			}
			return show(cmd, g, cred, fetch, printInterlocks)
		},
	}
}

// printInterlocks prints a row per blocker of each request, in
// admission's order, and a row saying "-" for a request nothing blocks.
func printInterlocks(w io.Writer, r server.InterlocksReply) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tREQUEST\tBLOCKED BY\tOVERRIDABLE\tREASON\tCLEARS WHEN")
	for _, rb := range r.Requests {
		if len(rb.Blockers) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t\t\t\n", rb.ID, rb.Request)
		}
		for _, b := range rb.Blockers {
			over := "no"
			if b.Overridable {
				over = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rb.ID, rb.Request, b.Check, over, b.Reason, b.Clears)
		}
	}
	return tw.Flush()
}
