// Package clock makes time an input. Components take a Clock instead of
// calling time.Now or time.After, so that the daemon runs on the real clock
// and tests and the simulation run on a Virtual one that moves only when
// told to, deterministically.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the source of time for everything in statemgr that waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
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

// Advance moves the clock forward by d, firing every timer due on the way
// in deadline order, each at its own deadline.
func (v *Virtual) Advance(d time.Duration) { v.Set(v.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing the timers due.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(v.timers) > 0 && !v.timers[0].when.After(t) {
		next := heap.Pop(&v.timers).(*virtualTimer)
		if next.when.After(v.now) {
			v.now = next.when
		}
		next.ch <- next.when
	}
	if t.After(v.now) {
		v.now = t
	}
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
	ch    chan time.Time
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
