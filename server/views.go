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
	// statuses holds the Status of each view again, for withStatuses:
	// every control request computes its guard facts from it, and copying
	// the statuses out for each was a twentieth of a request's CPU.
	statuses map[actors.ID]machine.Status
}

func newViewCache() *viewCache {
	return &viewCache{views: map[actors.ID]protoactor.View{}, statuses: map[actors.ID]machine.Status{}}
}

// update stores v unless the cache already holds a view as new.
func (c *viewCache) update(v protoactor.View) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.views[v.ID]; ok && cur.Version >= v.Version {
		return
	}
	c.views[v.ID] = v
	c.statuses[v.ID] = v.Status
}

// has reports whether the cache holds component id's view at version or
// newer, so that a caller can skip building an older view.
func (c *viewCache) has(id actors.ID, version uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cur, ok := c.views[id]
	return ok && cur.Version >= version
}

// withStatuses calls f with every component's last durable status, under
// the cache's read lock: f must not keep the map or write to it.
func (c *viewCache) withStatuses(f func(map[actors.ID]machine.Status)) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f(c.statuses)
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

// observeRecord updates the cache from a durable record of a component,
// unless the reply to the request that wrote it already did.
func (s *Server) observeRecord(e events.Event, r actors.Record) {
	id := actors.ID(e.Stream)
	if _, ok := s.cfg.System.Machine(id); !ok || s.views.has(id, e.StreamSeq) {
		return
	}
	s.views.update(protoactor.View{ID: id, Status: r.Status, Version: e.StreamSeq})
}
