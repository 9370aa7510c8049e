package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newGetCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one component: state, since when, why, and what it may be asked next",
		Example: `  statemgr get host.0
  statemgr get chassis.0 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := client.GetSubject(args[0])
			if err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			return query(cmd, g, cred, subject, server.IDRequest{ID: args[0]}, printComponent)
		},
	}
}

// printComponent writes one component as "field: value" lines.
func printComponent(w io.Writer, c server.Component) error {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-13s %s\n", k+":", v)
		}
	}
	line("id", c.ID)
	line("state", c.State)
	line("since", c.Since.UTC().Format(time.RFC3339))
	line("cause", c.Cause)
	if r := c.Requested; r != nil {
		line("requested", fmt.Sprintf("%s (operation %s by %s at %s)", r.Name, r.Operation, r.Requester, r.Time.UTC().Format(time.RFC3339)))
	}
	line("allowed", strings.Join(c.Allowed, ", "))
	line("code", c.Code)
	line("status", c.StatusLine)
	line("boot", c.BootProgress)
	line("power", c.PowerStatus)
	line("reboot cause", c.LastRebootCause)
	if f := c.Failure; f != nil {
		line("failure", fmt.Sprintf("%s: %s", f.What, f.Cause))
	}
	line("version", fmt.Sprint(c.Version))
	return nil
}
