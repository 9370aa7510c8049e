package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
)

// Operations runs power operations as sagas across components;
// *coordinator.Coordinator implements it. Host, chassis and BMC
// maintenance requests go through it, never straight to a component, so
// that interlocks, conflicts and rollback apply to every one of them.
type Operations interface {
	SubmitOnce(ctx context.Context, req coordinator.Request) (op string, duplicate bool, err error)
	Wait(ctx context.Context, id string) (coordinator.Result, error)
	Operation(id string) (coordinator.Result, bool, error)
	Schedule(ctx context.Context, at time.Time, req coordinator.Request) (string, error)
	Acknowledge(ctx context.Context, id, requester string, role coordinator.Role) error
	Alerts() ([]coordinator.Result, error)
	PSUAlerts() ([]coordinator.PSUAlert, error)
	// Blockers lists what refuses each request of each component now
	// (statemgr.interlocks.list).
	Blockers(ctx context.Context) ([]coordinator.RequestBlockers, error)
	// Busy says whether an operation in flight or queued would refuse
	// req busy now; it must not block (every status read asks it).
	Busy(req coordinator.Request, statuses map[actors.ID]machine.Status) *coordinator.BusyError
	// ReportCrash hands a host crash or watchdog expiry to the
	// coordinator's crash handling (auto-reboot and its boot attempts).
	ReportCrash(ctx context.Context, h actors.ID, crash coordinator.Crash) (bool, *protoactor.Outcome, error)
}

// asOperation returns the coordinator operation that request name (one a
// component's machine allows) to component id runs as; false for the
// requests that go to the component alone (services, BMC resets).
func asOperation(id actors.ID, name string) (coordinator.Request, bool) {
	switch id.Kind() {
	case actors.KindHost, actors.KindChassis:
		kind, resetType := coordinatedRequest(id.Kind(), name)
		return coordinator.Request{Kind: kind, Target: id, ResetType: resetType}, true
	case actors.KindBMC:
		switch name {
		case machine.RequestEnterMaintenance:
			return coordinator.Request{Kind: coordinator.BMCEnterMaintenance, Target: id}, true
		case machine.RequestExitMaintenance:
			return coordinator.Request{Kind: coordinator.BMCExitMaintenance, Target: id}, true
		}
	}
	return coordinator.Request{}, false
}

// coordinatedRequest maps a request of a host or chassis control subject to
// the coordinator operation that carries it out.
func coordinatedRequest(kind, trigger string) (coordinator.Kind, string) {
	if kind == actors.KindChassis {
		switch trigger {
		case machine.RequestOff:
			return coordinator.ChassisPowerOff, ""
		case machine.RequestPowerCycle:
			return coordinator.ChassisPowerCycle, ""
		}
		return coordinator.ChassisPowerOn, ""
	}
	switch trigger {
	case machine.RequestOn, machine.RequestForceOn:
		return coordinator.HostPowerOn, trigger
	case machine.RequestGracefulShutdown:
		return coordinator.HostGracefulOff, ""
	case machine.RequestForceOff:
		return coordinator.HostForceOff, ""
	}
	return coordinator.HostReset, trigger
}

// coordinated is what a control request asks of the coordinator, beyond
// the operation itself.
type coordinated struct {
	op           string // idempotency key chosen by the client
	wait         string
	at           string
	override     []string
	queue        bool
	powerChassis bool
}

// coordinate submits (or schedules) an operation and answers once it is
// durable, or once it ended if the request asked to wait.
func (s *Server) coordinate(ctx context.Context, c *call, id actors.ID, trigger string, kind coordinator.Kind, resetType string, opts coordinated) (any, error) {
	if derr := operationID(opts.op); derr != nil {
		return nil, derr
	}
	waitFor, derr := waitDuration(opts.wait)
	if derr != nil {
		return nil, derr
	}
	if _, ok := s.cfg.System.Machine(id); !ok {
		return nil, newError(ErrUnknownComponent, "no component %s", id)
	}
	if derr := s.keyConflict(ctx, opts.op, id, true); derr != nil {
		return nil, derr
	}
	req := coordinator.Request{Kind: kind, Target: id, ResetType: resetType, IdempotencyKey: opts.op,
		// NATS permissions admit control subjects for the operator role
		// only (or for anyone on loopback when no users are configured).
		Requester: c.requester, Role: coordinator.RoleOperator, Queue: opts.queue, PowerChassis: opts.powerChassis}
	for _, name := range opts.override {
		il := coordinator.Interlock(name)
		if !slices.Contains(coordinator.Interlocks, il) {
			return nil, newError(ErrBadRequest, `"override" names %q, which is not an interlock: use %s`, name, interlockNames())
		}
		req.Override = append(req.Override, il)
	}
	if opts.powerChassis && kind != coordinator.HostPowerOn {
		return nil, newError(ErrBadRequest, `"power_chassis" applies to host power on only`)
	}
	if opts.at != "" {
		return s.schedule(ctx, req, trigger, opts.at, waitFor)
	}
	// Admission reads the components and the hardware for the interlocks:
	// bounded like any request to a component.
	sctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	op, dup, err := s.cfg.Operations.SubmitOnce(sctx, req)
	cancel()
	if err != nil {
		e := refusal(op, err)
		var apiErr *Error
		if dup && errors.As(e, &apiErr) && apiErr.Refusal != nil {
			apiErr.Refusal.Duplicate = true
		}
		return nil, e
	}
	reply := ControlReply{Operation: op, ID: string(id), Request: trigger, Kind: string(kind), State: s.stateOf(id), Accepted: true, Duplicate: dup}
	if res, done, err := s.cfg.Operations.Operation(op); err == nil && done && res.Noop {
		reply.Noop = true
	}
	if waitFor > 0 {
		outcome, err := s.awaitOperation(ctx, op, id, waitFor)
		if err != nil {
			return nil, err
		}
		reply.Outcome = &outcome
	}
	return reply, nil
}

// schedule persists req to run at the RFC 3339 time at.
func (s *Server) schedule(ctx context.Context, req coordinator.Request, trigger, at string, wait time.Duration) (any, error) {
	if wait > 0 {
		return nil, newError(ErrBadRequest, `"wait" and "at" exclude each other: a scheduled operation runs later`)
	}
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return nil, newError(ErrBadRequest, `"at" must be an RFC 3339 time such as "2026-11-22T18:00:00Z", got %q`, at)
	}
	if err := scheduleWithinHorizon(when, s.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	id, err := s.cfg.Operations.Schedule(sctx, when, req)
	if err != nil {
		return nil, refusal("", err)
	}
	return ControlReply{Schedule: id, At: when, ID: string(req.Target), Request: trigger, Kind: string(req.Kind),
		State: s.stateOf(req.Target), Accepted: true}, nil
}

// scheduleWithinHorizon refuses a schedule that is not after now, or is
// more than MaxScheduleAhead after it: a past time would run at once, which
// a client asking for later did not mean, and a far one (9999-12-31) would
// hold a schedule in the log and in memory for ever.
func scheduleWithinHorizon(when, now time.Time) *Error {
	const accepted = "give a time after the server's now and at most %d days ahead, or omit \"at\" to act now"
	days := int(MaxScheduleAhead.Hours() / 24)
	switch {
	case !when.After(now):
		return newError(ErrBadSchedule, `"at" %s is not in the future: the server's time is %s; `+accepted,
			when.Format(time.RFC3339), now.UTC().Format(time.RFC3339), days)
	case when.Sub(now) > MaxScheduleAhead:
		return newError(ErrBadSchedule, `"at" %s is further ahead than the %d-day horizon (the server's time is %s); `+accepted,
			when.Format(time.RFC3339), days, now.UTC().Format(time.RFC3339), days)
	}
	return nil
}

// stateOf returns a component's state as the server last saw it.
func (s *Server) stateOf(id actors.ID) string {
	comp, err := s.component(id)
	if err != nil {
		return ""
	}
	return comp.State
}

// awaitOperation waits up to d for operation op's outcome. A wait that
// ends first answers in_progress: the operation goes on.
func (s *Server) awaitOperation(ctx context.Context, op string, target actors.ID, d time.Duration) (Outcome, error) {
	// On the server's clock, as awaitOutcome's.
	wctx, cancel := clock.WithTimeout(ctx, s.cfg.Clock, d)
	defer cancel()
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-wctx.Done():
		}
	}()
	res, err := s.cfg.Operations.Wait(wctx, op)
	switch {
	case err == nil:
		return s.outcomeOfResult(ctx, res, target), nil
	case wctx.Err() != nil:
		return Outcome{Result: ResultInProgress, State: s.stateOf(target)}, nil
	}
	return Outcome{}, err
}

// outcomeOfResult renders a coordinator result. The state is the one the
// operation ended in; for a result recorded without it, the target's own,
// read from its actor (the cached view may not have caught up with the
// operation's last records yet).
func (s *Server) outcomeOfResult(ctx context.Context, res coordinator.Result, target actors.ID) Outcome {
	out := Outcome{Result: string(res.Outcome), State: res.State, Cause: res.Reason, Alert: res.Alert}
	if out.State != "" {
		return out
	}
	out.State = s.stateOf(target)
	gctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if v, err := s.cfg.System.Get(gctx, target); err == nil {
		out.State = v.Status.State
	}
	return out
}

// operationOutcome answers statemgr.operation.get for a coordinator
// operation: its outcome so far, and what it is (target and kind); false
// if op is not one.
func (s *Server) operationOutcome(ctx context.Context, op string) (Outcome, coordinator.Result, bool) {
	if !strings.HasPrefix(op, coordinatorOpPrefix) {
		return Outcome{}, coordinator.Result{}, false
	}
	res, done, err := s.cfg.Operations.Operation(op)
	if err != nil {
		return Outcome{}, coordinator.Result{}, false
	}
	if !done {
		return Outcome{Result: ResultInProgress, State: s.stateOf(res.Target)}, res, true
	}
	return s.outcomeOfResult(ctx, res, res.Target), res, true
}

// coordinatorOpPrefix starts every coordinator operation id ("op-000042").
const coordinatorOpPrefix = "op-"

// acknowledge answers statemgr.operation.acknowledge: it clears the
// blocking error a parked operation left on its target.
func (s *Server) acknowledge(ctx context.Context, c *call) (any, error) {
	req, derr := decodeOperationRequest(c.data, "name the parked operation whose alert you acknowledge")
	if derr != nil {
		return nil, derr
	}
	if err := s.cfg.Operations.Acknowledge(ctx, req.Operation, c.requester, coordinator.RoleOperator); err != nil {
		if errors.Is(err, coordinator.ErrUnknownOperation) {
			return nil, &Error{Kind: ErrUnknownOperation, Message: err.Error(), Err: err}
		}
		return nil, refusal(req.Operation, err)
	}
	return AcknowledgeReply{Operation: req.Operation, Acknowledged: true}, nil
}

func interlockNames() string {
	names := make([]string, len(coordinator.Interlocks))
	for i, il := range coordinator.Interlocks {
		names[i] = string(il)
	}
	return strings.Join(names, ", ")
}

// refusal maps a coordinator error to the catalogue; op is the refused
// operation's id, if it got one.
func refusal(op string, err error) error {
	var (
		busy     *coordinator.BusyError
		lock     *coordinator.InterlockError
		hosts    *coordinator.HostsNotOffError
		override *coordinator.OverrideError
		conflict *coordinator.ConflictError
		refused  *coordinator.RefusedError
		powered  *coordinator.PoweredHostError
	)
	r := &Refusal{Operation: op}
	e := &Error{Message: err.Error(), Err: err, Refusal: r}
	switch {
	case errors.As(err, &busy):
		e.Kind, r.Component, r.InFlight = ErrComponentBusy, string(busy.Component), busy.InFlight
	case errors.As(err, &lock):
		e.Kind, r.Interlock, r.Clears, r.Overridable = ErrInterlock, string(lock.Interlock), lock.Clears, coordinator.Overridable(lock.Interlock)
	case errors.As(err, &hosts):
		e.Kind = ErrHostsNotOff
		for _, h := range hosts.Hosts {
			r.Hosts = append(r.Hosts, string(h))
		}
	case errors.As(err, &override):
		e.Kind, r.Interlock = ErrOverrideDenied, string(override.Interlock)
	case errors.As(err, &conflict):
		e.Kind, r.Operation = ErrIdempotencyConflict, conflict.Op
	case errors.As(err, &powered):
		e.Kind, e.State = ErrRejected, powered.State
	case errors.As(err, &refused):
		e.Kind = ErrRejected
	case errors.Is(err, coordinator.ErrInvalidRequest):
		e.Kind, e.Refusal = ErrBadRequest, nil
	case errors.Is(err, coordinator.ErrStopped), errors.Is(err, coordinator.ErrNotStarted):
		e.Kind, e.Refusal = ErrStopping, nil
	case errors.Is(err, coordinator.ErrRecovery):
		e.Kind, e.Refusal = ErrLogFailed, nil
	default:
		ce := classify(err)
		ce.Refusal = r
		if op == "" {
			ce.Refusal = nil
		}
		return ce
	}
	return e
}
