package sim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/sim"
)

var (
	chassisOn = coordinator.Request{Kind: coordinator.ChassisPowerOn, Target: "chassis.0", Requester: "user:test"}
	hostOn    = coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", Requester: "user:test"}
)

var ctx = context.Background()

// TestSameSeedSameTrace runs seeds twice each: the traces are identical,
// byte for byte.
func TestSameSeedSameTrace(t *testing.T) {
	for seed := range uint64(4) {
		actions := sim.ActionsFor(sim.Options{}, seed, 120)
		var a, b bytes.Buffer
		_, erra := sim.Run(ctx, sim.Options{}, actions, &a)
		_, errb := sim.Run(ctx, sim.Options{}, actions, &b)
		if erra != nil || errb != nil {
			t.Fatalf("seed %d: %v / %v\n%s", seed, erra, errb, a.String())
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("seed %d, different traces:\n--- first\n%s\n--- second\n%s", seed, a.String(), b.String())
		}
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
	if got := sim.Reproduction(actions, err); bytes.Count([]byte(got), []byte(`"kind"`)) != 5 {
		t.Fatalf("reproduction %s, want the 5 actions up to the violation", got)
	}
}
