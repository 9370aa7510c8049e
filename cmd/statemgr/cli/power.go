package cli

import (
	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
)

func newPowerCommand(g *globals, cred *credentials) *cobra.Command {
	power := &cobra.Command{
		Use:   "power",
		Short: "Power a host or chassis on, off, or cycle it",
	}
	var force bool
	var cf controlFlags
	// request runs a power request: a host takes normal or, with --force,
	// forced; a chassis takes its own subject's one request.
	request := func(hostSubject, chassisSubject, normal, forced string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			id, err := componentArg(args[0], actors.KindHost, actors.KindChassis)
			if err != nil {
				return err
			}
			if id.Kind() == actors.KindChassis {
				return runControl(cmd, g, cred, chassisSubject, cf.request(id, ""))
			}
			typ := normal
			if force {
				typ = forced
			}
			return runControl(cmd, g, cred, hostSubject, cf.request(id, typ))
		}
	}
	on := &cobra.Command{
		Use:   "on ID",
		Short: "Power a host (On, or ForceOn with --force) or a chassis on",
		Example: `  statemgr power on host.0
  statemgr power on host.0 --wait 30s
  statemgr power on host.0 --power-chassis --wait 1m
  statemgr power on host.0 --override thermal
  statemgr power on chassis.0 --queue
  statemgr power on host.1 --at 2026-11-23T06:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: request(server.SubjectHostPowerOn, server.SubjectChassisPowerOn, machine.RequestOn, machine.RequestForceOn),
	}
	off := &cobra.Command{
		Use:   "off ID",
		Short: "Power a host off (GracefulShutdown, or ForceOff with --force) or a chassis off",
		Example: `  statemgr power off host.0
  statemgr power off host.0 --force --wait 10s`,
		Args: cobra.ExactArgs(1),
		RunE: request(server.SubjectHostPowerOff, server.SubjectChassisPowerOff, machine.RequestGracefulShutdown, machine.RequestForceOff),
	}
	cycle := &cobra.Command{
		Use:     "cycle ID",
		Short:   "Power-cycle a host (PowerCycle) or a chassis",
		Example: `  statemgr power cycle chassis.0 --operation cycle-42`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := componentArg(args[0], actors.KindHost, actors.KindChassis)
			if err != nil {
				return err
			}
			if id.Kind() == actors.KindChassis {
				return runControl(cmd, g, cred, server.SubjectChassisCycle, cf.request(id, ""))
			}
			return runControl(cmd, g, cred, server.SubjectHostReset, cf.request(id, machine.RequestPowerCycle))
		},
	}
	for _, c := range []*cobra.Command{on, off, cycle} {
		cf.add(c)
		cf.addPower(c)
	}
	on.Flags().BoolVar(&cf.powerChassis, "power-chassis", false, "power the host's chassis on first if it is off")
	on.Flags().BoolVar(&force, "force", false, "ForceOn instead of On")
	off.Flags().BoolVar(&force, "force", false, "ForceOff (hold the power button) instead of GracefulShutdown")
	power.AddCommand(on, off, cycle)
	return power
}
