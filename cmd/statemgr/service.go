package main

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
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var list server.ComponentList
			if err := s.request(cmd.Context(), server.SubjectServicesList, nil, &list); err != nil {
				return err
			}
			if g.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), list)
			}
			return printComponents(cmd.OutOrStdout(), list.Components)
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
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var comp server.Component
			if err := s.request(cmd.Context(), server.SubjectServiceGet, server.IDRequest{ID: string(id)}, &comp); err != nil {
				return err
			}
			if g.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), comp)
			}
			printComponent(cmd.OutOrStdout(), comp)
			return nil
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
