package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newListCommand(g *globals, cred *credentials) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the components and their states",
		Example: `  statemgr list
  statemgr list --kind host -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, cred, listAll(server.SubjectComponentsList, server.ListRequest{Kind: kind}), printComponentList)
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only components of this kind: host, chassis, bmc or service")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"host", "chassis", "bmc", "service"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// listAll fetches every page of a list subject.
func listAll(subject string, req server.ListRequest) func(context.Context, client.RequestFunc) (server.ComponentList, error) {
	return func(ctx context.Context, request client.RequestFunc) (server.ComponentList, error) {
		return client.ListAll(ctx, request, subject, req)
	}
}

// printComponentList prints a list reply as a table.
func printComponentList(w io.Writer, l server.ComponentList) error {
	return printComponents(w, l.Components)
}

func printComponents(w io.Writer, comps []server.Component) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSINCE\tALLOWED")
	for _, c := range comps {
		state := c.State
		if c.Code != "" {
			state += " (" + c.Code + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, state, c.Since.UTC().Format(time.RFC3339), strings.Join(c.Allowed, ", "))
	}
	return tw.Flush()
}
