package server

import (
	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
)

// facts computes the guard facts for a request to component id with the
// coordinator's rules (chassis_on, hosts_off, bmc_ready,
// firmware_update_in_progress, ...), from the components' states as of
// their last durable records: the view cache. A fact read from an actor
// could change just as well before the guard is evaluated, so the cache is
// as good and costs no round trip to a component every request shares.
// auto_reboot is the coordinator's policy and stays false here.
func (s *Server) facts(id actors.ID) (f machine.Facts) {
	s.views.withStatuses(func(st map[actors.ID]machine.Status) { f = coordinator.Facts(s.topo, st, id, false) })
	return f
}
