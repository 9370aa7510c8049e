// Package clock makes time an input. Components take a Clock instead of
// calling time.Now or time.After, so that the daemon runs on the real clock
// and tests and the simulation run on a Virtual one that moves only when
// told to, deterministically.
//
// The package sits under actors/, below everything that waits (actors/*,
// adapters/*, server), with the Virtual twin beside Real as memlog sits
// beside the durable log: production code imports it, and nothing outside
// sim/ and cmd/ imports the simulator (cmd/imports_test.go).
//
// A driver of a Virtual clock may move it only once nothing runs but what
// waits for it. Two helpers let the parts of the system that count their
// work say so exactly: WithTimeout bounds a context by a deadline on the
// clock that Deadline reports (a waiter cancelled by it is busy again from
// that instant), and Work, carried by a context, lets a part that calls
// another hand its unit of work over for the call (HandOff).
package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Clock is the source of time for everything in statemgr that waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f once, d from now, and returns a Timer whose C is
	// nil and whose Stop cancels the call. It needs no goroutine while it
	// waits, so an idle component holding a timeout costs no stack.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer from a Clock.
type Timer interface {
	// C receives the firing time once.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// still pending.
	Stop() bool
}

// Sleep blocks for d on c, or until done is closed; it reports whether the
// full duration passed.
func Sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-done:
		return false
	}
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc: f runs in its own goroutine.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Virtual is a clock that moves only through Advance or Set. Timers fire in
// order of deadline, ties in order of creation, so a run is reproducible.
type Virtual struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	nextID uint64
}

// NewVirtual returns a virtual clock reading start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// NewTimer returns a timer that fires when the clock reaches now+d. A timer
// with d <= 0 fires at once.
func (v *Virtual) NewTimer(d time.Duration) Timer {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.nextID++
	t := &virtualTimer{clock: v, when: v.now.Add(d), id: v.nextID, ch: make(chan time.Time, 1), index: -1}
	if d <= 0 {
		t.ch <- v.now
		return t
	}
	heap.Push(&v.timers, t)
	return t
}

// AfterFunc calls f when the clock reaches now+d, from the Advance or Set
// that passes the deadline, in deadline order with the channel timers and
// with the clock reading the deadline; d <= 0 calls f before AfterFunc
// returns. f must not block: it runs on the goroutine that moves the clock.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	v.mu.Lock()
	v.nextID++
	t := &virtualTimer{clock: v, when: v.now.Add(d), id: v.nextID, fn: f, index: -1}
	if d > 0 {
		heap.Push(&v.timers, t)
	}
	v.mu.Unlock()
	if d <= 0 {
		f()
	}
	return t
}

// Advance moves the clock forward by d, firing every timer due on the way
// in deadline order, each at its own deadline.
func (v *Virtual) Advance(d time.Duration) { v.Set(v.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing the timers due.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	for len(v.timers) > 0 && !v.timers[0].when.After(t) {
		next := heap.Pop(&v.timers).(*virtualTimer)
		if next.when.After(v.now) {
			v.now = next.when
		}
		if next.fn != nil {
			// Unlocked: f may read the clock or arm the next timer.
			v.mu.Unlock()
			next.fn()
			v.mu.Lock()
			continue
		}
		next.ch <- next.when
	}
	if t.After(v.now) {
		v.now = t
	}
	v.mu.Unlock()
}

// NextDeadline returns the deadline of the earliest pending timer.
func (v *Virtual) NextDeadline() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.timers) == 0 {
		return time.Time{}, false
	}
	return v.timers[0].when, true
}

// Pending returns how many timers have not fired yet.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

type virtualTimer struct {
	clock *Virtual
	when  time.Time
	id    uint64
	ch    chan time.Time // nil for AfterFunc's
	fn    func()         // AfterFunc's call
	index int
}

func (t *virtualTimer) C() <-chan time.Time { return t.ch }

func (t *virtualTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.clock.timers, t.index)
	return true
}

type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].id < h[j].id
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// deadlineKey keys the virtual deadline WithTimeout puts in a context.
type deadlineKey struct{}

// WithTimeout is context.WithTimeout on c: the context is cancelled, with
// the cause context.DeadlineExceeded, when c reaches now+d (the wall
// clock plays no part, so a virtual clock that does not move never times
// it out). cancel stops the timer before it returns, so that a virtual
// clock's next deadline is never the timeout of a call that has already
// returned. Deadline reports the context's deadline on c.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	at := c.Now().Add(d)
	if outer, ok := Deadline(parent); ok && outer.Before(at) {
		at = outer
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, deadlineKey{}, at))
	// AfterFunc, not a goroutine on a channel timer: a call waiting under
	// the timeout costs no goroutine, and on a virtual clock the context is
	// cancelled by the Advance that reaches the deadline, not some time
	// after it.
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// Deadline returns the earliest deadline on the clock that cancels ctx,
// from WithTimeout. Work that waits on a virtual clock uses it to tell a
// driver when it will wake at the latest: a waiter cancelled by a timeout
// is busy again from that instant, not from its own deadline.
func Deadline(ctx context.Context) (time.Time, bool) {
	at, ok := ctx.Value(deadlineKey{}).(time.Time)
	if !ok || at.IsZero() || ctx.Done() == nil {
		return time.Time{}, false
	}
	return at, true
}

// WithoutCancel is context.WithoutCancel that also drops the deadline on
// the clock, which no longer cancels the returned context.
func WithoutCancel(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), deadlineKey{}, time.Time{})
}

// Earliest returns the earlier of at and ctx's Deadline: when a waiter
// sleeping until at under ctx resumes at the latest.
func Earliest(ctx context.Context, at time.Time) time.Time {
	if dl, ok := Deadline(ctx); ok && dl.Before(at) {
		return dl
	}
	return at
}

// Work is a unit of work a part of the system counts busy for a driver
// of a virtual clock (the coordinator's sagas, a simulation's calls into
// it). Pause stops counting it while it waits for another part that
// counts the wait as its own work; resume, called before that part stops
// counting, counts it again. The hand-over overlaps at both ends, so the
// system never looks idle in between.
type Work interface {
	Pause() (resume func())
}

type workKey struct{}

// WithWork returns a context whose calls into other parts of the system
// are w's: HandOff pauses w.
func WithWork(ctx context.Context, w Work) context.Context {
	return context.WithValue(ctx, workKey{}, w)
}

// WorkOf returns the Work ctx carries, or nil.
func WorkOf(ctx context.Context) Work {
	w, _ := ctx.Value(workKey{}).(Work)
	return w
}

// HandOff is called by a part that counts its own work in flight (the
// devices) once it counts a call made with ctx: it pauses the caller's
// Work, if ctx carries one, and returns what resumes it.
func HandOff(ctx context.Context) (resume func()) {
	if w := WorkOf(ctx); w != nil {
		return w.Pause()
	}
	return func() {}
}
