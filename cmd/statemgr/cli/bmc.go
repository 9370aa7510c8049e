package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/server"
)

func newBMCCommand(g *globals, cred *credentials) *cobra.Command {
	bmc := &cobra.Command{
		Use:   "bmc",
		Short: "Control the BMC",
	}
	var cf controlFlags
	maintenance := &cobra.Command{
		Use:       "maintenance on|off [ID]",
		Short:     "Enter or leave BMC maintenance (default ID bmc.0)",
		Example:   `  statemgr bmc maintenance on`,
		Args:      cobra.RangeArgs(1, 2),
		ValidArgs: []string{"on", "off"},
		RunE: func(cmd *cobra.Command, args []string) error {
			var enable bool
			switch args[0] {
			case "on":
				enable = true
			case "off":
			default:
				return fmt.Errorf("%w: bmc maintenance takes on or off, not %q", errUsage, args[0])
			}
			target := "bmc.0"
			if len(args) == 2 {
				target = args[1]
			}
			id, err := componentArg(target, actors.KindBMC)
			if err != nil {
				return err
			}
			req := cf.request(id, "")
			return runControl(cmd, g, cred, server.SubjectBMCMaintenance,
				server.MaintenanceRequest{ID: req.ID, Enable: &enable, Operation: req.Operation, Wait: req.Wait, Queue: req.Queue})
		},
	}
	cf.add(maintenance)
	cf.addQueue(maintenance)
	bmc.AddCommand(maintenance)
	return bmc
}
