package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newStatusCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the server: version, log head, events published and every component",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, cred, client.StatusAll, func(w io.Writer, st server.SystemStatus) error {
				fmt.Fprintf(w, "%s %s at %s, up since %s\n", st.Service, st.Version, g.server, st.Started.UTC().Format(time.RFC3339))
				fmt.Fprintf(w, "event log head %d, published %d\n\n", st.LogHead, st.Published)
				return printComponents(w, st.Components)
			})
		},
	}
}
