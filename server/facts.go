package server

import (
	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// facts computes the guard facts for a request to component id from the
// states of the components related to it, as of their last durable records
// (the view cache: a fact read from an actor could change just as well
// before the guard is evaluated, so the cache is as good and costs no round
// trip to a component every request shares). Until the coordinator exists
// this is the one place that knows those relations; the coordinator
// replaces this function:
//
//   - bmc_ready: the BMC is Ready;
//   - firmware_update_in_progress: the BMC is UpdateInProgress;
//   - chassis_on (hosts): the chassis powering the host is On;
//   - hosts_off (chassis): every host the chassis powers is Off.
//
// auto_reboot is not known yet and stays false.
func (s *Server) facts(id actors.ID) machine.Facts {
	state := func(of actors.ID) string {
		v, _ := s.views.get(of)
		return v.Status.State
	}
	bmc := state(s.bmc)
	facts := machine.Facts{
		"bmc_ready":                   bmc == machine.StateReady,
		"firmware_update_in_progress": bmc == machine.StateUpdateInProgress,
	}
	switch id.Kind() {
	case actors.KindHost:
		facts["chassis_on"] = state(s.hostChassis[id]) == machine.StateOn
	case actors.KindChassis:
		off := true
		for host, chassis := range s.hostChassis {
			if chassis == id {
				off = off && state(host) == machine.StateOff
			}
		}
		facts["hosts_off"] = off
	}
	return facts
}
