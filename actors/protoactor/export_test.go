package protoactor

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/actors"
)

// Panic makes a component's actor panic and returns once the supervisor
// has handled the failure (its restart timer is armed).
func (s *System) Panic(id actors.ID, reason string) {
	pid, ok := s.pids[id]
	if !ok {
		return
	}
	handled := make(chan struct{}, 1)
	sub := s.sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok && e.Child.Id == pid.Id {
			select {
			case handled <- struct{}{}:
			default:
			}
		}
	})
	defer s.sys.EventStream.Unsubscribe(sub)
	s.sys.Root.Send(pid, &panicMsg{reason: reason})
	<-handled
}
