package devices

import (
	"context"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
)

// tracker counts the work in flight (edges and effects queued for a device
// actor, observations queued for the Observer, polls running) so that
// Settle can tell when the hardware layer has nothing left to do but wait
// for the clock. Work is counted per owner (a device actor's id, or a
// goroutine's own key). An owner that waits on the clock leaves the busy
// count for the time of the wait and is remembered as a waiter with its
// deadline; work queued behind an owner waiting for a deadline still in the
// future waits for the clock too. A waiter whose deadline has come counts
// as busy until it resumes, which it does atomically, so a driver moving a
// virtual clock never sees a gap.
type tracker struct {
	clk clock.Clock

	mu      sync.Mutex
	busy    map[any]int
	waiters map[any]time.Time
	gen     uint64        // counts begin and resume calls, to see if anything happened
	changed chan struct{} // closed and replaced on every change
}

func newTracker(clk clock.Clock) *tracker {
	return &tracker{clk: clk, busy: map[any]int{}, waiters: map[any]time.Time{}, changed: make(chan struct{})}
}

func (t *tracker) addLocked(key any, n int) {
	if t.busy[key] += n; t.busy[key] == 0 {
		delete(t.busy, key)
	}
	if n > 0 {
		t.gen++
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// begin counts one unit of work for key.
func (t *tracker) begin(key any) {
	t.mu.Lock()
	t.addLocked(key, 1)
	t.mu.Unlock()
}

// end finishes one unit of work of key.
func (t *tracker) end(key any) {
	t.mu.Lock()
	t.addLocked(key, -1)
	t.mu.Unlock()
}

// sleep waits d on the clock, or until ctx ends; key must be counted busy,
// and is again when sleep returns.
// A timeout of ctx on the clock (clock.WithTimeout) that comes first wakes
// it, so it counts busy again from that instant.
func (t *tracker) sleep(ctx context.Context, key any, d time.Duration) error {
	timer := t.clk.NewTimer(d)
	defer timer.Stop()
	t.mu.Lock()
	t.waiters[key] = clock.Earliest(ctx, t.clk.Now().Add(d))
	t.addLocked(key, -1)
	t.mu.Unlock()
	var err error
	select {
	case <-timer.C():
	case <-ctx.Done():
		err = ctx.Err()
	}
	t.mu.Lock()
	delete(t.waiters, key)
	t.addLocked(key, 1)
	t.mu.Unlock()
	return err
}

// replyTo is where an actor answers a waiting goroutine: the answer
// carries a unit of work over to the waiter's key.
type replyTo[T any] struct {
	ch  chan T
	key any
}

func newReply[T any](key any) replyTo[T] { return replyTo[T]{ch: make(chan T, 1), key: key} }

func (r replyTo[T]) send(t *tracker, v T) {
	t.begin(r.key)
	r.ch <- v
}

// await waits for the answer to r, leaving the busy count meanwhile. The
// caller's own Work, if ctx carries one (a coordinator call), is handed to
// the devices for the time of the wait (clock.HandOff); a timeout of ctx
// on the clock makes the waiter busy again from that instant.
func await[T any](ctx context.Context, t *tracker, r replyTo[T]) (T, error) {
	resume := clock.HandOff(ctx)
	defer resume()
	timeout := new(int) // not r.key: a waiter's key counts as waiting, not busy
	t.mu.Lock()
	if at, ok := clock.Deadline(ctx); ok {
		t.waiters[timeout] = at
	}
	t.addLocked(r.key, -1)
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.waiters, timeout)
		t.mu.Unlock()
	}()
	select {
	case v := <-r.ch:
		return v, nil
	case <-ctx.Done():
		t.begin(r.key)
		// An answer that comes later still carries its unit of work.
		go func() {
			<-r.ch
			t.end(r.key)
		}()
		var zero T
		return zero, ctx.Err()
	}
}

// state reports whether nothing runs but what waits for a future clock
// deadline, the generation, and a channel closed on the next change.
func (t *tracker) state() (idle bool, gen uint64, changed <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	idle = true
	for _, at := range t.waiters {
		if !at.After(now) {
			idle = false
		}
	}
	for key := range t.busy {
		if _, waiting := t.waiters[key]; !waiting {
			idle = false
		}
	}
	return idle, t.gen, t.changed
}

// activity counts begin and resume calls so far.
func (t *tracker) activity() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

// waitIdle waits until nothing runs but what waits for the clock.
func (t *tracker) waitIdle(ctx context.Context) error {
	for {
		idle, _, changed := t.state()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// observation is one input for a component, queued for the Observer.
type observation struct {
	id actors.ID
	in machine.Input
	// tracked: made after Run, so Settle waits for its delivery. One made
	// before Run waits for an Observer Settle cannot conjure.
	tracked bool
}

// outbox keeps the observations in the order the devices produced them
// until the Observer takes them, so that device actors never wait for a
// component and observations made before Run are not lost.
type outbox struct {
	mu       sync.Mutex
	q        []observation
	inflight int // queued or being delivered
	kick     chan struct{}
}

func newOutbox() *outbox { return &outbox{kick: make(chan struct{}, 1)} }

func (o *outbox) push(ob observation) {
	o.mu.Lock()
	o.q = append(o.q, ob)
	o.inflight++
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

func (o *outbox) pop() (observation, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.q) == 0 {
		return observation{}, false
	}
	ob := o.q[0]
	o.q[0] = observation{}
	o.q = o.q[1:]
	return ob, true
}

// track marks the queued observations made before Run as tracked, calling
// begin for each: from Run on, Settle waits for their delivery.
func (o *outbox) track(begin func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.q {
		if !o.q[i].tracked {
			o.q[i].tracked = true
			begin()
		}
	}
}

// done counts an observation delivered.
func (o *outbox) done() {
	o.mu.Lock()
	o.inflight--
	o.mu.Unlock()
}

// pending returns how many observations are queued or being delivered.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inflight
}
