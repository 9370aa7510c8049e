package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestVirtualFiresInDeadlineOrder: timers fire in deadline order, ties in
// order of creation, each at its own deadline; a stopped timer never
// fires and leaves NextDeadline.
func TestVirtualFiresInDeadlineOrder(t *testing.T) {
	v := clock.NewVirtual(epoch)
	late := v.NewTimer(3 * time.Second)
	first := v.NewTimer(time.Second)
	tie := v.NewTimer(time.Second)
	stopped := v.NewTimer(2 * time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop reports pending once, then not")
	}
	if next, ok := v.NextDeadline(); !ok || !next.Equal(epoch.Add(time.Second)) {
		t.Fatalf("NextDeadline %v %v, want +1s", next, ok)
	}
	v.Advance(5 * time.Second)
	for _, c := range []struct {
		name string
		tm   clock.Timer
		at   time.Duration
	}{{"first", first, time.Second}, {"tie", tie, time.Second}, {"late", late, 3 * time.Second}} {
		if got := <-c.tm.C(); !got.Equal(epoch.Add(c.at)) {
			t.Errorf("%s fired at %v, want +%v", c.name, got.Sub(epoch), c.at)
		}
	}
	select {
	case <-stopped.C():
		t.Error("a stopped timer fired")
	default:
	}
	if _, ok := v.NextDeadline(); ok || v.Pending() != 0 {
		t.Fatalf("timers left: %d", v.Pending())
	}
}

// TestVirtualAfterFunc: an AfterFunc runs from the Advance that passes its
// deadline, in deadline order with the channel timers, reading its own
// deadline, and may arm the next one; a stopped one never runs; d <= 0
// runs before AfterFunc returns.
func TestVirtualAfterFunc(t *testing.T) {
	v := clock.NewVirtual(epoch)
	var ran []string
	ch := v.NewTimer(2 * time.Second)
	v.AfterFunc(time.Second, func() {
		ran = append(ran, "1s at "+v.Now().Sub(epoch).String())
		v.AfterFunc(time.Second, func() { ran = append(ran, "rearmed at "+v.Now().Sub(epoch).String()) })
	})
	stopped := v.AfterFunc(1500*time.Millisecond, func() { ran = append(ran, "stopped") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending AfterFunc: want true, then false")
	}
	if stopped.C() != nil {
		t.Fatal("an AfterFunc timer has a channel")
	}
	v.Advance(3 * time.Second)
	if want := []string{"1s at 1s", "rearmed at 2s"}; len(ran) != 2 || ran[0] != want[0] || ran[1] != want[1] {
		t.Fatalf("ran %q, want %q", ran, want)
	}
	select {
	case at := <-ch.C():
		if !at.Equal(epoch.Add(2 * time.Second)) {
			t.Fatalf("channel timer fired at %v", at)
		}
	default:
		t.Fatal("the channel timer between the two calls did not fire")
	}
	now := false
	v.AfterFunc(0, func() { now = true })
	if !now || v.Pending() != 0 {
		t.Fatalf("AfterFunc(0) ran %v, pending %d: want run at once, nothing pending", now, v.Pending())
	}
}

// TestRealAfterFunc: the wall clock's AfterFunc runs f, and Stop cancels it.
func TestRealAfterFunc(t *testing.T) {
	done := make(chan struct{})
	clock.Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if pending := (clock.Real{}).AfterFunc(time.Hour, func() { t.Error("a stopped AfterFunc ran") }); !pending.Stop() {
		t.Fatal("Stop of a pending AfterFunc: want true")
	}
}

// TestWithTimeoutOnTheVirtualClock: the context ends when the virtual
// clock reaches its deadline, not before, with DeadlineExceeded as its
// cause, when the Advance that reaches it returns; cancel removes the timer
// from the clock.
func TestWithTimeoutOnTheVirtualClock(t *testing.T) {
	v := clock.NewVirtual(epoch)
	ctx, cancel := clock.WithTimeout(context.Background(), v, 2*time.Second)
	defer cancel()
	if at, ok := clock.Deadline(ctx); !ok || !at.Equal(epoch.Add(2*time.Second)) {
		t.Fatalf("Deadline %v %v, want +2s", at, ok)
	}
	v.Advance(time.Second)
	if ctx.Err() != nil {
		t.Fatal("cancelled before its deadline")
	}
	v.Advance(time.Second)
	// Cancelled by the Advance itself, on its goroutine: a driver that
	// moved the clock sees the timeout at once.
	if ctx.Err() == nil {
		t.Fatal("not cancelled when Advance returned at its deadline")
	}
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("cause %v, want DeadlineExceeded", context.Cause(ctx))
	}

	_, cancel2 := clock.WithTimeout(context.Background(), v, time.Minute)
	if v.Pending() != 1 {
		t.Fatalf("pending %d, want the timeout's timer", v.Pending())
	}
	cancel2()
	if v.Pending() != 0 {
		t.Fatal("cancel left the timer on the clock")
	}
}

// TestDeadlineIsTheEarliestThatCancels: nested timeouts keep the earliest
// deadline; WithoutCancel drops it with the cancellation, and a context
// without one has none.
func TestDeadlineIsTheEarliestThatCancels(t *testing.T) {
	v := clock.NewVirtual(epoch)
	outer, cancel := clock.WithTimeout(context.Background(), v, time.Second)
	defer cancel()
	inner, cancel2 := clock.WithTimeout(outer, v, time.Hour)
	defer cancel2()
	if at, _ := clock.Deadline(inner); !at.Equal(epoch.Add(time.Second)) {
		t.Fatalf("nested deadline +%v, want the outer +1s", at.Sub(epoch))
	}
	if got := clock.Earliest(inner, epoch.Add(time.Minute)); !got.Equal(epoch.Add(time.Second)) {
		t.Fatalf("Earliest +%v, want +1s", got.Sub(epoch))
	}
	if got := clock.Earliest(inner, epoch.Add(time.Millisecond)); !got.Equal(epoch.Add(time.Millisecond)) {
		t.Fatalf("Earliest +%v, want +1ms", got.Sub(epoch))
	}
	if _, ok := clock.Deadline(clock.WithoutCancel(inner)); ok {
		t.Fatal("WithoutCancel kept a deadline that no longer cancels")
	}
	if _, ok := clock.Deadline(context.Background()); ok {
		t.Fatal("a background context has a deadline")
	}
}

type countingWork struct{ busy int }

func (w *countingWork) Pause() func() {
	w.busy--
	return func() { w.busy++ }
}

// TestHandOffPausesTheCallersWork: HandOff pauses the Work a context
// carries until resumed, and does nothing without one.
func TestHandOffPausesTheCallersWork(t *testing.T) {
	w := &countingWork{busy: 1}
	ctx := clock.WithWork(context.Background(), w)
	if clock.WorkOf(ctx) != w {
		t.Fatal("WorkOf lost the work")
	}
	resume := clock.HandOff(ctx)
	if w.busy != 0 {
		t.Fatalf("busy %d while handed off, want 0", w.busy)
	}
	resume()
	if w.busy != 1 {
		t.Fatalf("busy %d after resume, want 1", w.busy)
	}
	clock.HandOff(context.Background())() // no Work: nothing to pause
	if clock.WorkOf(clock.WithoutCancel(ctx)) != w {
		t.Fatal("WithoutCancel dropped the work")
	}
}
