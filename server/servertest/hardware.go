package servertest

import (
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
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
