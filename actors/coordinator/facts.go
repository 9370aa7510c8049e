package coordinator

import (
	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Facts computes the guard facts of a request or observation for target
// from the components' statuses: chassis_on (target's chassis is in a
// stable state with power on: On), bmc_ready, hosts_off (every host of
// target's chassis is in a stable state with power off: Off),
// firmware_update_in_progress, bmc_reset_available (the platform can reset
// the BMC: Topology.BMCReset), power_status_good (target's chassis input
// power is not degraded) and auto_reboot (passed in: the coordinator knows
// the policy and the boot-attempt budget). The NATS server and the device
// layer call it (or Coordinator.Facts) for inputs they send themselves.
func Facts(topo Topology, st map[actors.ID]machine.Status, target actors.ID, autoReboot bool) machine.Facts {
	f := machine.Facts{"auto_reboot": autoReboot}
	bmc := st[topo.BMC].State
	f["bmc_ready"] = bmc == machine.StateReady
	f["firmware_update_in_progress"] = bmc == machine.StateUpdateInProgress
	f["bmc_reset_available"] = topo.BMCReset
	c, ok := topo.chassisOf(target)
	if !ok {
		return f
	}
	cs := st[c.ID]
	f["chassis_on"] = topo.steady(c.ID, cs.State, machine.PowerOn)
	f["power_status_good"] = cs.PowerStatus != machine.PowerStatusBrownOut && cs.PowerStatus != machine.PowerStatusUninterruptiblePowerSupply
	off := true
	for _, h := range c.Hosts {
		if s, ok := st[h]; ok && !topo.steady(h, s.State, machine.PowerOff) {
			off = false
		}
	}
	f["hosts_off"] = off
	return f
}
