package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
)

// controlSubject is a control subject that sends one of a set of requests
// to a component of one kind.
type controlSubject struct {
	subject string
	kind    string
	types   []string // requests the subject may send; the first is the default
	// typeRequired makes "type" mandatory (host.reset).
	typeRequired bool
}

// RedfishResetTypes are the host reset types statemgr.host.reset takes.
var RedfishResetTypes = []string{
	machine.RequestOn, machine.RequestForceOn, machine.RequestGracefulShutdown, machine.RequestForceOff,
	machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle, machine.RequestNmi,
	machine.RequestPushPowerButton,
}

var controlSubjects = []controlSubject{
	{subject: SubjectHostPowerOn, kind: actors.KindHost, types: []string{machine.RequestOn, machine.RequestForceOn}},
	{subject: SubjectHostPowerOff, kind: actors.KindHost, types: []string{machine.RequestGracefulShutdown, machine.RequestForceOff}},
	{subject: SubjectHostReset, kind: actors.KindHost, types: RedfishResetTypes, typeRequired: true},
	{subject: SubjectChassisPowerOn, kind: actors.KindChassis, types: []string{machine.RequestOn}},
	{subject: SubjectChassisPowerOff, kind: actors.KindChassis, types: []string{machine.RequestOff}},
	{subject: SubjectChassisCycle, kind: actors.KindChassis, types: []string{machine.RequestPowerCycle}},
	{subject: SubjectBMCReset, kind: actors.KindBMC, types: []string{machine.RequestGracefulRestart, machine.RequestForceRestart}},
	{subject: SubjectServiceStart, kind: actors.KindService, types: []string{machine.RequestStart}},
	{subject: SubjectServiceStop, kind: actors.KindService, types: []string{machine.RequestStop}},
	{subject: SubjectServiceRestart, kind: actors.KindService, types: []string{machine.RequestRestart}},
	{subject: SubjectServiceReset, kind: actors.KindService, types: []string{machine.RequestReset}},
}

// requestType picks the request a control subject sends.
func (cs controlSubject) requestType(t string) (string, *Error) {
	switch {
	case t == "" && cs.typeRequired:
		return "", newError(ErrBadRequest, `missing "type": %s takes one of %s`, cs.subject, strings.Join(cs.types, ", "))
	case t == "":
		return cs.types[0], nil
	case slices.Contains(cs.types, t):
		return t, nil
	}
	return "", &Error{Kind: ErrUnknownRequest, Message: fmt.Sprintf("%s does not take type %q: use one of %s", cs.subject, t, strings.Join(cs.types, ", "))}
}

// control answers a control subject. Host and chassis requests run as
// coordinator operations; the others go to their component.
func (s *Server) control(cs controlSubject) func(context.Context, *call) (any, error) {
	return func(ctx context.Context, c *call) (any, error) {
		req, derr := decode[ControlRequest](c.data)
		if derr != nil {
			return nil, derr
		}
		id, derr := componentID(req.ID, cs.kind)
		if derr != nil {
			return nil, derr
		}
		trigger, derr := cs.requestType(req.Type)
		if derr != nil {
			return nil, derr
		}
		if cs.kind == actors.KindHost || cs.kind == actors.KindChassis {
			kind, resetType := coordinatedRequest(cs.kind, trigger)
			return s.coordinate(ctx, c, id, trigger, kind, resetType, coordinated{op: req.Operation, wait: req.Wait, at: req.At,
				override: req.Override, queue: req.Queue, powerChassis: req.PowerChassis})
		}
		if len(req.Override) > 0 || req.Queue || req.PowerChassis || req.At != "" {
			return nil, newError(ErrBadRequest, `%s goes to the component alone: "override", "queue", "power_chassis" and "at" apply to host and chassis requests`, cs.subject)
		}
		return s.perform(ctx, c, id, trigger, req.Operation, req.Wait)
	}
}

// maintenance answers statemgr.bmc.maintenance, a coordinator operation:
// it must not start while a power operation is in flight.
func (s *Server) maintenance(ctx context.Context, c *call) (any, error) {
	req, derr := decode[MaintenanceRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	id, derr := componentID(req.ID, actors.KindBMC)
	if derr != nil {
		return nil, derr
	}
	if req.Enable == nil {
		return nil, newError(ErrBadRequest, `missing "enable": send true to enter maintenance, false to leave it`)
	}
	trigger, kind := machine.RequestExitMaintenance, coordinator.BMCExitMaintenance
	if *req.Enable {
		trigger, kind = machine.RequestEnterMaintenance, coordinator.BMCEnterMaintenance
	}
	return s.coordinate(ctx, c, id, trigger, kind, "", coordinated{op: req.Operation, wait: req.Wait, queue: req.Queue})
}

// perform sends a request to a component, answers with the accepted state
// once it is durable and, if asked, waits for the final outcome.
func (s *Server) perform(ctx context.Context, c *call, id actors.ID, trigger, op, wait string) (any, error) {
	if derr := operationID(op); derr != nil {
		return nil, derr
	}
	waitFor, derr := waitDuration(wait)
	if derr != nil {
		return nil, derr
	}
	if _, ok := s.cfg.System.Machine(id); !ok {
		return nil, newError(ErrUnknownComponent, "no component %s", id)
	}
	if derr := s.keyConflict(ctx, op, id, false); derr != nil {
		return nil, derr
	}
	// The client's own id is bound to the request even if it is refused;
	// a generated one, which the client could not retry, is not.
	clients := op != ""
	if !clients {
		op = nuid.Next()
	}
	askCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	out, err := s.cfg.System.Request(askCtx, id, machine.Input{Kind: machine.KindRequest, Trigger: trigger,
		Operation: op, Requester: c.requester, Facts: s.facts(id), RecordRejection: clients})
	if err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return nil, err
		}
		e := classify(err)
		if e.Kind == ErrUnavailable {
			e.Message = fmt.Sprintf("operation %s: %s", op, e.Message)
		}
		// A rejection is on record under the operation id: the reply
		// names it, and a retry's says it is the first one again.
		var refused *protoactor.RefusedError
		if errors.As(err, &refused) {
			for _, rec := range refused.Stored {
				s.ops.add(op, rec.GlobalSeq)
			}
			e.Refusal = &Refusal{Operation: op, Duplicate: refused.Duplicate}
		}
		return nil, e
	}
	// Index the operation now rather than when the publisher passes it,
	// so that statemgr.operation.get finds it as soon as the reply is out.
	for _, e := range out.Stored {
		if e.Operation == op {
			s.ops.add(op, e.GlobalSeq)
		}
	}
	s.views.update(out.View)
	accepted, lastSeq := acceptedStatus(out)
	reply := ControlReply{Operation: op, ID: string(id), Request: trigger, State: accepted.State, Accepted: true, Duplicate: out.Duplicate}
	if waitFor > 0 {
		outcome, err := s.awaitOutcome(ctx, id, accepted, lastSeq, waitFor)
		if err != nil {
			return nil, err
		}
		reply.Outcome = &outcome
	}
	return reply, nil
}

// acceptedStatus returns the component's status right after the request's
// last record, and that record's stream seq. For a first attempt that is
// the view the actor answered with (the request's records are the last it
// wrote); a retried operation's first outcome is in its stored records.
func acceptedStatus(out *protoactor.Outcome) (machine.Status, uint64) {
	if n := len(out.Stored); n > 0 && out.Duplicate {
		last := out.Stored[n-1]
		if r, err := actors.DecodeRecord(last); err == nil {
			return r.Status, last.StreamSeq
		}
	}
	return out.View.Status, out.View.Version
}

// outcomeOf says whether status st of component id ends an operation.
func (s *Server) outcomeOf(id actors.ID, st machine.Status, seq uint64) (Outcome, bool) {
	switch s.stateKind(id, st.State) {
	case machine.Transitional:
		return Outcome{Result: ResultInProgress, State: st.State, Cause: st.Cause, Seq: seq, Time: st.Since}, false
	case machine.ErrorKind:
		return Outcome{Result: ResultFailed, State: st.State, Cause: st.Cause, Seq: seq, Time: st.Since}, true
	}
	return Outcome{Result: ResultSucceeded, State: st.State, Cause: st.Cause, Seq: seq, Time: st.Since}, true
}

// awaitOutcome waits until component id leaves its transitional state
// after stream seq after, reading its stream and waking whenever the
// publisher passes one of its records, for at most d or until Stop.
func (s *Server) awaitOutcome(ctx context.Context, id actors.ID, accepted machine.Status, after uint64, d time.Duration) (Outcome, error) {
	current, done := s.outcomeOf(id, accepted, after)
	if done {
		return current, nil
	}
	// On the server's clock, so that a rig on a virtual clock decides
	// when a wait for an outcome ends.
	timer := s.cfg.Clock.NewTimer(d)
	defer timer.Stop()
	next := after + 1
	for {
		changed := s.notifiers[id].Changed()
		// The view cache holds the component's last published record: if
		// it is the one right after the accepted one (the common case),
		// it alone decides; if there is none since, there is nothing to
		// read yet; only a run of several records is read from the log.
		v, cached := s.views.get(id)
		switch {
		case cached && v.Version == next:
			outcome, done := s.outcomeOf(id, v.Status, v.Version)
			if done {
				return outcome, nil
			}
			current, next = outcome, next+1
		case cached && v.Version < next:
		default:
			outcome, done, seq, err := s.scanOutcome(ctx, id, next, current)
			if err != nil || done {
				return outcome, err
			}
			current, next = outcome, seq
		}
		select {
		case <-changed:
		case <-timer.C():
			current.Result = ResultInProgress
			return current, nil
		case <-ctx.Done():
			current.Result = ResultInProgress
			return current, nil
		case <-s.quit:
			current.Result = ResultInProgress
			return current, nil
		}
	}
}

// scanOutcome reads component id's stream from seq from, looking for the
// first record that ends an operation. It returns the outcome so far, and
// the seq to continue from.
func (s *Server) scanOutcome(ctx context.Context, id actors.ID, from uint64, current Outcome) (Outcome, bool, uint64, error) {
	for {
		evs, err := s.cfg.Log.ReadStream(ctx, string(id), from, 256)
		if err != nil {
			return current, false, from, fmt.Errorf("cannot read %s's stream: %w", id, err)
		}
		for _, e := range evs {
			from = e.StreamSeq + 1
			r, err := actors.DecodeRecord(e)
			if err != nil {
				return current, false, from, err
			}
			outcome, done := s.outcomeOf(id, r.Status, e.StreamSeq)
			if done {
				return outcome, true, from, nil
			}
			current = outcome
		}
		if len(evs) < 256 {
			return current, false, from, nil
		}
	}
}

// serviceControl is what statemgr forwards to a service's control subject.
type serviceControl struct {
	Action    string `json:"action"` // "enable" or "disable"
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Requester string `json:"requester"`
}

// forwardTimeout bounds how long a service may take to answer a forwarded
// enable or disable.
const forwardTimeout = 2 * time.Second

// forwardToService answers statemgr.service.enable and .disable: the
// service machine has no enable or disable, so the request goes to the
// service's own control subject. A service that does not answer does not
// support it: the reply is ErrUnsupported, and the component records it
// (Status.Unsupported).
func (s *Server) forwardToService(action string) func(context.Context, *call) (any, error) {
	return func(ctx context.Context, c *call) (any, error) {
		req, derr := decode[ControlRequest](c.data)
		if derr != nil {
			return nil, derr
		}
		id, derr := componentID(req.ID, actors.KindService)
		if derr != nil {
			return nil, derr
		}
		if req.Type != "" || req.Wait != "" {
			return nil, newError(ErrBadRequest, `%s takes neither "type" nor "wait"`, c.subject)
		}
		if derr := operationID(req.Operation); derr != nil {
			return nil, derr
		}
		if _, ok := s.cfg.System.Machine(id); !ok {
			return nil, newError(ErrUnknownComponent, "no component %s", id)
		}
		op := req.Operation
		if op == "" {
			op = nuid.Next()
		}
		body, err := json.Marshal(serviceControl{Action: action, ID: string(id), Operation: op, Requester: c.requester})
		if err != nil {
			return nil, err
		}
		subject := ServiceControlSubject(id.Name())
		fctx, cancel := context.WithTimeout(ctx, forwardTimeout)
		defer cancel()
		msg, err := s.cfg.Conn.RequestWithContext(fctx, subject, body)
		if err != nil {
			if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				msg := fmt.Sprintf("%s: %s did not answer on %s: %s is unsupported", id, id.Name(), subject, action)
				// Record it, so the component's status and history say the
				// service does not implement the action.
				in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedControlUnsupported, Value: action, Cause: msg}
				if out, rerr := s.cfg.System.Request(ctx, id, in); rerr != nil {
					s.log.Warn("cannot record an unsupported control action", "component", id, "action", action, "error", rerr)
				} else {
					s.views.update(out.View) // the caller's next read sees it
				}
				return nil, &Error{Kind: ErrUnsupported, Err: err, Message: msg}
			}
			return nil, err
		}
		if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
			return nil, &Error{Kind: ErrUnsupported, Message: fmt.Sprintf("%s refused %s: %s (code %s)", id, action, msg.Header.Get("Nats-Service-Error"), code)}
		}
		comp, err := s.component(id)
		if err != nil {
			return nil, err
		}
		return ControlReply{Operation: op, ID: string(id), Request: action, State: comp.State, Accepted: true}, nil
	}
}

func (s *Server) selfState(ctx context.Context, c *call) (any, error) {
	req, derr := decode[SelfStateRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	tokens := strings.Split(c.subject, ".")
	if len(tokens) != 4 {
		return nil, newError(ErrBadRequest, "self-state subject %q is not statemgr.service.<name>.selfstate", c.subject)
	}
	id, derr := componentID(actors.KindService+"."+tokens[2], actors.KindService)
	if derr != nil {
		return nil, derr
	}
	if req.State == "" && req.Event == "" {
		return nil, newError(ErrBadRequest, `a self-state report needs "state" (ENABLED, DISABLED or ERROR) or "event" (an observation of the service's machine)`)
	}
	if req.Event != "" && (req.Event == machine.ObservedSelfState || req.Event == machine.ObservedControlUnsupported) {
		return nil, newError(ErrInvalidInput, `"event" %q is reserved: report a state with "state"`, req.Event)
	}
	m, ok := s.cfg.System.Machine(id)
	if !ok {
		return nil, newError(ErrUnknownComponent, "no component %s", id)
	}
	if req.Event != "" && !m.Knows(req.Event) {
		return nil, newError(ErrInvalidInput, `"event" %q is not an observation of %s's machine`, req.Event, id)
	}
	if derr := checkSelfStateText(req); derr != nil {
		return nil, derr
	}
	if derr := s.reports.allow(id, s.cfg.Clock.Now()); derr != nil {
		return nil, derr
	}
	askCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	var out *protoactor.Outcome
	if req.Event != "" {
		cause := req.Cause
		if cause == "" {
			cause = "reported by the service"
		}
		var err error
		if out, err = s.cfg.System.Request(askCtx, id, machine.Input{Kind: machine.KindObservation, Trigger: req.Event, Cause: cause}); err != nil {
			return nil, err
		}
	}
	if req.State != "" {
		var err error
		if out, err = s.cfg.System.Request(askCtx, id, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedSelfState,
			Value: req.State, Cause: req.Status}); err != nil {
			return nil, err
		}
	}
	s.views.update(out.View)
	return s.view(&out.View), nil
}
