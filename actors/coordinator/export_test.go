package coordinator

import "context"

// BlockersNow is Blockers from a fresh read of the components and
// hardware, whatever the age of the last one (property tests change the
// state between reads without moving the clock).
func (c *Coordinator) BlockersNow(ctx context.Context) ([]RequestBlockers, error) {
	c.reads.mu.Lock()
	c.reads.snap = nil
	c.reads.mu.Unlock()
	return c.Blockers(ctx)
}
