package sim

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/statemgr/statemgr/server/assembly"
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
		for _, id := range w.d.asm.System.IDs() {
			if _, err := w.d.asm.System.Tick(ctx, id); err != nil {
				return fmt.Errorf("tick %s: %w", id, err)
			}
		}
		for _, o := range w.procs.due() {
			if _, err := w.d.asm.System.Request(ctx, o.id, o.in); err != nil {
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

// settleDying is settle for a daemon being stopped, whose log may have
// failed: due component timeouts fire (a failure is the dying daemon's),
// and nothing else is delivered.
func (w *world) settleDying(ctx context.Context) error {
	if err := w.quiesce(ctx); err != nil {
		return err
	}
	for _, id := range w.d.asm.System.IDs() {
		_, _ = w.d.asm.System.Tick(ctx, id)
	}
	return w.quiesce(ctx)
}

// quiesce waits until the coordinator and the devices wait for the clock.
func (w *world) quiesce(ctx context.Context) error {
	return assembly.SettleWith(ctx, w.d.asm.Hardware, w.d.asm.Coordinator)
}

// progress is the log's head: every change of state the system makes is
// an append.
func (w *world) progress(ctx context.Context) (uint64, error) {
	return w.d.log.Head(ctx)
}

// await runs f, a call into the coordinator or the devices that may wait
// for the clock, settling the system and moving the clock deadline by
// deadline (within the saga bound) until f returns. f runs held by the
// coordinator (Coordinator.Hold) with the context it is given: the system
// is quiet only while f waits on the clock or once f has returned, so
// the clock moves at the same points in every run.
func (w *world) await(ctx context.Context, f func(context.Context) error) error {
	return w.awaitWith(ctx, w.settle, f)
}

// awaitWith is await bringing the system to rest with settle at each
// instant.
func (w *world) awaitWith(ctx context.Context, settle func(context.Context) error, f func(context.Context) error) error {
	hctx, release := w.d.asm.Coordinator.Hold(ctx)
	var err error
	var finished atomic.Bool
	go func() {
		err = f(hctx)
		finished.Store(true)
		release()
	}()
	end := w.clk.Now().Add(w.opts.SagaBound)
	for {
		if serr := settle(ctx); serr != nil {
			return serr
		}
		if finished.Load() {
			return err
		}
		next, ok := w.clk.NextDeadline()
		if !ok {
			return fmt.Errorf("%w: a call waits with nothing due on the clock", ErrStuck)
		}
		if next.After(end) {
			return fmt.Errorf("%w: the next deadline is past the saga bound", ErrStuck)
		}
		w.clk.Set(next)
	}
}
