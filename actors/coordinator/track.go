package coordinator

import (
	"context"
	"sync"
	"time"
)

// tracker counts the coordinator's goroutines that are working (not
// waiting on the clock), so that a simulation moving a virtual clock can
// tell when the coordinator has nothing left to do but wait. A waiter
// whose deadline has come counts as working until it has resumed.
type tracker struct {
	mu      sync.Mutex
	busy    int
	waiters map[*int]time.Time
}

func (t *tracker) begin() { t.mu.Lock(); t.busy++; t.mu.Unlock() }
func (t *tracker) end()   { t.mu.Lock(); t.busy--; t.mu.Unlock() }

func (t *tracker) quiet(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busy > 0 {
		return false
	}
	for _, at := range t.waiters {
		if !at.After(now) {
			return false
		}
	}
	return true
}

// sleep waits d on the coordinator's clock, not counted busy meanwhile.
func (c *Coordinator) sleep(ctx context.Context, d time.Duration) error {
	// The timer is armed while this goroutine still counts as busy, so the
	// clock cannot move between reading it and arming the timer.
	w := new(int)
	at := c.cfg.Clock.Now().Add(d)
	timer := c.cfg.Clock.NewTimer(d)
	c.track.mu.Lock()
	c.track.waiters[w] = at
	c.track.busy--
	c.track.mu.Unlock()
	var err error
	select {
	case <-timer.C():
	case <-ctx.Done():
		timer.Stop()
		err = context.Cause(ctx)
	}
	c.track.mu.Lock()
	delete(c.track.waiters, w)
	c.track.busy++
	c.track.mu.Unlock()
	return err
}

// Quiet waits until every goroutine of the coordinator is waiting on the
// clock for a time still ahead (or has nothing to do): the moment a
// simulation may move a virtual clock to its next deadline.
func (c *Coordinator) Quiet(ctx context.Context) error {
	for !c.track.quiet(c.cfg.Clock.Now()) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Microsecond):
		}
	}
	return nil
}
