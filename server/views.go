package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/events"
)

// viewCache holds each component's view as of its last durable record: a
// projection of the log, fed by the publisher (every record carries the
// status right after it) and by control replies, so read subjects answer
// without a round trip to the component's actor and never show a state
// that is not in the log. Updates are monotonic by stream version.
type viewCache struct {
	mu    sync.RWMutex
	views map[actors.ID]protoactor.View
}

func newViewCache() *viewCache { return &viewCache{views: map[actors.ID]protoactor.View{}} }

// update stores v unless the cache already holds a newer view.
func (c *viewCache) update(v protoactor.View) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.views[v.ID]; ok && cur.Version >= v.Version {
		return
	}
	c.views[v.ID] = v
}

// statuses returns every component's last durable status.
func (c *viewCache) statuses() map[actors.ID]machine.Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[actors.ID]machine.Status, len(c.views))
	for id, v := range c.views {
		out[id] = v.Status
	}
	return out
}

func (c *viewCache) get(id actors.ID) (protoactor.View, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.views[id]
	return v, ok
}

// seedViews asks every component's actor for its view once, at Start.
func (s *Server) seedViews(ctx context.Context) error {
	for _, id := range s.cfg.System.IDs() {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		v, err := s.cfg.System.Get(ctx, id)
		cancel()
		if err != nil {
			return fmt.Errorf("cannot read %s's state: %w", id, err)
		}
		s.views.update(*v)
	}
	return nil
}

// observeRecord updates the cache from a durable record of a component.
func (s *Server) observeRecord(e events.Event, r actors.Record) {
	id := actors.ID(e.Stream)
	m, ok := s.cfg.System.Machine(id)
	if !ok {
		return
	}
	s.views.update(protoactor.View{ID: id, Status: r.Status, Allowed: machine.Allowed(m, r.Status, nil), Version: e.StreamSeq})
}
