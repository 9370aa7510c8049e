package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events"
)

// publisher follows the event log and publishes each record once it is
// durable: publishing follows Log.Subscribe, which only delivers stored
// events, so nothing is published before it is in the log. Publishing is
// best-effort (core NATS); subscribers close gaps with
// statemgr.log.replay, deduplicating by global seq.
type publisher struct {
	s         *Server
	sub       *events.Subscription
	done      chan struct{}
	published atomic.Uint64
	// hdr is reused for every event: PublishMsg copies it into the
	// outgoing buffer before it returns. Owned by run.
	hdr nats.Header
}

func startPublisher(s *Server, from uint64) (*publisher, error) {
	sub, err := s.cfg.Log.Subscribe(context.Background(), from)
	if err != nil {
		return nil, fmt.Errorf("cannot follow the event log: %w", err)
	}
	p := &publisher{s: s, sub: sub, done: make(chan struct{}), hdr: nats.Header{}}
	p.published.Store(from - 1)
	go p.run()
	return p, nil
}

func (p *publisher) run() {
	defer close(p.done)
	for e := range p.sub.C {
		p.publish(e)
	}
	if err := p.sub.Err(); err != nil {
		p.s.log.Error("event publisher stopped: cannot follow the event log", "error", err)
	}
}

// publish updates the component's cached view, sends the event on its
// subjects, indexes its operation and wakes the requests waiting on its
// component. The view is updated first, so a subscriber that reads the
// component after an event sees at least that event's state.
func (p *publisher) publish(e events.Event) {
	ev, r, isRecord := p.s.decodeEvent(e)
	if isRecord {
		p.s.observeRecord(e, r)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		p.s.log.Error("cannot encode an event", "seq", e.GlobalSeq, "error", err)
		return
	}
	p.hdr.Set(HeaderMsgID, e.Stream+"/"+strconv.FormatUint(e.StreamSeq, 10))
	p.hdr.Set(HeaderSeq, strconv.FormatUint(e.GlobalSeq, 10))
	var subjects [4]string
	for _, subject := range eventSubjects(ev, subjects[:0]) {
		if err := p.s.cfg.Conn.PublishMsg(&nats.Msg{Subject: subject, Header: p.hdr, Data: data}); err != nil {
			if ok, suppressed := p.s.warnings.allow("publish event", p.s.cfg.Clock.Now()); ok {
				p.s.log.Warn("cannot publish an event; subscribers will replay it", "subject", subject, "seq", e.GlobalSeq,
					"bytes", len(data), "error", err, "same_failures_not_logged", suppressed, "logged_at_most_every", warningInterval)
			}
		}
	}
	p.s.indexOperation(e)
	p.published.Store(e.GlobalSeq)
	if n, ok := p.s.notifiers[actors.ID(e.Stream)]; ok {
		n.Notify()
	}
}

func (p *publisher) stop() {
	p.sub.Close()
	<-p.done
}

// fillOperationEvent flattens a coordinator record: what it is about,
// how it ended and why.
func fillOperationEvent(ev *Event, r coordinator.Record) {
	ev.Target = string(r.Component)
	if r.Request != nil {
		ev.Target, ev.Trigger = string(r.Request.Target), string(r.Request.Kind)
		if r.Request.ResetType != "" {
			ev.Trigger += ":" + r.Request.ResetType
		}
	}
	ev.Message = r.Error
	if r.Result != nil {
		ev.Target, ev.Trigger, ev.Outcome, ev.Message = string(r.Result.Target), string(r.Result.Kind), string(r.Result.Outcome), r.Result.Reason
		ev.Alert = r.Result.Alert
		ev.Error = r.Result.Outcome != saga.Succeeded
	}
	if ev.Type == coordinator.RecOpRejected {
		ev.Outcome = string(saga.Rejected)
	}
	if r.PSU != "" {
		ev.Target = r.PSU
	}
	if ev.Type == coordinator.RecPSUUnreachable {
		ev.Alert = r.Cause
	}
}

// eventSubjects appends to subjects the subjects an event goes to: its
// stream's subject always, plus transitions, errors, alerts and operations
// by what it is.
func eventSubjects(ev Event, subjects []string) []string {
	subjects = append(subjects, EventsSubject(ev.ID))
	if ev.Kind == coordinator.Stream {
		subjects = append(subjects, SubjectEventsOperations)
	}
	if ev.Type == string(machine.EventTransition) {
		subjects = append(subjects, SubjectEventsTransitions)
	}
	if ev.Error {
		subjects = append(subjects, SubjectEventsErrors)
	}
	// A silent PSU's alert clearing goes where its raising went.
	if ev.Type == string(machine.EventAlert) || (ev.Kind == coordinator.Stream && (ev.Alert != "" || ev.Type == coordinator.RecPSUAnswers)) {
		subjects = append(subjects, SubjectEventsAlerts)
	}
	return subjects
}

// toEvent flattens a log event for the wire. A record that is not a
// component record keeps only its envelope.
func (s *Server) toEvent(e events.Event) Event {
	ev, _, _ := s.decodeEvent(e)
	return ev
}

// decodeEvent flattens a log event and returns its component record, if it
// is one.
func (s *Server) decodeEvent(e events.Event) (Event, actors.Record, bool) {
	ev := Event{Seq: e.GlobalSeq, ID: e.Stream, StreamSeq: e.StreamSeq, Kind: actors.ID(e.Stream).Kind(), Type: e.Type,
		Time: e.Time, Cause: e.Cause, Requester: e.Requester, Operation: e.Operation}
	if e.Stream == coordinator.Stream {
		ev.Kind = coordinator.Stream
		if r, err := coordinator.DecodeRecord(e); err == nil {
			fillOperationEvent(&ev, r)
		}
		return ev, actors.Record{}, false
	}
	if _, known := s.stateKinds[actors.ID(e.Stream)]; !known {
		return ev, actors.Record{}, false // a saga's own stream: the envelope says it all
	}
	r, err := actors.DecodeRecord(e)
	if err != nil {
		return ev, r, false
	}
	ev.From, ev.To, ev.Trigger, ev.State = r.Event.From, r.Event.To, r.Event.Trigger, r.Status.State
	ev.Alert, ev.Message = string(r.Event.Alert), r.Event.Message
	ev.Error = r.Event.Type == machine.EventTransition && r.Event.From != r.Event.To &&
		s.stateKind(actors.ID(e.Stream), r.Event.To) == machine.ErrorKind
	return ev, r, true
}
