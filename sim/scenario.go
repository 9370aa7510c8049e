package sim

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// Scenario is a named simulation of a field bug: fixed actions, and what
// the run must end in besides every invariant holding.
type Scenario struct {
	Name    string
	Doc     string
	Options Options
	Actions []Action
	// Expect checks the end of the run.
	Expect func(Report) error
}

// Component and request shorthands of the built-in platform, which the
// scenarios use.
const (
	host0    = actors.ID("host.0")
	host1    = actors.ID("host.1")
	chassis0 = actors.ID("chassis.0")
)

func wait(d time.Duration) Action { return Action{Kind: Advance, Duration: d} }

func submit(reqs ...coordinator.Request) Action { return Action{Kind: Submit, Requests: reqs} }

func req(kind coordinator.Kind, target actors.ID, reset string) coordinator.Request {
	return coordinator.Request{Kind: kind, Target: target, ResetType: reset, Requester: "user:field"}
}

func fault(kind simhw.FaultKind, target string) Action {
	return Action{Kind: InjectFault, Fault: &simhw.Fault{Kind: kind, Target: target}}
}

// bothOn powers the chassis and both hosts on.
var bothOn = []Action{
	submit(req(coordinator.ChassisPowerOn, chassis0, "")), wait(10 * time.Second),
	submit(req(coordinator.HostPowerOn, host0, "")), wait(30 * time.Second),
	submit(req(coordinator.HostPowerOn, host1, "")), wait(30 * time.Second),
}

func steps(parts ...[]Action) []Action { return slices.Concat(parts...) }

// expectState fails unless each component ends in its state.
func expectState(r Report, want map[actors.ID]string) error {
	for _, id := range sortedKeys(want) {
		if got := r.States[id].State; got != want[id] {
			return fmt.Errorf("%s ends %s, want %s", id, got, want[id])
		}
	}
	return nil
}

// expectPower fails unless each host's power good is as wanted.
func expectPower(r Report, want map[actors.ID]bool) error {
	for _, id := range sortedKeys(want) {
		if got := r.Power.Hosts[id]; got != want[id] {
			return fmt.Errorf("%s power good is %t, want %t", id, got, want[id])
		}
	}
	return nil
}

// Scenarios are the field bugs the simulation replays (bmc.md part d).
var Scenarios = []Scenario{
	{
		Name:    "apr-not-on-restart",
		Doc:     "power-restore policy must not fire on a daemon or BMC restart (openbmc#3031, #1572, #2224)",
		Options: Options{Policy: coordinator.Policy{PowerRestore: coordinator.AlwaysOn}},
		Actions: steps(
			[]Action{submit(req(coordinator.ChassisPowerOn, chassis0, "")), wait(10 * time.Second),
				submit(req(coordinator.HostPowerOn, host0, "")), wait(30 * time.Second)},
			[]Action{{Kind: DaemonCrash}, wait(time.Minute), {Kind: BMCReboot, Cause: machine.RebootCauseWatchdog}, wait(time.Minute),
				{Kind: BMCReboot, Cause: machine.RebootCausePinholeReset}, wait(time.Minute)},
		),
		Expect: func(r Report) error {
			return firstErr(expectState(r, map[actors.ID]string{host0: machine.StateRunning, host1: machine.StateOff}),
				expectPower(r, map[actors.ID]bool{host0: true, host1: false}))
		},
	},
	{
		Name:    "laststate-restores-observed",
		Doc:     "LastState restores the last observed state, not the last requested (openbmc#2454)",
		Options: Options{Policy: coordinator.Policy{PowerRestore: coordinator.LastState}},
		Actions: steps(
			[]Action{submit(req(coordinator.ChassisPowerOn, chassis0, "")), wait(10 * time.Second),
				submit(req(coordinator.HostPowerOn, host1, "")), wait(30 * time.Second),
				// host.0 is asked to power on and never does.
				fault(simhw.HostPowerGoodNeverRises, "0"), submit(req(coordinator.HostPowerOn, host0, "")), wait(time.Minute),
				{Kind: ClearFault, Fault: &simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"}},
				{Kind: ACCycle, Duration: 30 * time.Second}, wait(2 * time.Minute)},
		),
		Expect: func(r Report) error {
			return firstErr(expectPower(r, map[actors.ID]bool{host0: false, host1: true}),
				expectState(r, map[actors.ID]string{host1: machine.StateRunning}))
		},
	},
	{
		Name:    "laststate-ac-loss-bmc-up",
		Doc:     "LastState after an AC loss the BMC watched (its own power held): the hosts recorded off by the loss come back as they were",
		Options: Options{Policy: coordinator.Policy{PowerRestore: coordinator.LastState}},
		Actions: steps(
			[]Action{submit(req(coordinator.ChassisPowerOn, chassis0, "")), wait(10 * time.Second),
				submit(req(coordinator.HostPowerOn, host1, "")), wait(30 * time.Second),
				{Kind: ACLoss}, wait(30 * time.Second), {Kind: ACRestore}, wait(2 * time.Minute)},
		),
		Expect: func(r Report) error {
			return firstErr(expectPower(r, map[actors.ID]bool{host0: false, host1: true}),
				expectState(r, map[actors.ID]string{host1: machine.StateRunning, host0: machine.StateOff}))
		},
	},
	{
		Name: "no-chassis-off-under-running-host",
		Doc:  "a chassis Off with a host Running can never appear (openbmc#1933)",
		Actions: steps(bothOn, []Action{
			submit(req(coordinator.ChassisPowerOff, chassis0, "")), wait(time.Second),
			{Kind: ComponentRequest, Component: chassis0, Trigger: machine.RequestOff}, wait(time.Second),
			{Kind: ComponentRequest, Component: chassis0, Trigger: machine.RequestPowerCycle}, wait(time.Second),
			submit(req(coordinator.ChassisPowerCycle, chassis0, "")), wait(time.Minute),
		}),
		Expect: func(r Report) error {
			return firstErr(expectState(r, map[actors.ID]string{chassis0: machine.StateOn, host0: machine.StateRunning, host1: machine.StateRunning}),
				expectPower(r, map[actors.ID]bool{host0: true, host1: true}))
		},
	},
	{
		Name:    "power-good-never-rises",
		Doc:     "a power good that never rises ends in a defined state, powered off",
		Actions: steps(bothOn[:2], []Action{fault(simhw.HostPowerGoodNeverRises, "0"), submit(req(coordinator.HostPowerOn, host0, "")), wait(10 * time.Minute)}),
		Expect: func(r Report) error {
			if st := r.States[host0].State; st != machine.StateOff && st != machine.StateError {
				return fmt.Errorf("host.0 ends %s, want Off or Error", st)
			}
			return firstErr(expectPower(r, map[actors.ID]bool{host0: false}), expectOutcomes(r, "failed", "compensated", "timed_out"))
		},
	},
	{
		Name: "graceful-off-escalates",
		Doc:  "a graceful off that times out escalates and never reverts to On (openbmc#1921, x86-power-control)",
		Actions: steps(bothOn, []Action{fault(simhw.HostIgnoresShutdown, "0"),
			submit(req(coordinator.HostGracefulOff, host0, "")), wait(10 * time.Minute)}),
		Expect: func(r Report) error {
			for _, t := range r.History[host0] {
				if t.From == machine.StateTransitioningToOff && t.To == machine.StateRunning {
					return fmt.Errorf("host.0 went back from TransitioningToOff to Running at %s (%s)", t.Time.Sub(Epoch), t.Cause)
				}
			}
			return firstErr(expectPower(r, map[actors.ID]bool{host0: false}), expectState(r, map[actors.ID]string{host0: machine.StateOff}))
		},
	},
	{
		Name: "second-request-busy-or-queued",
		Doc:  "a second power request during a saga gets busy or is queued, never interleaved",
		Actions: steps(bothOn[:2], []Action{
			submit(req(coordinator.HostPowerOn, host0, ""), req(coordinator.HostForceOff, host0, "")), wait(time.Minute),
			submit(req(coordinator.HostGracefulOff, host0, ""), coordinator.Request{Kind: coordinator.HostPowerOn, Target: host0, Queue: true, Requester: "user:field"}),
			wait(10 * time.Minute),
		}),
		Expect: func(r Report) error {
			if !strings.Contains(r.Results[2], "busy") {
				return fmt.Errorf("the second request during a power-on got %q, want busy", r.Results[2])
			}
			// The queued power-on ran after the graceful off: host.0 is on.
			return firstErr(expectPower(r, map[actors.ID]bool{host0: true}), expectState(r, map[actors.ID]string{host0: machine.StateRunning}))
		},
	},
}

// expectOutcomes fails unless the last operation ended in one of outcomes.
func expectOutcomes(r Report, outcomes ...string) error {
	ids := make([]string, 0, len(r.Operations))
	for id := range r.Operations {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return fmt.Errorf("no operation ran")
	}
	last := ids[len(ids)-1]
	if !slices.Contains(outcomes, string(r.Operations[last])) {
		return fmt.Errorf("operation %s ended %q, want one of %v", last, r.Operations[last], outcomes)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ScenarioNamed returns the scenario called name.
func ScenarioNamed(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios[i], true
}

// Run runs the scenario; it fails on a broken invariant or an end the
// scenario does not expect.
func (s Scenario) Run(ctx context.Context, trace io.Writer) (Report, error) {
	r, err := Run(ctx, s.Options, s.Actions, trace)
	if err != nil {
		return r, err
	}
	if err := s.Expect(r); err != nil {
		return r, fmt.Errorf("scenario %s (%s): %w", s.Name, s.Doc, err)
	}
	return r, nil
}
