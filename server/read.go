package server

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
)

// endpointTable lists every subject of the service with its handler.
func (s *Server) endpointTable() []endpoint {
	// Each endpoint names the request type its handler decodes: its schema
	// is in the endpoint's metadata (TestEndpointSchemasMatchDecoders).
	read := func(subject string, req any, h func(context.Context, *call) (any, error)) endpoint {
		return endpoint{subject: subject, kind: EndpointRead, limit: MaxRequestSize, request: reflect.TypeOf(req), handle: h}
	}
	cached := func(subject string, req any, h func(context.Context, *call) (any, error)) endpoint {
		ep := read(subject, req, h)
		ep.inline = true
		return ep
	}
	control := func(subject string, req any, h func(context.Context, *call) (any, error)) endpoint {
		return endpoint{subject: subject, kind: EndpointControl, limit: MaxRequestSize, request: reflect.TypeOf(req), handle: h}
	}
	// An input report's body is small.
	input := func(subject string, req any, h func(context.Context, *call) (any, error)) endpoint {
		ep := control(subject, req, h)
		ep.limit = MaxInputSize
		return ep
	}
	validate := read(SubjectValidate, ValidateRequest{}, s.validate)
	validate.limit, validate.unconfigured = MaxValidateSize, true
	// The lists answer an unconfigured Server too: it has no components.
	list := func(subject, kind string) endpoint {
		ep := cached(subject, ListRequest{}, s.list(kind))
		ep.unconfigured = true
		return ep
	}
	eps := []endpoint{
		list(SubjectComponentsList, ""),
		list(SubjectHostsList, actors.KindHost),
		list(SubjectServicesList, actors.KindService),
		cached(SubjectHostGet, IDRequest{}, s.get(actors.KindHost)),
		cached(SubjectChassisGet, IDRequest{}, s.get(actors.KindChassis)),
		cached(SubjectBMCGet, IDRequest{}, s.get(actors.KindBMC)),
		cached(SubjectServiceGet, IDRequest{}, s.get(actors.KindService)),
		read(SubjectSystemStatus, StatusRequest{}, s.systemStatus),
		read(SubjectHistory, HistoryRequest{}, s.history),
		read(SubjectOperationGet, OperationRequest{}, s.operation),
		read(SubjectAlertsList, AlertsRequest{}, s.alerts),
		read(SubjectInterlocksList, InterlocksRequest{}, s.interlocks),
		read(SubjectPSUReadings, PSUReadingsRequest{}, s.psuReadings),
		read(SubjectLogReplay, ReplayRequest{}, s.replay),
		validate,
		read(SubjectLEDsList, LEDsRequest{}, s.ledsList),
		control(SubjectLEDIdentify, IdentifyRequest{}, s.identify),
		control(SubjectLEDLampTest, LampTestRequest{}, s.lampTest),
		control(SubjectServiceSelfState, SelfStateRequest{}, s.selfState),
		input(SubjectInputThermal, ThermalInputRequest{}, s.thermalInput),
		input(SubjectInputHealth, HealthInputRequest{}, s.healthInput),
		input(SubjectInputHost, HostInputRequest{}, s.hostEvent),
		control(SubjectBMCMaintenance, MaintenanceRequest{}, s.maintenance),
		control(SubjectOperationAck, OperationRequest{}, s.acknowledge),
		control(SubjectServiceEnable, ControlRequest{}, s.forwardToService("enable")),
		control(SubjectServiceDisable, ControlRequest{}, s.forwardToService("disable")),
	}
	eps = append(eps, s.checkpointEndpoints(read, control)...)
	eps = append(eps, s.configEndpoints(read, control)...)
	for _, c := range controlSubjects {
		eps = append(eps, control(c.subject, ControlRequest{}, s.control(c)))
	}
	return eps
}

// list answers the list subjects; kind "" lists every component, and then
// the request may narrow it with "kind". The handler serves every client
// at once: what one request asks lives in its own variables, never in kind.
func (s *Server) list(kind string) func(context.Context, *call) (any, error) {
	return func(_ context.Context, c *call) (any, error) {
		req, derr := decode[ListRequest](c.data)
		if derr != nil {
			return nil, derr
		}
		if derr := kindName(req.Kind); derr != nil {
			return nil, derr
		}
		if kind != "" && req.Kind != "" && req.Kind != kind {
			return nil, newError(ErrWrongKind, "%s lists %s components, not %s", c.subject, kind, req.Kind)
		}
		want := kind
		if want == "" {
			want = req.Kind
		}
		comps, err := s.components(want)
		if err != nil {
			return nil, err
		}
		reply := ComponentList{}
		reply.Components, reply.Next, derr = componentPage(comps, req.From, req.Limit)
		if derr != nil {
			return nil, derr
		}
		reply.More = reply.Next != ""
		return reply, nil
	}
}

// maxListLimit bounds a page of components: a platform within the
// platform file's limits has fewer.
const maxListLimit = 10000

// componentPage returns at most limit components from the one with id
// from ("" = the first), and the id of the one after them ("" = none).
// encodeReply may cut the page shorter to fit a reply.
func componentPage(comps []Component, from string, limit int) ([]Component, string, *Error) {
	return idPage(comps, func(c Component) string { return c.ID }, "a component", from, limit)
}

// idPage returns at most limit items from the one whose id is from ("" =
// the first), and the id of the one after them ("" = none); what names
// an item ("a component") in the error for an unknown from.
func idPage[T any](items []T, id func(T) string, what, from string, limit int) ([]T, string, *Error) {
	limit, derr := pageLimit(limit, maxListLimit, maxListLimit)
	if derr != nil {
		return nil, "", derr
	}
	start := 0
	if from != "" {
		start = slices.IndexFunc(items, func(it T) bool { return id(it) == from })
		if start < 0 {
			return nil, "", newError(ErrBadRequest, `"from" %q is not %s of this list: pass the "next" of the previous reply`, from, what)
		}
	}
	page := items[start:]
	if len(page) <= limit {
		return page, "", nil
	}
	return page[:limit], id(page[limit]), nil
}

// Key names a standing alert for paging: its operation, or
// "psu_unreachable/<psu>" for a silent PSU.
func (a StandingAlert) Key() string {
	if a.Operation != "" {
		return a.Operation
	}
	return a.Kind + "/" + a.ID
}

// alerts answers statemgr.alerts.list: the operations parked in failure
// with their alerts, until acknowledged, then the PSUs that do not answer,
// until they do. The page shows them however long ago they were raised
// (the event stream only brings the recent ones).
func (s *Server) alerts(_ context.Context, c *call) (any, error) {
	req, derr := decode[AlertsRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	parked, err := s.cfg.Operations.Alerts()
	if err != nil {
		return nil, fmt.Errorf("cannot read the standing alerts: %w", err)
	}
	silent, err := s.cfg.Operations.PSUAlerts()
	if err != nil {
		return nil, fmt.Errorf("cannot read the standing alerts: %w", err)
	}
	all := make([]StandingAlert, 0, len(parked)+len(silent))
	for _, r := range parked {
		all = append(all, StandingAlert{Operation: r.Op, Kind: string(r.Kind), ID: string(r.Target), Alert: r.Alert, Cause: r.Reason, State: r.State})
	}
	for _, a := range silent {
		all = append(all, StandingAlert{Kind: coordinator.RecPSUUnreachable, ID: a.PSU, Alert: a.Cause, Chassis: string(a.Chassis), Since: a.Since})
	}
	var reply AlertList
	reply.Alerts, reply.Next, derr = idPage(all, StandingAlert.Key, "an alert", req.From, req.Limit)
	if derr != nil {
		return nil, derr
	}
	reply.More = reply.Next != ""
	return reply, nil
}

// components returns the views of every component of kind ("" = all).
func (s *Server) components(kind string) ([]Component, error) {
	out := []Component{}
	for _, id := range s.ids() {
		if kind != "" && id.Kind() != kind {
			continue
		}
		comp, err := s.component(id)
		if err != nil {
			return nil, err
		}
		out = append(out, comp)
	}
	return out, nil
}

// get answers the <kind>.get subjects.
func (s *Server) get(kind string) func(context.Context, *call) (any, error) {
	return func(_ context.Context, c *call) (any, error) {
		req, derr := decode[IDRequest](c.data)
		if derr != nil {
			return nil, derr
		}
		id, derr := componentID(req.ID, kind)
		if derr != nil {
			return nil, derr
		}
		return s.component(id)
	}
}

// component returns a component's view as of its last durable record.
func (s *Server) component(id actors.ID) (Component, error) {
	v, ok := s.views.get(id)
	if !ok {
		return Component{}, newError(ErrUnknownComponent, "unknown component %q", id)
	}
	return s.view(&v), nil
}

// view renders a component's view for the wire. Allowed is computed here,
// not stored with the view: it depends on the other components' states (a
// host may power on once its chassis is On), so it is evaluated with the
// guard facts a control request would get now, by the same function, and
// without the requests an operation in flight holds a component of (Busy,
// from the claims the coordinator publishes: no hardware read).
func (s *Server) view(v *protoactor.View) Component {
	st := v.Status
	c := Component{
		ID: string(v.ID), Kind: v.ID.Kind(), Name: v.ID.Name(), State: st.State, Since: st.Since, Cause: st.Cause,
		Requested: st.Requested, Allowed: []string{}, Version: v.Version, Transitions: st.Transitions,
		BootProgress: st.BootProgress, PowerStatus: st.PowerStatus, LastRebootCause: st.LastRebootCause, Failure: st.Failure,
	}
	m, ok := s.cfg.System.Machine(v.ID)
	if !ok {
		return c
	}
	var facts machine.Facts
	s.views.withStatuses(func(statuses map[actors.ID]machine.Status) {
		facts = coordinator.Facts(s.topo, statuses, v.ID, false)
		for _, name := range machine.Allowed(m, st, facts) {
			if req, ok := asOperation(v.ID, name); ok {
				if b := s.cfg.Operations.Busy(req, statuses); b != nil {
					c.Busy = append(c.Busy, BusyRequest{Request: name, Operation: b.InFlight, Kind: string(b.Kind), Component: string(b.Component)})
					continue
				}
			}
			c.Allowed = append(c.Allowed, name)
		}
	})
	if v.ID.Kind() == actors.KindService {
		code, line := machine.Code(m, st, facts)
		c.Code, c.StatusLine = string(code), line
		c.Report, c.Unsupported = st.Report, st.Unsupported
	}
	return c
}

// systemStatus answers statemgr.system.status.
func (s *Server) systemStatus(ctx context.Context, c *call) (any, error) {
	req, derr := decode[StatusRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	comps, err := s.components("")
	if err != nil {
		return nil, err
	}
	head, err := s.cfg.Log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read the log head: %w", err)
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	reply := SystemStatus{Service: ServiceName, Version: s.cfg.Version, Started: started, LogHead: head,
		Published: s.Published()}
	reply.Components, reply.Next, derr = componentPage(comps, req.From, req.Limit)
	if derr != nil {
		return nil, derr
	}
	reply.More = reply.Next != ""
	return reply, nil
}

// History paging bounds.
const (
	defaultHistoryLimit = 100
	maxHistoryLimit     = 1000
)

// history answers statemgr.history: a page of transitions and statistics
// over the whole stream.
func (s *Server) history(ctx context.Context, c *call) (any, error) {
	req, derr := decode[HistoryRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	id, derr := componentID(req.ID, "")
	if derr != nil {
		return nil, derr
	}
	if _, ok := s.cfg.System.Machine(id); !ok {
		return nil, newError(ErrUnknownComponent, "no component %s", id)
	}
	limit, derr := pageLimit(req.Limit, defaultHistoryLimit, maxHistoryLimit)
	if derr != nil {
		return nil, derr
	}
	evs, err := s.cfg.Log.ReadStream(ctx, string(id), 1, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s's history: %w", id, err)
	}
	all, err := actors.HistoryOf(evs)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s's history: %w", id, err)
	}
	reply := HistoryReply{ID: string(id), Transitions: []actors.Transition{}, Statistics: actors.Statistics(all, s.cfg.Clock.Now())}
	for _, t := range all {
		if t.Seq < req.From {
			continue
		}
		if len(reply.Transitions) == limit {
			reply.Next, reply.More = t.Seq, true
			break
		}
		reply.Transitions = append(reply.Transitions, t)
	}
	return reply, nil
}

// pageLimit checks a page size: 0 means def, at most max.
func pageLimit(limit, def, max int) (int, *Error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > max:
		return 0, newError(ErrBadRequest, `"limit" must be between 1 and %d, got %d`, max, limit)
	}
	return limit, nil
}
