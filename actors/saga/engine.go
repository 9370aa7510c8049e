package saga

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/events"
)

// Applied is what a query learned about a command.
type Applied int

// Query answers.
const (
	// Unknown: the target cannot tell (yet).
	Unknown Applied = iota
	// Yes: the command has taken effect.
	Yes
	// No: the command has not taken effect; re-sending it is safe.
	No
)

// Executor sends commands to targets. Both methods must be safe to call
// again with the same cmdID: targets drop duplicates.
type Executor interface {
	// Execute sends c with id cmdID and returns once the target confirms
	// it took effect (not merely accepted it). A refusal is returned
	// wrapped with Permanent; any other error makes the outcome unknown.
	Execute(ctx context.Context, cmdID string, c Command) error
	// Query asks the target (or reads the hardware) whether c took effect.
	Query(ctx context.Context, cmdID string, c Command) (Applied, error)
}

// Engine runs sagas against a log. It holds no saga state between calls:
// everything it knows comes from the log, so any Engine over the same log
// can resume any saga.
type Engine struct {
	Log   events.Log
	Clock clock.Clock
	Exec  Executor
	// Sleep waits d on the clock unless ctx ends first; nil: clock.Sleep.
	// A caller that tracks its goroutines' activity (a simulation driving a
	// virtual clock) supplies its own.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnAlert hears of sagas parked in failure.
	OnAlert func(Result)
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if e.Sleep != nil {
		return e.Sleep(ctx, d)
	}
	if !clock.Sleep(e.Clock, d, ctx.Done()) {
		return context.Cause(ctx)
	}
	return nil
}

// Start logs plan and runs it to its end. It returns ErrExists if the saga
// was already started (use Resume).
func (e *Engine) Start(ctx context.Context, plan Plan) (Result, error) {
	if err := plan.Validate(); err != nil {
		return Result{}, err
	}
	if head, err := e.Log.StreamHead(ctx, Stream(plan.ID)); err != nil {
		return Result{}, fmt.Errorf("cannot read saga %s: %w", plan.ID, err)
	} else if head > 0 {
		return Result{}, fmt.Errorf("%w: %s", ErrExists, plan.ID)
	}
	if err := e.index(ctx, RecOpened, record{ID: plan.ID}); err != nil {
		return Result{}, err
	}
	s := newState(plan)
	if err := e.write(ctx, s, RecStarted, "started", record{Plan: &plan}); err != nil {
		return Result{}, err
	}
	return e.run(ctx, s)
}

// Load reads saga id's state from the log.
func Load(ctx context.Context, log events.Log, id string) (*State, error) {
	evs, err := log.ReadStream(ctx, Stream(id), 1, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read saga %s: %w", id, err)
	}
	s, err := Fold(evs)
	if err != nil {
		return nil, fmt.Errorf("saga %s: %w", id, err)
	}
	return s, nil
}

// Resume continues saga id from its log; a finished saga returns its
// result at once.
func (e *Engine) Resume(ctx context.Context, id string) (Result, error) {
	s, err := Load(ctx, e.Log, id)
	if errors.Is(err, ErrNotFound) {
		// Opened in the index but crashed before saga_started: nothing was
		// sent. Close it so it is not recovered again.
		if err := e.index(ctx, RecClosed, record{ID: id, Outcome: Failed, Reason: "crashed before the saga started; nothing was sent"}); err != nil {
			return Result{}, err
		}
		return Result{ID: id, Outcome: Failed, Reason: "crashed before the saga started; nothing was sent", FailedStep: -1}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if s.Done() {
		// The close record may be what the crash lost.
		return s.Result(), e.index(ctx, RecClosed, record{ID: id, Outcome: s.Final})
	}
	return e.run(ctx, s)
}

// Abandon closes saga id without running or compensating it, for
// reason: a restore of a checkpoint never actuates on the strength of the
// restored log, whose unfinished steps may long have been overtaken. The
// saga's own records stay as they are; Unfinished no longer lists it.
func (e *Engine) Abandon(ctx context.Context, id, reason string) error {
	return e.index(ctx, RecClosed, record{ID: id, Outcome: Abandoned, Reason: reason})
}

// Unfinished lists the sagas opened and not closed, in opening order.
func Unfinished(ctx context.Context, log events.Log) ([]string, error) {
	evs, err := log.ReadStream(ctx, IndexStream, 1, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read the saga index: %w", err)
	}
	var order []string
	open := map[string]bool{}
	for _, ev := range evs {
		r, err := decode(ev)
		if err != nil {
			return nil, err
		}
		switch ev.Type {
		case RecOpened:
			if !open[r.ID] {
				order = append(order, r.ID)
			}
			open[r.ID] = true
		case RecClosed:
			open[r.ID] = false
		}
	}
	var out []string
	for _, id := range order {
		if open[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func (e *Engine) index(ctx context.Context, typ string, r record) error {
	ev, err := encode(typ, typ+"/"+r.ID, r)
	if err != nil {
		return err
	}
	ev.Time = e.Clock.Now()
	if _, _, err := e.Log.Append(clock.WithoutCancel(ctx), IndexStream, events.AnyVersion(), []events.Event{ev}); err != nil {
		return fmt.Errorf("cannot index saga %s: %w", r.ID, err)
	}
	return nil
}

// write appends one record expecting the version s was read at, then
// applies it to s. Records are written even when ctx is cancelled: a saga
// records what it did before it stops.
func (e *Engine) write(ctx context.Context, s *State, typ, key string, r record) error {
	ev, err := encode(typ, key, r)
	if err != nil {
		return err
	}
	ev.Time = e.Clock.Now()
	ev.Operation = s.Plan.ID
	ev.Requester = s.Plan.Requester
	ev.Cause = r.Reason
	stored, dup, err := e.Log.Append(clock.WithoutCancel(ctx), Stream(s.Plan.ID), events.ExpectVersion(s.Version), []events.Event{ev})
	if err != nil {
		return fmt.Errorf("cannot record %s of saga %s: %w", typ, s.Plan.ID, err)
	}
	if dup {
		return fmt.Errorf("%w: %s of saga %s (key %s) is already in the log: another engine runs this saga", ErrCorruptLog, typ, s.Plan.ID, key)
	}
	if typ != RecStarted {
		if err := s.apply(typ, r); err != nil {
			return err
		}
	}
	s.Version = stored[len(stored)-1].StreamSeq
	return nil
}

// stopped reports why the saga must stop now: superseded (recorded) or
// cancelled (left for recovery).
func stopped(ctx context.Context) (superseded bool, err error) {
	if ctx.Err() == nil {
		return false, nil
	}
	cause := context.Cause(ctx)
	return errors.Is(cause, ErrSuperseded), cause
}

func (e *Engine) run(ctx context.Context, s *State) (Result, error) {
	for !s.Done() {
		if sup, cause := stopped(ctx); cause != nil {
			if !sup {
				return s.Result(), cause
			}
			if err := e.write(ctx, s, RecSuperseded, "superseded", record{Reason: cause.Error()}); err != nil {
				return s.Result(), err
			}
			break
		}
		i, compensate, finish := s.next()
		var err error
		switch {
		case finish:
			err = e.write(ctx, s, RecCompleted, "completed", record{})
		case compensate:
			err = e.compensate(ctx, s)
		default:
			err = e.step(ctx, s, i)
		}
		if err != nil {
			return s.Result(), err
		}
	}
	res := s.Result()
	if res.Alert != "" && e.OnAlert != nil {
		e.OnAlert(res)
	}
	return res, e.index(ctx, RecClosed, record{ID: s.Plan.ID, Outcome: s.Final})
}

// step drives step i to succeeded or failed (or returns when ctx ends).
func (e *Engine) step(ctx context.Context, s *State, i int) error {
	st := s.Plan.Steps[i]
	id := StepID(s.Plan.ID, i)
	retry := st.Retry.orDefault(DefaultRetry)
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	attempt := s.Attempt[i]
	if s.Steps[i] == StepPending {
		// The intent, with the compensation it registers, is durable before
		// anything is sent.
		if err := e.write(ctx, s, RecStepIssued, fmt.Sprintf("issued/%d", i), record{Step: i, CmdID: id, Comp: st.Compensation}); err != nil {
			return err
		}
	} else {
		// Recovered with the step issued and no outcome: ask first.
		applied, qerr := e.query(ctx, id, st.Command, timeout)
		if applied == Yes {
			return e.succeed(ctx, s, i)
		}
		if applied == Unknown && attempt >= retry.Attempts {
			return e.fail(ctx, s, i, fmt.Errorf("%w after %d attempts: %v", ErrUnknownOutcome, attempt, qerr), true, false)
		}
	}
	for {
		if _, cause := stopped(ctx); cause != nil {
			return nil
		}
		attempt++
		actx, cancel := clock.WithTimeout(ctx, e.Clock, timeout)
		err := e.Exec.Execute(actx, id, st.Command)
		cancel()
		if err == nil {
			return e.succeed(ctx, s, i)
		}
		if _, cause := stopped(ctx); cause != nil {
			return nil
		}
		if errors.Is(err, ErrPermanent) {
			return e.fail(ctx, s, i, err, false, attempt == 1 && s.Attempt[i] == 0)
		}
		if werr := e.write(ctx, s, RecStepUnknown, fmt.Sprintf("unknown/%d/%d", i, attempt), record{Step: i, CmdID: id, Attempt: attempt, Reason: err.Error()}); werr != nil {
			return werr
		}
		applied, qerr := e.query(ctx, id, st.Command, timeout)
		if applied == Yes {
			return e.succeed(ctx, s, i)
		}
		if attempt >= retry.Attempts {
			why := err
			if applied == Unknown && qerr != nil {
				why = fmt.Errorf("%w; query: %v", err, qerr)
			}
			return e.fail(ctx, s, i, why, true, false)
		}
		if werr := e.sleep(ctx, retry.Delay(attempt)); werr != nil {
			return nil
		}
	}
}

func (e *Engine) query(ctx context.Context, id string, c Command, timeout time.Duration) (Applied, error) {
	qctx, cancel := clock.WithTimeout(ctx, e.Clock, timeout)
	defer cancel()
	return e.Exec.Query(qctx, id, c)
}

func (e *Engine) succeed(ctx context.Context, s *State, i int) error {
	if err := e.write(ctx, s, RecStepOK, fmt.Sprintf("ok/%d", i), record{Step: i, CmdID: StepID(s.Plan.ID, i)}); err != nil {
		return err
	}
	// A rung that worked ends its ladder.
	for j := i; j < len(s.Plan.Steps)-1 && s.Plan.Steps[j].Escalate; j++ {
		if err := e.write(ctx, s, RecStepSkipped, fmt.Sprintf("skipped/%d", j+1), record{Step: j + 1, Reason: fmt.Sprintf("step %d succeeded", i)}); err != nil {
			return err
		}
	}
	return nil
}

// fail records step i failed; refused says its target refused it at the
// first attempt, so nothing of it was applied.
func (e *Engine) fail(ctx context.Context, s *State, i int, err error, timedOut, refused bool) error {
	se := &StepError{Saga: s.Plan.ID, Step: i, Name: s.Plan.Steps[i].Name, CmdID: StepID(s.Plan.ID, i), Err: err}
	return e.write(ctx, s, RecStepFailed, fmt.Sprintf("failed/%d", i), record{Step: i, Reason: se.Error(), TimedOut: timedOut, Refused: refused})
}

// compensate undoes every issued step in reverse, from the last one issued.
func (e *Engine) compensate(ctx context.Context, s *State) error {
	if !s.Compensating {
		from := 0
		for i, st := range s.Steps {
			if st != StepPending {
				from = i
			}
		}
		if err := e.write(ctx, s, RecCompensating, "compensating", record{Step: from, Reason: s.Reason}); err != nil {
			return err
		}
	}
	retry := s.Plan.CompRetry.orDefault(DefaultCompRetry)
	irreversible := false
	applied := slices.Contains(s.CompDone, true) // undone before a restart
	for j := s.CompFrom; j >= 0; j-- {
		st := s.Plan.Steps[j]
		switch {
		case s.Steps[j] == StepPending || s.Steps[j] == StepSkipped || s.CompDone[j]:
			continue
		case st.Compensation == nil:
			// A refused step applied nothing; any other may have.
			irreversible = irreversible || !s.Refused[j]
			continue
		}
		// A refused step is undone all the same: compensations tolerate
		// a step that never applied, and the refusal may have raced
		// with a change made outside statemgr.
		applied = true
		if err := e.undo(ctx, s, j, retry); err != nil || s.Done() {
			return err
		}
		if _, cause := stopped(ctx); cause != nil {
			return nil
		}
	}
	switch {
	case irreversible:
		alert := fmt.Sprintf("saga %s (%s) failed after irreversible steps: %s", s.Plan.ID, s.Plan.Kind, s.Reason)
		return e.write(ctx, s, RecFailed, "failed", record{Reason: s.Reason, Alert: alert})
	case !applied && !s.TimedOut:
		// Refused before anything was applied or undone: a plain
		// failure, with nothing for an operator to look at.
		return e.write(ctx, s, RecFailed, "failed", record{Reason: s.Reason})
	case s.TimedOut:
		return e.write(ctx, s, RecCompensated, "compensated", record{Outcome: TimedOut})
	default:
		return e.write(ctx, s, RecCompensated, "compensated", record{Outcome: Compensated})
	}
}

// undo runs step j's compensation until it succeeds or its retries are
// spent, in which case the saga is parked (saga_failed with an alert).
func (e *Engine) undo(ctx context.Context, s *State, j int, retry Retry) error {
	st := s.Plan.Steps[j]
	id := UndoID(s.Plan.ID, j)
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	for attempt := s.CompIssued[j] + 1; ; attempt++ {
		if _, cause := stopped(ctx); cause != nil {
			return nil
		}
		if err := e.write(ctx, s, RecCompIssued, fmt.Sprintf("comp/%d/%d", j, attempt), record{Step: j, CmdID: id, Attempt: attempt}); err != nil {
			return err
		}
		actx, cancel := clock.WithTimeout(ctx, e.Clock, timeout)
		err := e.Exec.Execute(actx, id, *st.Compensation)
		cancel()
		if err == nil {
			return e.write(ctx, s, RecCompDone, fmt.Sprintf("compdone/%d", j), record{Step: j, CmdID: id})
		}
		if _, cause := stopped(ctx); cause != nil {
			return nil
		}
		if attempt >= retry.Attempts {
			alert := fmt.Sprintf("saga %s (%s): compensation of step %d (%s) failed %d times, parked: %v", s.Plan.ID, s.Plan.Kind, j, st.Name, attempt, err)
			return e.write(ctx, s, RecFailed, "failed", record{Reason: alert, Alert: alert})
		}
		if werr := e.sleep(ctx, retry.Delay(attempt)); werr != nil {
			return nil
		}
	}
}
