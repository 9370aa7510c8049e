package coordinator

import (
	"context"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
)

// tracker counts the coordinator's units of work that are running (not
// waiting on the clock, nor handed to a Hardware that counts them), so
// that a simulation moving a virtual clock can tell when the coordinator
// has nothing left to do but wait. A waiter whose deadline has come counts
// as working until it has resumed. Units are fungible: a sleep or a hand-
// off pauses the unit of the goroutine that makes it.
type tracker struct {
	mu      sync.Mutex
	busy    int
	waiters map[*int]time.Time
	gen     uint64        // counts every unit that starts or resumes
	changed chan struct{} // closed and replaced on every change
}

func (t *tracker) init() {
	t.waiters = map[*int]time.Time{}
	t.changed = make(chan struct{})
}

// addLocked counts n more units (n < 0: fewer) and wakes Quiet.
func (t *tracker) addLocked(n int) {
	t.busy += n
	if n > 0 {
		t.gen++
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tracker) begin() { t.mu.Lock(); t.addLocked(1); t.mu.Unlock() }
func (t *tracker) end()   { t.mu.Lock(); t.addLocked(-1); t.mu.Unlock() }

// Pause hands the unit of the calling goroutine to a Hardware that counts
// the call as its own work (clock.HandOff).
func (t *tracker) Pause() (resume func()) {
	t.end()
	return t.begin
}

// state reports whether every unit waits for a deadline after now, the
// generation, and a channel closed on the next change.
func (t *tracker) state(now time.Time) (quiet bool, gen uint64, changed <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	quiet = t.busy <= 0
	for _, at := range t.waiters {
		if !at.After(now) {
			quiet = false
		}
	}
	return quiet, t.gen, t.changed
}

// sleep waits d on the coordinator's clock, not counted busy meanwhile. A
// timeout of ctx on the clock (clock.WithTimeout) that comes first wakes
// it, so it counts busy again from that instant.
func (c *Coordinator) sleep(ctx context.Context, d time.Duration) error {
	// The timer is armed while this goroutine still counts as busy, so the
	// clock cannot move between reading it and arming the timer.
	w := new(int)
	at := clock.Earliest(ctx, c.cfg.Clock.Now().Add(d))
	timer := c.cfg.Clock.NewTimer(d)
	c.track.mu.Lock()
	c.track.waiters[w] = at
	c.track.addLocked(-1)
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
	c.track.addLocked(1)
	c.track.mu.Unlock()
	return err
}

// Quiet waits until every unit of the coordinator's work waits on the
// clock for a time still ahead, is handed to the Hardware, or is done: the
// moment a simulation may move a virtual clock to its next deadline, once
// the Hardware is settled too. It returns the coordinator's activity
// generation at that moment (see Activity).
func (c *Coordinator) Quiet(ctx context.Context) (uint64, error) {
	for {
		quiet, gen, changed := c.track.state(c.cfg.Clock.Now())
		if quiet {
			return gen, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-changed:
		}
	}
}

// Activity counts the units of work that have started or resumed so far:
// a driver that saw the coordinator quiet and later finds Activity
// unchanged knows it stayed quiet in between.
func (c *Coordinator) Activity() uint64 {
	c.track.mu.Lock()
	defer c.track.mu.Unlock()
	return c.track.gen
}

// Hold counts the caller as a unit of the coordinator's work until release
// is called, and returns the context to call the coordinator with: a
// simulation holds its calls (Submit, Reconcile, Start, Stop, and calls
// into the Hardware), so that Quiet reports quiet only while the call
// waits on the clock or once it has returned and the caller has its
// answer in hand.
func (c *Coordinator) Hold(ctx context.Context) (context.Context, func()) {
	c.track.begin()
	return clock.WithWork(ctx, &c.track), c.track.end
}

// awaitOp waits until o has its outcome or ctx ends. The caller's Work, if
// ctx carries one (a simulation's hold), is not counted meanwhile: what it
// waits for is a saga, counted on its own, and o.close counts the caller
// again before that saga stops being counted.
func (c *Coordinator) awaitOp(ctx context.Context, o *op) error {
	var w *pausedWaiter
	if work := clock.WorkOf(ctx); work != nil {
		if err := c.call(func(*state) {
			if o.res == nil {
				w = &pausedWaiter{resume: work.Pause()}
				o.paused = append(o.paused, w)
			}
		}); err != nil {
			return err
		}
	}
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		if w != nil && c.call(func(*state) { w.wake() }) != nil {
			w.wake() // the loop has stopped: nothing else touches w
		}
		return ctx.Err()
	}
}
