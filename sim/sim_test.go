package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/sim"
)

var (
	chassisOn = coordinator.Request{Kind: coordinator.ChassisPowerOn, Target: "chassis.0", Requester: "user:test"}
	hostOn    = coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", Requester: "user:test"}
)

var ctx = context.Background()

// TestSameActionsSameTrace runs each field scenario twice: the traces
// are identical, byte for byte.
func TestSameActionsSameTrace(t *testing.T) {
	for _, s := range sim.Scenarios {
		var a, b bytes.Buffer
		_, _ = s.Run(ctx, &a)
		_, _ = s.Run(ctx, &b)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%s: different traces:\n%s", s.Name, firstDifference(a.String(), b.String()))
		}
	}
}

// TestSameSeedSameTrace runs random seeds twice each: the traces are
// identical, byte for byte. (Before the coordinator and the devices told
// the driver exactly when they wait for the clock, about one run in eight
// differed.)
func TestSameSeedSameTrace(t *testing.T) {
	for seed := range uint64(4) {
		actions := sim.ActionsFor(sim.Options{}, seed, 60)
		var a, b bytes.Buffer
		_, erra := sim.Run(ctx, sim.Options{}, actions, &a)
		_, errb := sim.Run(ctx, sim.Options{}, actions, &b)
		if erra != nil || errb != nil {
			t.Fatalf("seed %d: %v / %v\n%s", seed, erra, errb, a.String())
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("seed %d, different traces:\n%s", seed, firstDifference(a.String(), b.String()))
		}
	}
}

// TestPowerCycleCutByACCycle is the run Minimize reduced a campaign
// failure to: a host in the off half of a power cycle when an AC cycle
// takes the board down. At the next start the coordinator's
// reconciliation told the host only that its power good was off, which
// the cycle took for its off half: the host went TransitioningToRunning
// under a chassis then recorded Off. It is told the chassis lost power.
func TestPowerCycleCutByACCycle(t *testing.T) {
	actions := []sim.Action{
		{Kind: sim.Submit, Requests: []coordinator.Request{{Kind: coordinator.HostPowerOn, Target: "host.0", ResetType: "ForceOn", PowerChassis: true, Requester: "user:test"}}},
		{Kind: sim.Advance, Duration: 3e9},
		{Kind: sim.ComponentRequest, Component: "host.0", Trigger: "PowerCycle"},
		{Kind: sim.ACCycle, Duration: 1e9},
		{Kind: sim.Advance, Duration: 60e9},
	}
	var trace strings.Builder
	rep, err := sim.Run(ctx, sim.Options{}, actions, &trace)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace.String())
	}
	if st := rep.States["host.0"].State; st != "Off" {
		t.Fatalf("host.0 is %s after the AC cycle cut its power cycle, want Off\n%s", st, trace.String())
	}
}

// TestViolationNamesInvariant: a broken invariant is reported with its
// name, step and evidence, and the reproduction stops at that step.
func TestViolationNamesInvariant(t *testing.T) {
	opts := sim.Options{Machine: withoutGuard("chassis", "hosts_off")}
	actions := []sim.Action{
		{Kind: sim.Submit, Requests: []coordinator.Request{chassisOn}}, {Kind: sim.Advance, Duration: 10e9},
		{Kind: sim.Submit, Requests: []coordinator.Request{hostOn}}, {Kind: sim.Advance, Duration: 30e9},
		{Kind: sim.ComponentRequest, Component: "chassis.0", Trigger: "Off"}, {Kind: sim.Advance, Duration: 60e9},
	}
	_, err := sim.Run(ctx, opts, actions, nil)
	v, ok := sim.IsViolation(err)
	if !ok || v.Invariant != sim.InvHostNeedsChassis || v.Step != 4 {
		t.Fatalf("got %v, want %s at step 4", err, sim.InvHostNeedsChassis)
	}
	var repro []sim.Action
	if err := json.Unmarshal([]byte(sim.Reproduction(actions, err)), &repro); err != nil || len(repro) != 5 {
		t.Fatalf("reproduction %v (%v), want the 5 actions up to the violation", repro, err)
	}
}

// firstDifference shows two traces from a few lines before the first line
// where they differ.
func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(la) && i < len(lb) && la[i] == lb[i] {
		i++
	}
	from := max(0, i-4)
	end := func(l []string) int { return min(len(l), i+4) }
	return fmt.Sprintf("--- first, from line %d\n%s\n--- second\n%s", from+1,
		strings.Join(la[from:end(la)], "\n"), strings.Join(lb[from:end(lb)], "\n"))
}
