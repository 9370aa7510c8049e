package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
)

// heartbeats times the hosts whose input block has a heartbeat: each
// event accepted for such a host (a heartbeat included) re-arms its timer
// on the server's clock; a timer that runs out while the host is Running
// reports a watchdog expiry through the coordinator's crash handling, and
// the host's timer stays disarmed until its next event. One timer per
// host at most: the map is bounded by the platform's hosts.
type heartbeats struct {
	s       *Server
	mu      sync.Mutex
	timers  map[actors.ID]clock.Timer
	gen     map[actors.ID]uint64 // bumped by each arm, so a superseded timer does nothing
	stopped bool
	firing  sync.WaitGroup
}

func newHeartbeats(s *Server) *heartbeats {
	return &heartbeats{s: s, timers: map[actors.ID]clock.Timer{}, gen: map[actors.ID]uint64{}}
}

// arm (re)starts host id's timer for d.
func (h *heartbeats) arm(id actors.ID, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	if t, ok := h.timers[id]; ok {
		t.Stop()
	}
	h.gen[id]++
	g := h.gen[id]
	h.timers[id] = h.s.cfg.Clock.AfterFunc(d, func() {
		h.mu.Lock()
		if h.stopped || h.gen[id] != g {
			h.mu.Unlock()
			return
		}
		delete(h.timers, id)
		h.firing.Add(1)
		h.mu.Unlock()
		// Not on the clock's goroutine: the crash handling waits on actors.
		go func() {
			defer h.firing.Done()
			h.expire(id, d)
		}()
	})
}

// expire reports the silence of host id's source as a watchdog expiry,
// if the host is Running (a host that is off has nothing to say).
func (h *heartbeats) expire(id actors.ID, d time.Duration) {
	s := h.s
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	v, err := s.cfg.System.Get(ctx, id)
	if err != nil {
		s.log.Error("host heartbeat ran out; cannot read the host", "host", id, "error", err)
		return
	}
	if v.Status.State != machine.StateRunning {
		s.log.Debug("host heartbeat ran out while the host is not running; nothing to do", "host", id, "state", v.Status.State)
		return
	}
	cause := fmt.Sprintf("no event on %s%s.%s for %v (its input block's heartbeat)", SubjectInputPrefix, HostInputKind, id.Name(), d)
	s.log.Warn("host heartbeat ran out: watchdog expiry", "host", id, "heartbeat", d)
	rebooted, out, err := s.cfg.Operations.ReportCrash(ctx, id, coordinator.Crash{Watchdog: true, Cause: cause})
	if err != nil {
		s.log.Error("host heartbeat ran out; the watchdog expiry was not handled", "host", id, "error", err)
		return
	}
	s.views.update(out.View)
	s.log.Warn("host heartbeat watchdog handled", "host", id, "state", out.View.Status.State, "rebooted", rebooted)
}

// stop disarms every timer and waits for expiries being handled.
func (h *heartbeats) stop() {
	h.mu.Lock()
	h.stopped = true
	for _, t := range h.timers {
		t.Stop()
	}
	clear(h.timers)
	h.mu.Unlock()
	h.firing.Wait()
}
