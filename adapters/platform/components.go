package platform

import (
	"fmt"
	"slices"
	"sort"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Component is one component the platform describes: its id
// ("<kind>.<name>") and its machine, with the platform's timeouts applied
// and its extensions merged. Components of one kind that no extension
// changes share one Machine: it is read-only.
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
	chassis, hostMachine := machine.Chassis(machine.DefaultChassisConfig()), machine.Host(host)
	// No machine timeout in Stopping or Restarting: stop_timeout is the
	// supervisor's (SIGKILL once it passes, then stopped or stop_failed),
	// and the startup cleanup's for a previous daemon's process. A machine
	// timeout of the same length raced that kill into Error, and one that
	// came due while no daemon ran fired at recovery, before the cleanup
	// could say the process was gone.
	service := machine.Service(machine.DefaultServiceConfig())
	for _, c := range p.Chassis {
		if err := add("chassis", c.Name, chassis); err != nil {
			return nil, err
		}
	}
	for _, h := range p.Hosts {
		if err := add("host", h.Name, hostMachine); err != nil {
			return nil, err
		}
	}
	for _, s := range p.Services {
		if err := add("service", s.Name, service); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PowerStates returns the states of each host's and chassis' machine,
// built-in and added by the extensions, by component id and state name:
// where reconciliation, the coordinator and the power LED read what power
// good reads in a state (State.Power). Components of one machine share
// one map: read it only. It fails as Components does.
func (p *Platform) PowerStates() (map[actors.ID]map[string]machine.State, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, err
	}
	out := map[actors.ID]map[string]machine.State{}
	byMachine := map[*machine.Machine]map[string]machine.State{} // shared, as Compiled shares
	for _, c := range comps {
		if !slices.Contains(machine.PoweredKinds, c.Machine.Kind) {
			continue
		}
		states, ok := byMachine[c.Machine]
		if !ok {
			states = make(map[string]machine.State, len(c.Machine.States))
			for _, s := range c.Machine.States {
				states[s.Name] = s
			}
			byMachine[c.Machine] = states
		}
		out[actors.ID(c.ID)] = states
	}
	return out, nil
}

// Compiled returns the platform's components with their machines
// compiled, by component id: what protoactor.Start takes. Components that
// share a Machine share its Compiled (Step only reads it): a compiled
// service machine is ~18 KB, 18 MB for 1,000 services compiled one by one.
func (p *Platform) Compiled() (map[actors.ID]*machine.Compiled, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, err
	}
	out := make(map[actors.ID]*machine.Compiled, len(comps))
	compiled := map[*machine.Machine]*machine.Compiled{}
	for _, c := range comps {
		m, ok := compiled[c.Machine]
		if !ok {
			if m, err = machine.Compile(c.Machine); err != nil {
				return nil, fmt.Errorf("component %s: %w", c.ID, err)
			}
			compiled[c.Machine] = m
		}
		out[actors.ID(c.ID)] = m
	}
	return out, nil
}
