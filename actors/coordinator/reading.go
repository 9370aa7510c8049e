package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// snapshot is what the coordinator read of the components and the
// hardware before deciding.
type snapshot struct {
	status map[actors.ID]machine.Status
	temps  map[string]float64
	psus   map[string]PSUStatus
	// psuErrs are the PSUs that could not be read, and why. They are no
	// failure of the snapshot: a power-off, a force-off and an emergency
	// never need a PSU read, and a power-on is refused by the
	// psu_unreachable interlock naming them.
	psuErrs map[string]error
	inputs  []InputReading
}

func (s *snapshot) state(id actors.ID) string { return s.status[id].State }

// snapshot reads every component, zone and PSU of the topology.
func (c *Coordinator) snapshot(ctx context.Context) (*snapshot, error) {
	topo := c.cfg.Topology
	s := &snapshot{status: map[actors.ID]machine.Status{}, temps: map[string]float64{}, psus: map[string]PSUStatus{}, psuErrs: map[string]error{}}
	ids := []actors.ID{topo.BMC}
	for _, ch := range topo.Chassis {
		ids = append(ids, ch.ID)
		ids = append(ids, ch.Hosts...)
	}
	var errs []error
	for _, id := range ids {
		v, err := c.cfg.Components.Get(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.status[id] = v.Status
	}
	s.inputs = c.inputReadings()
	for _, z := range topo.Zones {
		if z.External {
			continue // an input: in s.inputs
		}
		t, err := c.cfg.Hardware.Temperature(ctx, z.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("zone %s: %w", z.Name, err))
			continue
		}
		s.temps[z.Name] = t
	}
	for _, ch := range topo.Chassis {
		for _, p := range ch.PSUs {
			st, err := c.cfg.Hardware.PSUStatus(ctx, p)
			if err != nil {
				s.psuErrs[p] = err
				c.log.Warn("psu unreadable; power-on refused until it answers", "psu", p, "chassis", ch.ID, "error", err)
				continue
			}
			s.psus[p] = st
		}
	}
	return s, errors.Join(errs...)
}

// Facts computes the guard facts for an input to id from the components'
// current statuses and the auto-reboot budget.
func (c *Coordinator) Facts(ctx context.Context, id actors.ID) (machine.Facts, error) {
	snap, err := c.snapshot(ctx)
	if err != nil && len(snap.status) == 0 {
		return nil, err
	}
	var auto bool
	if cerr := c.call(func(s *state) { auto = c.autoReboot(s, id) }); cerr != nil {
		return nil, cerr
	}
	return Facts(c.cfg.Topology, snap.status, id, auto), nil
}

func (c *Coordinator) autoReboot(s *state, id actors.ID) bool {
	return c.cfg.Policy.AutoReboot && s.attempts[id] < c.cfg.Policy.BootAttempts
}

// interlocks returns the refusals that hold for req (every one, so that
// overrides can be checked against each).
func (c *Coordinator) interlocks(s *state, id string, req Request, snap *snapshot) []*InterlockError {
	if req.Kind == BMCEnterMaintenance || req.Kind == BMCExitMaintenance {
		return nil
	}
	topo := c.cfg.Topology
	var out []*InterlockError
	add := func(il Interlock, reason, clears string) {
		out = append(out, &InterlockError{Op: id, Interlock: il, Target: req.Target, Reason: reason, Clears: clears})
	}
	switch bmc := snap.state(topo.BMC); bmc {
	case machine.StateMaintenance:
		add(InterlockMaintenance, fmt.Sprintf("%s is in Maintenance", topo.BMC), "the BMC exits maintenance (bmc_exit_maintenance)")
	case machine.StateUpdateInProgress:
		add(InterlockFirmwareUpdate, fmt.Sprintf("%s is updating its firmware", topo.BMC), "the firmware update finishes")
	case machine.StateReady:
	default:
		if req.powersOn() || req.Kind == ChassisPowerOn || req.Kind == ChassisPowerCycle {
			add(InterlockBMCNotReady, fmt.Sprintf("%s is %s, not Ready", topo.BMC, bmc), "the BMC reports its services ready")
		}
	}
	if op, ok := s.parked[req.Target]; ok {
		add(InterlockBlockingError, fmt.Sprintf("operation %s on %s failed and is parked with an alert", op, req.Target), fmt.Sprintf("an operator acknowledges operation %s", op))
	}
	ch, _ := topo.chassisOf(req.Target)
	powersOn := req.powersOn() || req.Kind == ChassisPowerOn || req.Kind == ChassisPowerCycle
	if !powersOn {
		return out
	}
	hosts := []actors.ID{req.Target}
	if req.Target.Kind() == actors.KindChassis {
		hosts = ch.Hosts
	}
	affecting := map[string]bool{}
	for _, h := range hosts {
		for _, z := range topo.zonesOf(h) {
			affecting[z.Name] = true
		}
	}
	var hot, sick []string
	for _, z := range topo.Zones {
		if t, ok := snap.temps[z.Name]; ok && affecting[z.Name] && z.Warning > 0 && t >= z.Warning {
			hot = append(hot, fmt.Sprintf("%s at %.1f °C (warning limit %.1f °C)", z.Name, t, z.Warning))
		}
	}
	inputHot, inputSick := inputRefusals(snap.inputs, hosts)
	switch {
	case len(inputHot) > 0:
		add(InterlockThermal, fmt.Sprint(append(hot, inputHot...)), "the zones cool below their warning limits and every thermal input reports below warning within its staleness timeout (statemgr.input.thermal.<name>)")
	case len(hot) > 0:
		add(InterlockThermal, fmt.Sprint(hot), "the zones cool below their warning limits")
	}
	if ps := snap.status[ch.ID].PowerStatus; ps == machine.PowerStatusBrownOut || ps == machine.PowerStatusUninterruptiblePowerSupply {
		sick = append(sick, fmt.Sprintf("%s input power is %s", ch.ID, ps))
	}
	var unreadable []string
	for _, p := range ch.PSUs {
		if err, ok := snap.psuErrs[p]; ok {
			unreadable = append(unreadable, fmt.Sprintf("%s cannot be read: %v", p, err))
		}
	}
	if len(unreadable) > 0 {
		add(InterlockPSUUnreachable, strings.Join(unreadable, "; "),
			fmt.Sprintf("every psu of %s answers on its bus again (check its seating, cabling and address; statemgr psu shows what it answers)", ch.ID))
	}
	for _, p := range ch.PSUs {
		if _, unread := snap.psuErrs[p]; unread {
			continue
		}
		if st := snap.psus[p]; st.InputLost || len(st.Faults) > 0 {
			sick = append(sick, fmt.Sprintf("%s reports input lost=%t faults=%v", p, st.InputLost, st.Faults))
		}
	}
	sick = append(sick, inputSick...)
	switch {
	case len(inputSick) > 0:
		add(InterlockHealth, fmt.Sprint(sick), "input power is good, the PSUs report no faults (clear the faults once repaired) and every health input reports below critical within its staleness timeout (statemgr.input.health.<name>)")
	case len(sick) > 0:
		add(InterlockHealth, fmt.Sprint(sick), "input power is good and the PSUs report no faults (clear the faults once repaired)")
	}
	if req.Target.Kind() == actors.KindHost && req.powersOn() && c.cfg.Policy.HostOn == RequireChassisOn && !req.PowerChassis && !c.cfg.Topology.steady(ch.ID, snap.state(ch.ID), machine.PowerOn) {
		add(InterlockPowerDependency, fmt.Sprintf("%s is %s, not On", ch.ID, snap.state(ch.ID)), fmt.Sprintf("%s is powered on (chassis_power_on), or the host power-on policy is power_chassis", ch.ID))
	}
	return out
}
