package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
)

func newResetCommand(g *globals, cred *credentials) *cobra.Command {
	var typ string
	var cf controlFlags
	types := server.RedfishResetTypes
	cmd := &cobra.Command{
		Use:   "reset ID --type TYPE",
		Short: "Reset a host with any Redfish ResetType, or reboot the BMC",
		Long: `Sends a Redfish ResetType to a host: ` + strings.Join(server.RedfishResetTypes, ", ") + `.
For the BMC, --type is GracefulRestart (the default) or ForceRestart.`,
		Example: `  statemgr reset host.0 --type ForceRestart
  statemgr reset host.0 --type GracefulRestart --wait 5m
  statemgr reset bmc.0 --type ForceRestart`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := componentArg(args[0], actors.KindHost, actors.KindBMC)
			if err != nil {
				return err
			}
			if id.Kind() == actors.KindBMC {
				if typ == "" {
					typ = machine.RequestGracefulRestart
				}
				return runControl(cmd, g, cred, server.SubjectBMCReset, cf.request(id, typ))
			}
			if !slices.Contains(types, typ) {
				return fmt.Errorf("%w: --type %q: use one of %s", errUsage, typ, strings.Join(types, ", "))
			}
			return runControl(cmd, g, cred, server.SubjectHostReset, cf.request(id, typ))
		},
	}
	cmd.Flags().StringVarP(&typ, "type", "t", "", "the Redfish ResetType: "+strings.Join(types, ", "))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(types, cobra.ShellCompDirectiveNoFileComp))
	cf.add(cmd)
	cf.addPower(cmd) // host reset types only; the BMC's reset refuses them
	return cmd
}
