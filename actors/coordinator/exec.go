package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/actors/saga"
)

// StepOperation returns the coordinator operation a saga step's command id
// belongs to: "op-000042/2" and "op-000042/2/undo" belong to "op-000042".
// It is for correlating records with operations; who performs a step's
// effects is Input.PerformedBy, never read from an id.
func StepOperation(id string) (string, bool) {
	base, _, step := strings.Cut(id, "/")
	return base, step && strings.HasPrefix(base, "op-")
}

// executor performs saga commands against the components and Hardware.
type executor struct{ c *Coordinator }

var _ saga.Executor = (*executor)(nil)

var errTimeout = errors.New("timed out")

func (x *executor) Execute(ctx context.Context, id string, c saga.Command) error {
	err := x.execute(ctx, id, c)
	if err != nil && c.Params["best_effort"] == "true" {
		x.c.log.Error("best-effort step failed; going on", "cmd", id, "action", c.Action, "target", c.Target, "error", err)
		return nil
	}
	return err
}

func (x *executor) execute(ctx context.Context, id string, c saga.Command) error {
	emergency := c.Params["emergency"] == "true"
	switch c.Action {
	case actRequest:
		return x.request(ctx, id, actors.ID(c.Target), c.Params["request"], c.Params["satisfied"], emergency)
	case actPSUOn:
		if err := x.c.cfg.Hardware.PSUOn(ctx, c.Target); err != nil {
			return err
		}
		return x.waitUntil(ctx, fmt.Sprintf("psu %s power good", c.Target), func() (bool, error) { return x.psuGood(ctx, c.Target) })
	case actPSUOff:
		if err := x.c.cfg.Hardware.PSUOff(ctx, c.Target); err != nil {
			return err
		}
		return x.waitUntil(ctx, fmt.Sprintf("psu %s power good gone", c.Target), func() (bool, error) { g, err := x.psuGood(ctx, c.Target); return !g, err })
	case actChassisSettle:
		return x.chassisSettle(ctx, id, actors.ID(c.Target), c.Params["want"] == "on", emergency)
	case actHostOn:
		return x.hostOn(ctx, id, actors.ID(c.Target), c.Params["request"])
	case actHostForceOff:
		return x.hostOff(ctx, id, actors.ID(c.Target), "hold", false)
	case actHostGraceful:
		return x.hostOff(ctx, id, actors.ID(c.Target), "press", emergency)
	case actHostOverride:
		mode := "override"
		if c.Params["request"] == "none" {
			mode = "hold"
		}
		return x.hostOff(ctx, id, actors.ID(c.Target), mode, emergency)
	case actHostRailOff:
		return x.railOff(ctx, id, actors.ID(c.Target), emergency)
	case actHostCycleOn:
		return x.cycleOn(ctx, id, actors.ID(c.Target))
	case actHostPulse:
		return x.pulse(ctx, id, actors.ID(c.Target), c.Params["request"])
	case actWait:
		d, err := time.ParseDuration(c.Params["duration"])
		if err != nil {
			return saga.Permanent(fmt.Errorf("%w: wait duration %q: %w", ErrInvalidRequest, c.Params["duration"], err))
		}
		return x.c.sleep(ctx, d)
	default:
		return saga.Permanent(fmt.Errorf("%w: unknown saga action %q", ErrInvalidRequest, c.Action))
	}
}

// Query reads the components and the hardware to tell whether a command
// took effect.
func (x *executor) Query(ctx context.Context, id string, c saga.Command) (saga.Applied, error) {
	answer := func(yes bool, err error) (saga.Applied, error) {
		switch {
		case err != nil:
			return saga.Unknown, err
		case yes:
			return saga.Yes, nil
		}
		return saga.No, nil
	}
	target := actors.ID(c.Target)
	switch c.Action {
	case actRequest, actHostPulse:
		v, err := x.c.cfg.Components.Get(ctx, target)
		if err != nil {
			return saga.Unknown, err
		}
		r := v.Status.Requested
		return answer((r != nil && r.Operation == id) || (c.Params["satisfied"] != "" && v.Status.State == c.Params["satisfied"]), nil)
	case actPSUOn:
		return answer(x.psuGood(ctx, c.Target))
	case actPSUOff:
		g, err := x.psuGood(ctx, c.Target)
		return answer(!g, err)
	case actChassisSettle:
		on, err := x.chassisPowered(ctx, target)
		if err != nil {
			return saga.Unknown, err
		}
		v, err := x.c.cfg.Components.Get(ctx, target)
		if err != nil {
			return saga.Unknown, err
		}
		want := c.Params["want"] == "on"
		topo := x.c.cfg.Topology
		return answer(on == want && topo.steady(target, v.Status.State, machine.PowerOn) == want && (want || topo.steady(target, v.Status.State, machine.PowerOff)), nil)
	case actHostOn, actHostCycleOn:
		on, st, err := x.host(ctx, target)
		return answer(on && st == machine.StateRunning, err)
	case actHostForceOff, actHostGraceful, actHostOverride, actHostRailOff:
		on, st, err := x.host(ctx, target)
		return answer(!on && !x.c.cfg.Topology.powered(target, st), err)
	}
	return saga.No, nil
}

func (x *executor) host(ctx context.Context, h actors.ID) (bool, string, error) {
	on, err := x.c.cfg.Hardware.HostPowerGood(ctx, h.Name())
	if err != nil {
		return false, "", err
	}
	v, err := x.c.cfg.Components.Get(ctx, h)
	if err != nil {
		return false, "", err
	}
	return on, v.Status.State, nil
}

func (x *executor) psuGood(ctx context.Context, psu string) (bool, error) {
	st, err := x.c.cfg.Hardware.PSUStatus(ctx, psu)
	return st.PowerGood, err
}

func (x *executor) chassisPowered(ctx context.Context, ch actors.ID) (bool, error) {
	topo, _ := x.c.cfg.Topology.chassisOf(ch)
	for _, p := range topo.PSUs {
		g, err := x.psuGood(ctx, p)
		if err != nil {
			return false, err
		}
		if g {
			return true, nil
		}
	}
	return false, nil
}

// facts reads the statuses the guards of an input to id depend on.
func (x *executor) facts(ctx context.Context, id actors.ID) machine.Facts {
	topo := x.c.cfg.Topology
	ids := []actors.ID{topo.BMC}
	if ch, ok := topo.chassisOf(id); ok {
		ids = append(append(ids, ch.ID), ch.Hosts...)
	}
	st := map[actors.ID]machine.Status{}
	for _, i := range ids {
		if v, err := x.c.cfg.Components.Get(ctx, i); err == nil {
			st[i] = v.Status
		}
	}
	var auto bool
	_ = x.c.call(func(s *state) { auto = x.c.autoReboot(s, id) })
	return Facts(topo, st, id, auto)
}

// send steps a component with a request (op set) or an observation.
func (x *executor) send(ctx context.Context, id actors.ID, kind machine.InputKind, trigger, op, cause string) (*protoactor.Outcome, error) {
	rctx, cancel := context.WithTimeout(clock.WithoutCancel(ctx), x.c.cfg.Timeouts.Request)
	defer cancel()
	in := machine.Input{Kind: kind, Trigger: trigger, Operation: op, Cause: cause, Facts: x.facts(ctx, id)}
	if op != "" {
		// A step's hardware side is the coordinator's own (Hardware): the
		// component records the transition and leaves its effects to us.
		in.PerformedBy = machine.PerformedByCoordinator
	}
	if kind == machine.KindRequest {
		in.Requester = x.requester(op)
	}
	out, err := x.c.cfg.Components.Request(rctx, id, in)
	if errors.Is(err, machine.ErrRejected) || errors.Is(err, machine.ErrUnknownRequest) || errors.Is(err, machine.ErrInvalidInput) {
		return nil, saga.Permanent(err)
	}
	return out, err
}

// requester names who asked for the operation a step command belongs to,
// so that the component's history says who asked, not only that the
// coordinator did.
func (x *executor) requester(cmd string) string {
	base, _, _ := strings.Cut(cmd, "/")
	who := ""
	_ = x.c.call(func(s *state) {
		if o := s.ops[base]; o != nil {
			who = o.req.Requester
		}
	})
	if who == "" {
		return "coordinator"
	}
	return who
}

func (x *executor) observe(ctx context.Context, id actors.ID, trigger, cause string) error {
	_, err := x.send(ctx, id, machine.KindObservation, trigger, "", cause)
	return err
}

func (x *executor) request(ctx context.Context, op string, id actors.ID, trigger, satisfied string, emergency bool) error {
	if satisfied != "" {
		v, err := x.c.cfg.Components.Get(ctx, id)
		if err == nil && v.Status.State == satisfied {
			return nil
		}
	}
	if (trigger == machine.RequestOn || trigger == machine.RequestForceOn) && !emergency {
		// A power-on that finds its component still powering off (a
		// request made straight to it) waits for the off to finish rather
		// than being refused, and compensated, for the moment it came at.
		if err := x.waitUntil(ctx, fmt.Sprintf("%s to finish powering off", id), func() (bool, error) {
			v, err := x.c.cfg.Components.Get(ctx, id)
			return err == nil && v.Status.State != machine.StateTransitioningToOff, err
		}); err != nil {
			return err
		}
	}
	_, err := x.send(ctx, id, machine.KindRequest, trigger, op, "")
	if err != nil && emergency {
		// An emergency goes on to the hardware whatever the bookkeeping
		// says (openbmc#2657).
		x.c.log.Error("emergency: component request failed; acting on the hardware anyway", "component", id, "request", trigger, "error", err)
		return nil
	}
	return err
}

// waitUntil polls cond on the clock until it holds or the step's deadline
// passes.
func (x *executor) waitUntil(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline, ok := clock.Deadline(ctx)
	if !ok {
		deadline = x.c.cfg.Clock.Now().Add(saga.DefaultTimeout)
	}
	start := x.c.cfg.Clock.Now()
	for {
		done, err := cond()
		if err == nil && done {
			return nil
		}
		now := x.c.cfg.Clock.Now()
		if !now.Before(deadline) {
			if err != nil {
				return fmt.Errorf("%s: %w after %s: %w", what, errTimeout, now.Sub(start), err)
			}
			return fmt.Errorf("%s: %w after %s", what, errTimeout, now.Sub(start))
		}
		if serr := x.c.sleep(ctx, min(x.c.cfg.Timeouts.Poll, deadline.Sub(now))); serr != nil {
			if !errors.Is(serr, context.DeadlineExceeded) {
				return serr
			}
			// The step's deadline cancelled the wait: one last look.
			if done, err := cond(); err == nil && done {
				return nil
			}
			return fmt.Errorf("%s: %w after %s", what, errTimeout, x.c.cfg.Clock.Now().Sub(start))
		}
	}
}

// hold drives a line for d, and always releases it.
func (x *executor) hold(ctx context.Context, set func(context.Context, string, bool) error, host string, d time.Duration) error {
	if err := set(ctx, host, true); err != nil {
		return err
	}
	serr := x.c.sleep(clock.WithoutCancel(ctx), d)
	return errors.Join(serr, set(clock.WithoutCancel(ctx), host, false))
}

func (x *executor) hostOn(ctx context.Context, op string, h actors.ID, request string) error {
	on, st, err := x.host(ctx, h)
	if err != nil {
		return err
	}
	if on && x.c.cfg.Topology.steady(h, st, machine.PowerOn) {
		// Powered already: there is nothing to power on. Sending the
		// request anyway would be wrong twice: PushPowerButton would
		// switch a powered host off, and a refusal would be compensated
		// by powering off a host that was on before the operation (found
		// by the simulation). Restarting a diagnosed or hung host is a
		// reset's job.
		return nil
	}
	out, err := x.send(ctx, h, machine.KindRequest, request, op, "")
	if err != nil {
		return err
	}
	if !out.Duplicate && !on {
		if err := x.hold(ctx, x.c.cfg.Hardware.SetPowerButton, h.Name(), x.c.cfg.Topology.Buttons.PowerPulse); err != nil {
			return err
		}
	}
	if err := x.waitUntil(ctx, fmt.Sprintf("host %s power good", h), func() (bool, error) { return x.c.cfg.Hardware.HostPowerGood(ctx, h.Name()) }); err != nil {
		return err
	}
	return x.hostSettleOn(ctx, h)
}

func (x *executor) hostSettleOn(ctx context.Context, h actors.ID) error {
	v, err := x.c.cfg.Components.Get(ctx, h)
	if err != nil {
		return err
	}
	switch v.Status.State {
	case machine.StateRunning:
		return nil
	case machine.StateOff, machine.StateTransitioningToRunning, machine.StateError:
		return x.observe(ctx, h, machine.ObservedPowerGoodAsserted, "power good read by the coordinator")
	}
	return fmt.Errorf("host %s is powered but its component is %s", h, v.Status.State)
}

// hostOff powers h off by mode (press: graceful; override: ForceOff
// request then hold; hold: hold only) unless it is off already, then
// brings its component to match.
func (x *executor) hostOff(ctx context.Context, op string, h actors.ID, mode string, emergency bool) error {
	on, err := x.c.cfg.Hardware.HostPowerGood(ctx, h.Name())
	if err != nil {
		return err
	}
	if on {
		if mode == "override" {
			if _, err := x.send(ctx, h, machine.KindRequest, machine.RequestForceOff, op, "escalation: power button override"); err != nil && !emergency {
				x.c.log.Warn("force off request refused; holding the button anyway", "host", h, "op", op, "error", err)
			}
		}
		d := x.c.cfg.Topology.Buttons.ForceOffHold
		if mode == "press" {
			d = x.c.cfg.Topology.Buttons.PowerPulse
		}
		if err := x.hold(ctx, x.c.cfg.Hardware.SetPowerButton, h.Name(), d); err != nil {
			return err
		}
		if err := x.waitUntil(ctx, fmt.Sprintf("host %s power good gone", h), func() (bool, error) {
			g, err := x.c.cfg.Hardware.HostPowerGood(ctx, h.Name())
			return !g, err
		}); err != nil {
			return err
		}
	}
	return x.settleOff(ctx, op, h, emergency)
}

// settleOff brings a host component whose power is off to match:
// Running or TransitioningToRunning through ForceOff, then the observed
// power good loss.
func (x *executor) settleOff(ctx context.Context, op string, h actors.ID, emergency bool) error {
	err := x.hostSettleOff(ctx, op, h)
	if err != nil && emergency {
		x.c.log.Error("emergency: host powered off but its component could not be updated", "host", h, "error", err)
		return nil
	}
	return err
}

func (x *executor) hostSettleOff(ctx context.Context, op string, h actors.ID) error {
	v, err := x.c.cfg.Components.Get(ctx, h)
	if err != nil {
		return err
	}
	switch v.Status.State {
	case machine.StateRunning, machine.StateTransitioningToRunning:
		if _, err := x.send(ctx, h, machine.KindRequest, machine.RequestForceOff, op+"/settle", "power good read off by the coordinator"); err != nil {
			return err
		}
	case machine.StateOff:
		return nil
	}
	return x.observe(ctx, h, machine.ObservedPowerGoodDeasserted, "power good read off by the coordinator")
}

func (x *executor) railOff(ctx context.Context, op string, h actors.ID, emergency bool) error {
	on, err := x.c.cfg.Hardware.HostPowerGood(ctx, h.Name())
	if err != nil || !on {
		if err != nil {
			return err
		}
		return x.settleOff(ctx, op, h, emergency)
	}
	rails := x.c.cfg.Topology.Rails[h]
	ch, _ := x.c.cfg.Topology.chassisOf(h)
	if len(rails) == 0 {
		for _, other := range ch.Hosts {
			if other == h {
				continue
			}
			if g, err := x.c.cfg.Hardware.HostPowerGood(ctx, other.Name()); err != nil || g {
				return saga.Permanent(fmt.Errorf("host %s has no rail of its own and %s of %s is powered (or unreadable: %v): cutting the chassis PSUs would take it down too", h, other, ch.ID, err))
			}
		}
		rails = slices.Clone(ch.PSUs)
		slices.Reverse(rails)
	}
	for _, r := range rails {
		if err := x.c.cfg.Hardware.PSUOff(ctx, r); err != nil {
			return err
		}
	}
	if err := x.waitUntil(ctx, fmt.Sprintf("host %s power good gone after rail off", h), func() (bool, error) {
		g, err := x.c.cfg.Hardware.HostPowerGood(ctx, h.Name())
		return !g, err
	}); err != nil {
		return err
	}
	if err := x.settleOff(ctx, op, h, emergency); err != nil {
		return err
	}
	if len(x.c.cfg.Topology.Rails[h]) == 0 {
		return x.chassisSettle(ctx, op, ch.ID, false, emergency)
	}
	return nil
}

// chassisSettle makes the chassis component match the PSUs. want off
// also switches off any PSU still on, in reverse order, and first brings
// the hosts' components Off (their power is gone with the chassis's).
func (x *executor) chassisSettle(ctx context.Context, op string, ch actors.ID, wantOn, emergency bool) error {
	err := x.chassisSettleErr(ctx, op, ch, wantOn)
	if err != nil && emergency {
		x.c.log.Error("emergency: chassis component could not be updated", "chassis", ch, "error", err)
		return nil
	}
	return err
}

func (x *executor) chassisSettleErr(ctx context.Context, op string, ch actors.ID, wantOn bool) error {
	topo, _ := x.c.cfg.Topology.chassisOf(ch)
	if wantOn {
		on, err := x.chassisPowered(ctx, ch)
		if err != nil {
			return err
		}
		if !on {
			return fmt.Errorf("%s: no PSU reports power good", ch)
		}
		v, err := x.c.cfg.Components.Get(ctx, ch)
		if err != nil || v.Status.State == machine.StateOn {
			return err
		}
		return x.observe(ctx, ch, machine.ObservedPowerGoodAsserted, "PSU power good read by the coordinator")
	}
	psus := slices.Clone(topo.PSUs)
	slices.Reverse(psus)
	for _, p := range psus {
		if g, err := x.psuGood(ctx, p); err != nil || g {
			if err := x.c.cfg.Hardware.PSUOff(ctx, p); err != nil {
				return err
			}
		}
	}
	if err := x.waitUntil(ctx, fmt.Sprintf("%s power good gone", ch), func() (bool, error) { on, err := x.chassisPowered(ctx, ch); return !on, err }); err != nil {
		return err
	}
	for _, h := range topo.Hosts {
		if err := x.hostSettleOff(ctx, op+"/"+h.Name(), h); err != nil {
			return err
		}
	}
	v, err := x.c.cfg.Components.Get(ctx, ch)
	if err != nil {
		return err
	}
	switch v.Status.State {
	case machine.StateOff:
		return nil
	case machine.StateOn, machine.StateTransitioningToOn, machine.StateError:
		if _, err := x.send(ctx, ch, machine.KindRequest, machine.RequestOff, op+"/settle", "PSUs read off by the coordinator"); err != nil {
			return err
		}
	}
	return x.observe(ctx, ch, machine.ObservedPowerGoodDeasserted, "PSU power good read off by the coordinator")
}

func (x *executor) cycleOn(ctx context.Context, op string, h actors.ID) error {
	on, st, err := x.host(ctx, h)
	if err != nil {
		return err
	}
	if on {
		return x.hostSettleOn(ctx, h)
	}
	if err := x.c.sleep(ctx, x.c.cfg.Timeouts.CycleWait); err != nil {
		return err
	}
	switch st {
	case machine.StateOff:
		if _, err := x.send(ctx, h, machine.KindRequest, machine.RequestOn, op, "power cycle: back on"); err != nil {
			return err
		}
	case machine.StateTransitioningToRunning:
	default:
		return saga.Permanent(fmt.Errorf("host %s is %s after its power went off; cannot power it back on", h, st))
	}
	if err := x.hold(ctx, x.c.cfg.Hardware.SetPowerButton, h.Name(), x.c.cfg.Topology.Buttons.PowerPulse); err != nil {
		return err
	}
	if err := x.waitUntil(ctx, fmt.Sprintf("host %s power good", h), func() (bool, error) { return x.c.cfg.Hardware.HostPowerGood(ctx, h.Name()) }); err != nil {
		return err
	}
	return x.hostSettleOn(ctx, h)
}

func (x *executor) pulse(ctx context.Context, op string, h actors.ID, request string) error {
	out, err := x.send(ctx, h, machine.KindRequest, request, op, "")
	if err != nil || out.Duplicate {
		return err
	}
	if request == machine.RequestNmi {
		return x.hold(ctx, x.c.cfg.Hardware.SetNMI, h.Name(), x.c.cfg.Timeouts.NMIPulse)
	}
	return x.hold(ctx, x.c.cfg.Hardware.SetReset, h.Name(), x.c.cfg.Topology.Buttons.ResetPulse)
}
