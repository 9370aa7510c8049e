package sim

import (
	"context"
	"fmt"
	"time"
)

// settleRounds bounds the fixed-point loop of settle: more rounds than this
// at one virtual instant is a livelock.
const settleRounds = 1000

// settle runs the system to quiescence at the current virtual time: the
// coordinator's sagas and the devices wait for the clock, due component
// timeouts have fired, due process events are handled, and a whole round
// changed nothing in the log. Thermal emergencies start from the
// coordinator's periodic reconciliation, which reads the zones.
func (w *world) settle(ctx context.Context) error {
	for range settleRounds {
		before, err := w.progress(ctx)
		if err != nil {
			return err
		}
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		for _, id := range w.d.sys.IDs() {
			if _, err := w.d.sys.Tick(ctx, id); err != nil {
				return fmt.Errorf("tick %s: %w", id, err)
			}
		}
		for _, o := range w.procs.due() {
			if _, err := w.d.sys.Request(ctx, o.id, o.in); err != nil {
				return fmt.Errorf("service observation for %s: %w", o.id, err)
			}
		}
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		after, err := w.progress(ctx)
		if err != nil {
			return err
		}
		if after == before {
			return nil
		}
	}
	return fmt.Errorf("%w: no fixed point after %d rounds at %s", ErrStuck, settleRounds, w.clk.Now().Sub(Epoch))
}

// quiesce waits until the coordinator and the devices wait for the clock.
// A saga blocked in a hardware call counts as busy to Coordinator.Quiet
// even when the call itself waits for the clock (a retry after a bus
// fault): when the devices are settled and the coordinator stays busy for
// quietGrace, it is taken to wait for the clock too.
func (w *world) quiesce(ctx context.Context) error {
	if err := w.d.hw.Settle(ctx); err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, quietGrace)
	defer cancel()
	if err := w.d.co.Quiet(qctx); err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return w.d.hw.Settle(ctx)
}

// quietGrace is how long quiesce lets a busy coordinator finish before it
// takes it to wait for the clock inside a hardware call. Too short, and a
// loaded machine's slow saga is taken for a waiting one, which makes runs
// of one seed differ; the campaign's time did not change from 20 ms to
// 100 ms.
const quietGrace = 100 * time.Millisecond

// progress is the log's head: every change of state the system makes is
// an append.
func (w *world) progress(ctx context.Context) (uint64, error) {
	return w.d.log.Head(ctx)
}

// await runs f, which may wait for sagas that wait for the clock, and
// moves the clock deadline by deadline (within the saga bound) until f
// returns. The clock moves only once the coordinator and the devices are
// quiet and f has had a moment to finish on its own.
func (w *world) await(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	end := w.clk.Now().Add(w.opts.SagaBound)
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(awaitGrace):
		}
		if w.d != nil && w.d.co != nil {
			if err := w.quiesce(ctx); err != nil {
				return err
			}
		}
		select {
		case err := <-done:
			return err
		default:
		}
		next, ok := w.clk.NextDeadline()
		if !ok {
			// Nothing to move the clock to: f is still at work on real
			// time (a loaded machine, e.g. under go test ./...), or stuck.
			select {
			case err := <-done:
				return err
			case <-time.After(stuckAfter):
			}
			if _, ok := w.clk.NextDeadline(); ok {
				continue
			}
			select {
			case err := <-done:
				return err
			default:
			}
			return fmt.Errorf("%w: waiting %s with nothing due on the clock", ErrStuck, stuckAfter)
		}
		if next.After(end) {
			return fmt.Errorf("%w: the next deadline is past the saga bound", ErrStuck)
		}
		w.clk.Set(next)
	}
}

// stuckAfter is how long await waits for f in real time while nothing is
// due on the clock before it calls the simulation stuck.
const stuckAfter = 2 * time.Second

// awaitGrace is how long await lets f run before it moves the clock: f
// either finishes on its own well within it or waits for the clock.
const awaitGrace = 20 * time.Millisecond
