package coordinator

import (
	"fmt"
	"slices"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
)

// Saga step actions; each is one Executor command (see exec.go).
const (
	actRequest       = "request"        // a component request, deduplicated by cmd id
	actPSUOn         = "psu_on"         // OPERATION=ON, then power good within the step timeout
	actPSUOff        = "psu_off"        // OPERATION=OFF, then power good gone
	actChassisSettle = "chassis_settle" // make the chassis component match the PSUs (want=on|off)
	actHostOn        = "host_on"        // request, press, power good, observed Running
	actHostForceOff  = "host_force_off" // hold if powered, then the component Off
	actHostGraceful  = "host_graceful"  // press, power good gone, observed Off
	actHostOverride  = "host_override"  // ForceOff request, hold, power good gone
	actHostRailOff   = "host_rail_off"  // PMBus rails off, power good gone
	actHostCycleOn   = "host_cycle_on"  // after the off time: press, power good, Running
	actHostPulse     = "host_pulse"     // request, then a reset or NMI pulse
	actWait          = "wait"           // wait on the clock
)

func cmd(action string, target any, params ...string) saga.Command {
	c := saga.Command{Action: action, Target: fmt.Sprint(target)}
	if len(params) > 0 {
		c.Params = map[string]string{}
		for i := 0; i+1 < len(params); i += 2 {
			c.Params[params[i]] = params[i+1]
		}
	}
	return c
}

func comp(c saga.Command) *saga.Command { return &c }

var once = saga.Retry{Attempts: 1}

// plan builds the saga of operation o from a fresh snapshot, taken with o's
// locks held.
func (c *Coordinator) plan(o *op, snap *snapshot) saga.Plan {
	req := o.req
	p := saga.Plan{ID: o.id, Kind: string(req.Kind), Requester: req.Requester}
	ch, _ := c.cfg.Topology.chassisOf(req.Target)
	switch req.Kind {
	case ChassisPowerOn:
		p.Steps = c.chassisOn(ch, "")
	case ChassisPowerOff:
		p.Steps = append(c.shutdownHosts(ch, snap, ""), c.chassisOff(ch, "")...)
	case ChassisPowerCycle:
		p.Steps = append(c.shutdownHosts(ch, snap, ""), c.chassisOff(ch, "")...)
		p.Steps = append(p.Steps, saga.Step{Name: "power cycle off time", Command: cmd(actWait, ch.ID, "duration", c.cfg.Timeouts.CycleWait.String()), Timeout: c.cfg.Timeouts.CycleWait + time.Second, Retry: once})
		p.Steps = append(p.Steps, c.chassisOn(ch, "")...)
	case HostPowerOn:
		if !c.cfg.Topology.steady(ch.ID, snap.state(ch.ID), machine.PowerOn) && c.powerChassis(req) {
			p.Steps = c.chassisOn(ch, "")
		}
		p.Steps = append(p.Steps, c.hostOn(req.Target, req.ResetType))
	case HostGracefulOff:
		p.Steps = c.ladder(req.Target, machine.RequestGracefulShutdown, c.cfg.Timeouts.Graceful, "")
	case HostForceOff:
		p.Steps = c.ladder(req.Target, machine.RequestForceOff, 0, "")
	case HostReset:
		p.Steps = c.reset(req.Target, req.ResetType, snap)
	case BMCEnterMaintenance:
		p.Steps = []saga.Step{{Name: "enter maintenance", Command: cmd(actRequest, req.Target, "request", machine.RequestEnterMaintenance),
			Compensation: comp(cmd(actRequest, req.Target, "request", machine.RequestExitMaintenance, "satisfied", machine.StateReady)), Timeout: c.cfg.Timeouts.Request}}
	case Emergency:
		p.Steps = c.emergencyPlan(o.emergency, snap)
	case BMCExitMaintenance:
		p.Steps = []saga.Step{{Name: "exit maintenance", Command: cmd(actRequest, req.Target, "request", machine.RequestExitMaintenance), Timeout: c.cfg.Timeouts.Request}}
	}
	return p
}

// chassisOn: the chassis component to TransitioningToOn, each PSU on in
// order within its timeout, the chassis observed On. Compensation turns
// the PSUs already on off in reverse and the component back Off.
func (c *Coordinator) chassisOn(ch ChassisTopology, emergency string) []saga.Step {
	t := c.cfg.Timeouts
	steps := []saga.Step{{Name: "chassis on request", Command: cmd(actRequest, ch.ID, "request", machine.RequestOn, "satisfied", machine.StateOn),
		Compensation: comp(cmd(actChassisSettle, ch.ID, "want", "off")), Timeout: t.Request + t.PowerOff}}
	for _, psu := range ch.PSUs {
		steps = append(steps, saga.Step{Name: "psu " + psu + " on", Command: cmd(actPSUOn, psu), Compensation: comp(cmd(actPSUOff, psu)), Timeout: t.psu(psu), Retry: once})
	}
	return append(steps, saga.Step{Name: "chassis observed on", Command: cmd(actChassisSettle, ch.ID, "want", "on", "emergency", emergency),
		Compensation: comp(cmd(actChassisSettle, ch.ID, "want", "off")), Timeout: t.Request})
}

// chassisOff: the chassis component to TransitioningToOff, the PSUs off in
// reverse order, the chassis observed Off. Irreversible: a failure ends in
// Error with an alert, never with the PSUs switched back on.
func (c *Coordinator) chassisOff(ch ChassisTopology, emergency string) []saga.Step {
	t := c.cfg.Timeouts
	steps := []saga.Step{{Name: "chassis off request", Command: cmd(actRequest, ch.ID, "request", machine.RequestOff, "satisfied", machine.StateOff, "emergency", emergency), Timeout: t.Request}}
	psus := slices.Clone(ch.PSUs)
	slices.Reverse(psus)
	for _, psu := range psus {
		steps = append(steps, saga.Step{Name: "psu " + psu + " off", Command: cmd(actPSUOff, psu), Timeout: t.PowerOff})
	}
	return append(steps, saga.Step{Name: "chassis observed off", Command: cmd(actChassisSettle, ch.ID, "want", "off", "emergency", emergency), Timeout: t.Request + t.PowerOff})
}

// shutdownHosts runs the escalation ladder for every host of ch not Off
// (policy shutdown_hosts; under reject, admission refused the request).
func (c *Coordinator) shutdownHosts(ch ChassisTopology, snap *snapshot, emergency string) []saga.Step {
	var steps []saga.Step
	for _, h := range ch.Hosts {
		if !c.cfg.Topology.steady(h, snap.state(h), machine.PowerOff) {
			steps = append(steps, c.ladder(h, machine.RequestGracefulShutdown, c.cfg.Timeouts.Graceful, emergency)...)
		}
	}
	return steps
}

// hostOn: request, press, power good within its timeout, Running. The
// compensation forces the host off, whether or not it came on.
func (c *Coordinator) hostOn(h actors.ID, request string) saga.Step {
	t := c.cfg.Timeouts
	return saga.Step{Name: "host " + h.Name() + " " + request, Command: cmd(actHostOn, h, "request", request),
		Compensation: comp(cmd(actHostForceOff, h)), Timeout: t.HostPowerGood, Retry: once}
}

// ladder is the escalation ladder that always ends in a defined state:
// graceful shutdown (graceful > 0) → power-button override hold → PMBus
// rail off → the saga fails with an alert (the host component reaches
// Error through its own timeout, never Running).
func (c *Coordinator) ladder(h actors.ID, request string, graceful time.Duration, emergency string) []saga.Step {
	t := c.cfg.Timeouts
	steps := []saga.Step{{Name: "host " + h.Name() + " " + request + " request", Command: cmd(actRequest, h, "request", request, "satisfied", machine.StateOff, "emergency", emergency), Timeout: t.Request}}
	if graceful > 0 {
		steps = append(steps, saga.Step{Name: "host " + h.Name() + " graceful shutdown", Command: cmd(actHostGraceful, h, "emergency", emergency), Timeout: graceful, Retry: once, Escalate: true})
	}
	return append(steps,
		saga.Step{Name: "host " + h.Name() + " power button override", Command: cmd(actHostOverride, h, "emergency", emergency), Timeout: c.cfg.Topology.Buttons.ForceOffHold + t.PowerOff, Retry: once, Escalate: true},
		saga.Step{Name: "host " + h.Name() + " rail off", Command: cmd(actHostRailOff, h, "emergency", emergency), Timeout: t.PowerOff, Retry: once})
}

// reset plans the host reset types.
func (c *Coordinator) reset(h actors.ID, typ string, snap *snapshot) []saga.Step {
	t := c.cfg.Timeouts
	cycleOn := saga.Step{Name: "host " + h.Name() + " back on", Command: cmd(actHostCycleOn, h), Compensation: comp(cmd(actHostForceOff, h)), Timeout: t.CycleWait + t.HostPowerGood, Retry: once}
	switch typ {
	case machine.RequestGracefulRestart:
		return []saga.Step{
			{Name: "host " + h.Name() + " restart request", Command: cmd(actRequest, h, "request", typ), Timeout: t.Request},
			{Name: "host " + h.Name() + " graceful shutdown", Command: cmd(actHostGraceful, h), Timeout: t.Graceful, Retry: once, Escalate: true},
			{Name: "host " + h.Name() + " power button override", Command: cmd(actHostOverride, h), Timeout: c.cfg.Topology.Buttons.ForceOffHold + t.PowerOff, Retry: once},
			cycleOn,
		}
	case machine.RequestPowerCycle:
		return []saga.Step{
			{Name: "host " + h.Name() + " power cycle request", Command: cmd(actRequest, h, "request", typ), Timeout: t.Request},
			{Name: "host " + h.Name() + " hold off", Command: cmd(actHostOverride, h, "request", "none"), Timeout: c.cfg.Topology.Buttons.ForceOffHold + t.PowerOff, Retry: once},
			cycleOn,
		}
	case machine.RequestForceRestart, machine.RequestNmi:
		return []saga.Step{{Name: "host " + h.Name() + " " + typ, Command: cmd(actHostPulse, h, "request", typ), Timeout: t.Request + c.cfg.Topology.Buttons.ResetPulse + t.NMIPulse, Retry: once}}
	case machine.RequestPushPowerButton:
		if c.cfg.Topology.steady(h, snap.state(h), machine.PowerOff) {
			return []saga.Step{c.hostOn(h, typ)}
		}
		return []saga.Step{
			{Name: "host " + h.Name() + " push power button", Command: cmd(actRequest, h, "request", typ, "satisfied", machine.StateOff), Timeout: t.Request},
			{Name: "host " + h.Name() + " graceful shutdown", Command: cmd(actHostGraceful, h), Timeout: t.Graceful, Retry: once},
		}
	}
	// ForceOn (validated).
	return []saga.Step{c.hostOn(h, typ)}
}

// emergencyPlan powers the affected hosts off, hardware first: every host
// step is best effort (a failure is logged and the plan goes on), and
// unless the action isolates the hosts, the chassis PSUs are switched off
// at the end whatever the hosts did, so power-off happens even when the
// orchestration around it fails (openbmc#2657).
func (c *Coordinator) emergencyPlan(e *emergencyOp, snap *snapshot) []saga.Step {
	t := c.cfg.Timeouts
	var steps []saga.Step
	if e.action == IsolateComponent {
		for _, h := range e.hosts {
			steps = append(steps, c.ladder(h, machine.RequestForceOff, 0, "true")...)
		}
		return steps
	}
	for _, h := range e.hosts {
		if c.cfg.Topology.steady(h, snap.state(h), machine.PowerOff) {
			continue
		}
		request := machine.RequestForceOff
		if e.action == GracefulShutdown {
			request = machine.RequestGracefulShutdown
		}
		steps = append(steps, saga.Step{Name: "emergency host " + h.Name() + " " + request, Command: cmd(actRequest, h, "request", request, "satisfied", machine.StateOff, "emergency", "true"), Timeout: t.Request})
		if e.action == GracefulShutdown {
			steps = append(steps, saga.Step{Name: "emergency host " + h.Name() + " graceful shutdown", Command: cmd(actHostGraceful, h, "emergency", "true", "best_effort", "true"), Timeout: t.EmergencyGraceful, Retry: once})
		}
		steps = append(steps, saga.Step{Name: "emergency host " + h.Name() + " power button override", Command: cmd(actHostOverride, h, "emergency", "true", "best_effort", "true"), Timeout: c.cfg.Topology.Buttons.ForceOffHold + t.PowerOff, Retry: once})
	}
	for _, ch := range e.chassis {
		steps = append(steps, c.chassisOff(ch, "true")...)
	}
	return steps
}
