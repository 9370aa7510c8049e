package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
)

func newStatusCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the server: version, log head, events published and every component",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var st server.SystemStatus
			if err := s.request(cmd.Context(), server.SubjectSystemStatus, nil, &st); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.output == outputJSON {
				return printJSON(w, st)
			}
			fmt.Fprintf(w, "%s %s at %s, up since %s\n", st.Service, st.Version, g.server, st.Started.UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "event log head %d, published %d\n\n", st.LogHead, st.Published)
			return printComponents(w, st.Components)
		},
	}
}
