package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
)

// FastButtons returns a copy of p whose button timings are cut to
// milliseconds: 20 ms presses and a 200 ms force-off hold. The copy is the
// platform of everything a rig builds (machines, devices, simulated board,
// coordinator), so each reads the same number per pulse, as in the daemon.
func FastButtons(p *platform.Platform) *platform.Platform {
	fast := *p
	fast.Timeouts.PowerPulse, fast.Timeouts.ResetPulse = 20*time.Millisecond, 20*time.Millisecond
	fast.Timeouts.ForceOffHold = 200 * time.Millisecond
	return &fast
}

// FastSim returns the simulated platform of p with its delays cut from
// seconds to milliseconds, so that operations finish quickly on the real
// clock: PSUs reach power good in 20 ms, hosts in 20 ms and an OS shuts
// down in 100 ms; a hold of p's force_off_hold forces a host off.
func FastSim(p *platform.Platform) simhw.Config {
	cfg := devices.SimConfig(p, 1)
	for i := range cfg.PSUs {
		cfg.PSUs[i].PowerOnDelay, cfg.PSUs[i].SoftOffDelay = 20*time.Millisecond, 10*time.Millisecond
	}
	for i := range cfg.Hosts {
		h := &cfg.Hosts[i]
		h.PowerOnDelay, h.BootDelay, h.ShutdownDelay = 20*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	}
	cfg.MinPress = 10 * time.Millisecond
	return cfg
}

// FastTimeouts are the coordinator's timeouts matching FastSim; its
// button timings come from the platform (FastButtons).
func FastTimeouts() coordinator.Timeouts {
	return coordinator.Timeouts{
		PSUPowerGood: time.Second, HostPowerGood: 2 * time.Second, Graceful: 2 * time.Second,
		EmergencyGraceful: time.Second, PowerOff: time.Second, CycleWait: 50 * time.Millisecond,
		NMIPulse: 20 * time.Millisecond, Poll: 5 * time.Millisecond,
	}
}

// startHardware builds the platform's devices over a FastSim platform on
// the real clock; they are closed at the end of the test.
func startHardware(tb testing.TB, p *platform.Platform, logger hclog.Logger) (*devices.Hardware, *simhw.Platform) {
	tb.Helper()
	sim, err := simhw.New(clock.Real{}, FastSim(p))
	if err != nil {
		tb.Fatal(err)
	}
	hw, err := devices.New(devices.Config{Platform: p, Clock: clock.Real{}, Logger: logger, Sim: sim,
		PollInterval: 50 * time.Millisecond, ReconcileInterval: time.Hour})
	if err != nil {
		_ = sim.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = hw.Close()
		_ = sim.Close()
	})
	return hw, sim
}

// startCoordinator marks the BMC Ready, as the daemon does once it has
// recovered, and starts the coordinator; it is stopped at the end of the
// test, before the components.
func startCoordinator(tb testing.TB, p *platform.Platform, log events.Log, sys *protoactor.System, hw coordinator.Hardware, policy coordinator.Policy, logger hclog.Logger) *coordinator.Coordinator {
	tb.Helper()
	ctx := context.Background()
	bmc := actors.ID(actors.KindBMC + "." + p.BMC.Name)
	if _, err := sys.Request(ctx, bmc, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedServicesReady, Cause: "servertest"}); err != nil {
		tb.Fatal(err)
	}
	co, err := coordinator.New(coordinator.Config{Log: log, Components: sys, Hardware: hw, Clock: clock.Real{},
		Topology: coordinator.TopologyOf(p), Policy: policy, Timeouts: FastTimeouts(), Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	if err := co.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { co.Stop(context.Background()) })
	return co
}

// hardwareEffects performs the effects of hosts, chassis and the BMC on the
// devices, and those of services on Options.Services, if any.
type hardwareEffects struct {
	hw       *devices.Hardware
	services protoactor.Effector
}

func (e hardwareEffects) Perform(id actors.ID, effects []machine.Effect) {
	switch {
	case id.Kind() != actors.KindService:
		e.hw.Perform(id, effects)
	case e.services != nil:
		e.services.Perform(id, effects)
	}
}
