package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
)

// Schedule persists a transition to run at at; it survives restarts (a
// transition that came due while the daemon was down runs at Start). It
// returns the schedule's id; the operation's idempotency key is
// "schedule/<id>", so a schedule fires at most once.
func (c *Coordinator) Schedule(ctx context.Context, at time.Time, req Request) (string, error) {
	if !c.started {
		return "", ErrNotStarted
	}
	if err := req.validate(c.cfg.Topology); err != nil {
		return "", err
	}
	var id string
	if err := c.call(func(s *state) {
		s.seq++
		id = fmt.Sprintf("sched-%06d", s.seq)
	}); err != nil {
		return "", err
	}
	sc := schedule{ID: id, At: at, Req: req}
	if _, _, err := c.append(RecScheduled, "scheduled/"+id, Record{Schedule: id, At: at, Request: &req, Requester: req.Requester}); err != nil {
		return "", err
	}
	var now bool
	_ = c.call(func(s *state) {
		s.schedules[id] = sc
		now = !s.starting
	})
	if now {
		c.arm(sc)
	}
	return id, nil
}

// arm waits for a schedule on the clock, then submits it.
func (c *Coordinator) arm(sc schedule) {
	ctx, cancel := context.WithCancelCause(clock.WithWork(context.Background(), &c.track))
	c.track.begin()
	go func() {
		defer c.track.end()
		defer cancel(nil)
		go func() {
			select {
			case <-c.stop:
				cancel(ErrStopped)
			case <-ctx.Done():
			}
		}()
		if d := sc.At.Sub(c.cfg.Clock.Now()); d > 0 {
			if err := c.sleep(ctx, d); err != nil {
				return
			}
		}
		req := sc.Req
		req.IdempotencyKey = "schedule/" + sc.ID
		id, err := c.Submit(ctx, req)
		if id == "" && err != nil {
			c.log.Error("scheduled transition not submitted", "schedule", sc.ID, "error", err)
			return
		}
		if _, _, err := c.append(RecScheduleFired, "fired/"+sc.ID, Record{Schedule: sc.ID, Op: id}); err != nil {
			c.log.Error("cannot record a fired schedule", "schedule", sc.ID, "error", err)
		}
		_ = c.call(func(s *state) { delete(s.schedules, sc.ID) })
	}()
}
