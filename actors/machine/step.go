package machine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Compiled is a validated machine, indexed for Step. It is immutable and
// safe to share between goroutines.
type Compiled struct {
	kind    string
	initial string
	states  map[string]*compiledState
	// acceptedIn lists, per request trigger, the states that accept it, for
	// rejection hints; a trigger absent here is unknown to the machine.
	acceptedIn map[string][]string
}

type compiledState struct {
	State
	byTrigger map[string][]*compiledTransition
	requests  []string            // request triggers leaving this state, sorted
	timeout   *compiledTransition // non-nil iff Timeout > 0
}

type compiledTransition struct {
	to      string
	guards  []guardRef
	effects []effectRef
}

// Compile validates m and indexes it for Step. A machine with problems is
// refused with an *InvalidMachineError listing them all. Compile copies what
// it needs, so later changes to m do not affect the result.
func Compile(m *Machine) (*Compiled, error) {
	if m == nil {
		return nil, &InvalidMachineError{Problems: Validate(m)}
	}
	v := validate(m)
	if len(v.problems) > 0 {
		return nil, &InvalidMachineError{Machine: m.Kind, Problems: v.problems}
	}

	c := &Compiled{kind: m.Kind, initial: m.Initial, states: map[string]*compiledState{}, acceptedIn: map[string][]string{}}
	for _, s := range m.States {
		c.states[s.Name] = &compiledState{State: s, byTrigger: map[string][]*compiledTransition{}}
	}
	for i, t := range m.Transitions {
		ct := &compiledTransition{to: t.To, guards: v.parsed[i].guards, effects: v.parsed[i].effects}
		cs := c.states[t.From]
		if t.Trigger == TriggerTimeout {
			cs.timeout = ct
			continue
		}
		cs.byTrigger[t.Trigger] = append(cs.byTrigger[t.Trigger], ct)
		if isRequestName(t.Trigger) && !slices.Contains(cs.requests, t.Trigger) {
			cs.requests = append(cs.requests, t.Trigger)
			c.acceptedIn[t.Trigger] = append(c.acceptedIn[t.Trigger], t.From)
		}
	}
	for _, cs := range c.states {
		slices.Sort(cs.requests)
		if cs.Timeout > 0 && cs.timeout == nil {
			// A timeout without a declared transition still fires, with no effects.
			cs.timeout = &compiledTransition{to: cs.TimeoutTo}
		}
	}
	return c, nil
}

// Kind returns the machine kind, e.g. "host".
func (c *Compiled) Kind() string { return c.kind }

// StateKind returns the kind of state ("" for a state the machine lacks).
func (c *Compiled) StateKind(state string) StateKind {
	if cs := c.states[state]; cs != nil {
		return cs.Kind
	}
	return ""
}

// Power returns what power good reads in state ("" for a state the
// machine lacks, or a machine without power good).
func (c *Compiled) Power(state string) Power {
	if cs := c.states[state]; cs != nil {
		return cs.Power
	}
	return ""
}

// Knows reports whether any transition of the machine has trigger, so a
// caller can refuse an input the machine could never take.
func (c *Compiled) Knows(trigger string) bool {
	for _, cs := range c.states {
		if len(cs.byTrigger[trigger]) > 0 {
			return true
		}
	}
	return false
}

// NewStatus returns the status of a machine that has just entered its
// initial state at now, with each kind's per-machine fields at their
// "nothing known yet" values.
func NewStatus(c *Compiled, now time.Time) Status {
	st := Status{State: c.initial, Since: now}
	switch c.kind {
	case KindHost:
		st.BootProgress = BootProgressUnspecified
	case KindChassis:
		st.PowerStatus = PowerStatusUndefined
	case KindBMC:
		st.LastRebootCause = RebootCauseUnknown
	}
	return st
}

// Step is the interpreter: it applies one input at time now and returns the
// new status, the events to append and the effects to perform once they are
// durable. It performs no I/O and reads no clock; the same arguments always
// give the same results.
//
// Time comes first: if the current state's timeout has come due (now -
// Since >= Timeout), Step moves to its TimeoutTo as of the deadline, with
// cause "timeout in <state> after <d>", repeating while the new state's
// timeout is also due (at most once per state). Then the input is matched
// against the transitions from the resulting state; the first whose guards
// all hold fires.
//
// The returned status, events and effects are always valid, error or not:
// a timeout that came due is kept even when the input is refused, so the
// shell persists and performs what Step returns and only then looks at the
// error. An unmatched input is handled by kind:
//
//   - a tick matches nothing and is not an error;
//   - a request returns a *RejectedError (wrapping ErrRejected, or
//     ErrUnknownRequest if no state accepts it) with the allowed requests;
//   - an observation is not an error: Step returns an EventIgnored event
//     instead, so the shell can log the disagreement between model and
//     hardware without failing the adapter that reported it.
//
// Inputs that cannot be interpreted (bad trigger spelling, a request for an
// observation trigger, an observed value outside its enumeration, a state the
// machine does not declare, an unknown performer) return an error wrapping
// ErrInvalidInput or ErrUnknownState and change nothing further.
//
// Every event and effect carries the input's Operation, Requester and
// PerformedBy; those of a timeout are the request's that led into the
// state, so an escalation is performed by whoever performs the request.
func Step(c *Compiled, st Status, in Input, now time.Time) (Status, []Event, []Effect, error) {
	cs, ok := c.states[st.State]
	if !ok {
		return st, nil, nil, fmt.Errorf("%s: %w %q", c.kind, ErrUnknownState, st.State)
	}
	var events []Event
	var effects []Effect
	for range len(c.states) {
		if cs.timeout == nil || now.Before(st.Since.Add(cs.Timeout)) {
			break
		}
		st, events, effects = c.fireTimeout(st, cs, events, effects)
		cs = c.states[st.State]
	}

	if !in.PerformedBy.valid() {
		return st, events, effects, fmt.Errorf("%s: %w: performer %q (leave it empty for the component's effector, or use %q)", c.kind, ErrInvalidInput, in.PerformedBy, PerformedByCoordinator)
	}
	switch in.Kind {
	case KindTick:
		return st, events, effects, nil
	case KindRequest:
		if !isRequestName(in.Trigger) {
			return st, events, effects, fmt.Errorf("%s: %w: request %q is not a PascalCase request name (observations cannot be requested)", c.kind, ErrInvalidInput, in.Trigger)
		}
	case KindObservation:
		if !isObservationName(in.Trigger) || in.Trigger == TriggerTimeout {
			return st, events, effects, fmt.Errorf("%s: %w: observation %q is not a snake_case observation name (timeouts come from ticks)", c.kind, ErrInvalidInput, in.Trigger)
		}
	default:
		return st, events, effects, fmt.Errorf("%s: %w: input kind %q (use %s, %s or %s)", c.kind, ErrInvalidInput, in.Kind, KindRequest, KindObservation, KindTick)
	}

	t, blocked := cs.match(st, in)
	if t == nil {
		if in.Kind == KindRequest {
			return st, events, effects, c.reject(st, cs, in, blocked)
		}
		events = append(events, Event{
			Type: EventIgnored, Machine: c.kind, State: st.State, Trigger: in.Trigger, Input: in.Kind,
			Cause: causeOf(in), Requester: in.Requester, Operation: in.Operation, PerformedBy: in.PerformedBy, Time: now,
			Message: fmt.Sprintf("no %s transition leaves %s", in.Trigger, st.State),
		})
		return st, events, effects, nil
	}
	next, evs, effs, err := c.fire(st, t, in, now)
	if err != nil {
		return st, events, effects, fmt.Errorf("%s: %s in %s: %w", c.kind, in.Trigger, st.State, err)
	}
	return next, append(events, evs...), append(effects, effs...), nil
}

// fireTimeout takes cs's timeout transition as of its deadline. The
// operation is the one of the request that led into the state, if any, so
// an escalation can be traced to the request that timed out.
func (c *Compiled) fireTimeout(st Status, cs *compiledState, events []Event, effects []Effect) (Status, []Event, []Effect) {
	deadline := st.Since.Add(cs.Timeout)
	in := Input{Kind: KindTick, Cause: fmt.Sprintf("timeout in %s after %s", cs.Name, cs.Timeout)}
	if r := st.Requested; r != nil && !r.Time.Before(st.Since) {
		in.Operation, in.Requester, in.PerformedBy = r.Operation, r.Requester, r.PerformedBy
	}
	next, evs, effs, err := c.fire(st, cs.timeout, in, deadline)
	if err != nil {
		// Validate refuses timeout effects that need an input value, the only
		// status effects that can fail.
		panic(fmt.Sprintf("machine: %s: timeout effect failed on a validated machine: %v", c.kind, err))
	}
	return next, append(events, evs...), append(effects, effs...)
}

// fire takes transition t at time at.
func (c *Compiled) fire(st Status, t *compiledTransition, in Input, at time.Time) (Status, []Event, []Effect, error) {
	next := st
	cause := causeOf(in)
	if t.to != st.State {
		next.State = t.to
		next.Since = at
		next.Transitions++
	}
	next.Cause = cause
	if in.Kind == KindRequest {
		next.Requested = &Request{Name: in.Trigger, Operation: in.Operation, Requester: in.Requester, Time: at, PerformedBy: in.PerformedBy}
	}
	trigger := in.Trigger
	if in.Kind == KindTick {
		trigger = TriggerTimeout
	}
	events := []Event{{
		Type: EventTransition, Machine: c.kind, From: st.State, To: t.to, Trigger: trigger, Input: in.Kind,
		Cause: cause, Requester: in.Requester, Operation: in.Operation, PerformedBy: in.PerformedBy, Time: at,
	}}
	var effects []Effect
	for _, e := range t.effects {
		if e.spec.apply != nil {
			if err := e.spec.apply(&next, e.params, in, at); err != nil {
				return st, nil, nil, err
			}
			continue
		}
		effects = append(effects, Effect{Name: e.name, Params: maps.Clone(e.params), Operation: in.Operation, PerformedBy: in.PerformedBy})
		if e.spec.alerts {
			events = append(events, Event{
				Type: EventAlert, Machine: c.kind, State: t.to, Trigger: trigger, Input: in.Kind, Cause: cause,
				Requester: in.Requester, Operation: in.Operation, PerformedBy: in.PerformedBy, Time: at,
				Alert: AlertTransition, Message: e.params["reason"],
			})
		}
	}
	return next, events, effects, nil
}

func causeOf(in Input) string {
	switch {
	case in.Cause != "":
		return in.Cause
	case in.Kind == KindRequest:
		return "request " + in.Trigger
	default:
		return "observed " + in.Trigger
	}
}

// match returns the first transition for in.Trigger whose guards hold, or
// nil and the first guard that blocked one.
func (cs *compiledState) match(st Status, in Input) (*compiledTransition, *guardRef) {
	var blocked *guardRef
	for _, t := range cs.byTrigger[in.Trigger] {
		failed := slices.IndexFunc(t.guards, func(g guardRef) bool { return !g.holds(st, in) })
		if failed < 0 {
			return t, nil
		}
		if blocked == nil {
			blocked = &t.guards[failed]
		}
	}
	return nil, blocked
}

func (c *Compiled) reject(st Status, cs *compiledState, in Input, blocked *guardRef) *RejectedError {
	e := &RejectedError{Machine: c.kind, State: st.State, Request: in.Trigger, Allowed: Allowed(c, st, in.Facts)}
	accepted := c.acceptedIn[in.Trigger]
	switch {
	case blocked != nil:
		e.Reason, e.Hint = blocked.explain()
		if blocked.spec.capability && !blocked.negate {
			e.Capability = blocked.name
		}
	case len(accepted) == 0:
		e.unknown = true
		e.Reason = fmt.Sprintf("the %s machine has no %s request", c.kind, in.Trigger)
		e.Hint = "send one of the allowed requests"
	default:
		e.Reason = fmt.Sprintf("no %s transition leaves %s", in.Trigger, st.State)
		e.Hint = fmt.Sprintf("%s is accepted in %s", in.Trigger, strings.Join(accepted, ", "))
		if cs.Kind == Transitional {
			e.Hint += fmt.Sprintf("; %s is transitional: wait for it to finish", st.State)
			if cs.Timeout > 0 {
				e.Hint += fmt.Sprintf(" (it times out after %s)", cs.Timeout)
			}
		}
	}
	return e
}

// Allowed returns the requests that would be accepted from where st stands
// given facts, sorted: OpenBMC's AllowedHostTransitions, Redfish's
// ResetType@Redfish.AllowableValues. Guards are evaluated, so a request a
// guard would refuse is not listed.
func Allowed(c *Compiled, st Status, facts Facts) []string {
	cs, ok := c.states[st.State]
	if !ok {
		return nil
	}
	var allowed []string
	for _, trigger := range cs.requests {
		if t, _ := cs.match(st, Input{Kind: KindRequest, Trigger: trigger, Facts: facts}); t != nil {
			allowed = append(allowed, trigger)
		}
	}
	return allowed
}

// NextDeadline returns when st's state times out, so the shell can schedule
// a tick; false if the state has no timeout (or is not declared).
func NextDeadline(c *Compiled, st Status) (time.Time, bool) {
	cs, ok := c.states[st.State]
	if !ok || cs.Timeout == 0 {
		return time.Time{}, false
	}
	return st.Since.Add(cs.Timeout), true
}
