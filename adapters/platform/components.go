package platform

import (
	"fmt"
	"sort"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Component is one component the platform describes: its id
// ("<kind>.<name>") and its machine, with the platform's timeouts applied
// and its extensions merged.
type Component struct {
	ID      string
	Machine *machine.Machine
}

// Components returns every component of the platform, sorted by id: the
// BMC, each chassis, each host and each service. An extension names a kind
// ("service") to extend every machine of that kind, or a component id
// ("service.sync") to extend one. A conflict between an extension and its
// machine is an error naming the extension's location.
func (p *Platform) Components() ([]Component, error) {
	host := machine.DefaultHostConfig()
	host.PowerGoodTimeout = p.Timeouts.PowerGood
	host.GracefulShutdownTimeout = p.Timeouts.GracefulShutdown
	host.PowerButtonPulse = p.Timeouts.PowerPulse
	host.ForceOffHold = p.Timeouts.ForceOffHold
	host.ResetPulse = p.Timeouts.ResetPulse

	var out []Component
	add := func(kind, name string, m *machine.Machine) error {
		id := kind + "." + name
		var exts []machine.Extension
		for _, e := range p.Extensions {
			if e.Machine == kind || e.Machine == id {
				exts = append(exts, e)
			}
		}
		if len(exts) > 0 {
			extended, err := machine.Extend(m, exts...)
			if err != nil {
				return fmt.Errorf("cannot extend %s: %w", id, err)
			}
			m = extended
		}
		out = append(out, Component{ID: id, Machine: m})
		return nil
	}
	if err := add("bmc", p.BMC.Name, machine.BMC(machine.DefaultBMCConfig())); err != nil {
		return nil, err
	}
	for _, c := range p.Chassis {
		if err := add("chassis", c.Name, machine.Chassis(machine.DefaultChassisConfig())); err != nil {
			return nil, err
		}
	}
	for _, h := range p.Hosts {
		if err := add("host", h.Name, machine.Host(host)); err != nil {
			return nil, err
		}
	}
	for _, s := range p.Services {
		// No machine timeout in Stopping or Restarting: stop_timeout is the
		// supervisor's (SIGKILL once it passes, then stopped or
		// stop_failed), and the startup cleanup's for a previous daemon's
		// process. A machine timeout of the same length raced that kill
		// into Error, and one that came due while no daemon ran fired at
		// recovery, before the cleanup could say the process was gone.
		if err := add("service", s.Name, machine.Service(machine.DefaultServiceConfig())); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Compiled returns the platform's components with their machines
// compiled, by component id: what protoactor.Start takes.
func (p *Platform) Compiled() (map[actors.ID]*machine.Compiled, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, err
	}
	out := make(map[actors.ID]*machine.Compiled, len(comps))
	for _, c := range comps {
		m, err := machine.Compile(c.Machine)
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", c.ID, err)
		}
		out[actors.ID(c.ID)] = m
	}
	return out, nil
}
