package cli

import (
	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
)

func newServiceCommand(g *globals, cred *credentials) *cobra.Command {
	service := &cobra.Command{
		Use:   "service",
		Short: "List, inspect and control supervised services",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the services with their codes (ENABLED, DISABLED, ERROR, STOPPED)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, cred, listAll(server.SubjectServicesList, server.ListRequest{}), printComponentList)
		},
	}
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show one service and its status line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := serviceArg(args[0])
			if err != nil {
				return err
			}
			return query(cmd, g, cred, server.SubjectServiceGet, server.IDRequest{ID: string(id)}, printComponent)
		},
	}
	service.AddCommand(list, get)
	var cf controlFlags
	for _, verb := range []struct{ use, short, subject string }{
		{"start", "Start a service", server.SubjectServiceStart},
		{"stop", "Stop a service", server.SubjectServiceStop},
		{"restart", "Restart a running service", server.SubjectServiceRestart},
		{"reset", "Reset a service out of Error", server.SubjectServiceReset},
		{"enable", "Enable a service (forwarded to the service)", server.SubjectServiceEnable},
		{"disable", "Disable a service (forwarded to the service)", server.SubjectServiceDisable},
	} {
		c := &cobra.Command{
			Use:   verb.use + " NAME",
			Short: verb.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := serviceArg(args[0])
				if err != nil {
					return err
				}
				return runControl(cmd, g, cred, verb.subject, cf.request(id, ""))
			},
		}
		cf.add(c)
		service.AddCommand(c)
	}
	return service
}
