package server

import (
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Subjects of the statemgr service. docs/API.md documents each one; the
// contract test checks the two against each other.
const (
	SubjectComponentsList = "statemgr.components.list"
	SubjectHostsList      = "statemgr.hosts.list"
	SubjectHostGet        = "statemgr.host.get"
	SubjectChassisGet     = "statemgr.chassis.get"
	SubjectBMCGet         = "statemgr.bmc.get"
	SubjectServicesList   = "statemgr.services.list"
	SubjectServiceGet     = "statemgr.service.get"
	SubjectSystemStatus   = "statemgr.system.status"
	SubjectHistory        = "statemgr.history"
	SubjectOperationGet   = "statemgr.operation.get"
	// SubjectOperationAck acknowledges the alert of an operation parked in
	// failure, clearing the blocking_error interlock on its target.
	SubjectOperationAck = "statemgr.operation.acknowledge"
	// SubjectAlertsList lists the standing alerts: operations parked in
	// failure, not yet acknowledged.
	SubjectAlertsList = "statemgr.alerts.list"
	// SubjectLogReplay pages the log. It lies outside the events
	// namespace (statemgr.events.>), so that a subscriber to every event
	// never receives requests.
	SubjectLogReplay = "statemgr.log.replay"
	SubjectValidate  = "statemgr.validate"

	SubjectHostPowerOn     = "statemgr.host.power.on"
	SubjectHostPowerOff    = "statemgr.host.power.off"
	SubjectHostReset       = "statemgr.host.reset"
	SubjectChassisPowerOn  = "statemgr.chassis.power.on"
	SubjectChassisPowerOff = "statemgr.chassis.power.off"
	SubjectChassisCycle    = "statemgr.chassis.power.cycle"
	SubjectBMCMaintenance  = "statemgr.bmc.maintenance"
	SubjectBMCReset        = "statemgr.bmc.reset"
	SubjectServiceStart    = "statemgr.service.start"
	SubjectServiceStop     = "statemgr.service.stop"
	SubjectServiceRestart  = "statemgr.service.restart"
	SubjectServiceReset    = "statemgr.service.reset"
	SubjectServiceEnable   = "statemgr.service.enable"
	SubjectServiceDisable  = "statemgr.service.disable"

	// SubjectServiceSelfState is where a supervised service reports its own
	// state; the service role may publish only its own subject.
	SubjectServiceSelfState = "statemgr.service.*.selfstate"

	// SubjectInputThermal and SubjectInputHealth take the reports of the
	// platform file's external inputs (statemgr.input.<kind>.<name>):
	// a thermal manager's zones and a sensor monitor's sensors. Only users
	// granted the input (User.Inputs) may publish them.
	SubjectInputThermal = "statemgr.input.thermal.*"
	SubjectInputHealth  = "statemgr.input.health.*"
	// SubjectInputHost takes host events (a watchdog expiry, a crash, POST
	// complete, boot progress) on statemgr.input.host.<host>, for the
	// events the host's input block accepts; only users granted the host
	// (User.Inputs "host.<host>") may publish them.
	SubjectInputHost = "statemgr.input.host.*"
)

// SubjectInputPrefix starts every input subject.
const SubjectInputPrefix = "statemgr.input."

// Event subjects, published after each record is durable.
const (
	SubjectEventsPrefix      = "statemgr.events."
	SubjectEventsTransitions = "statemgr.events.transitions"
	SubjectEventsErrors      = "statemgr.events.errors"
	SubjectEventsAlerts      = "statemgr.events.alerts"
	// SubjectEventsOperations carries the coordinator's records:
	// operations accepted, rejected and finished (with their outcome),
	// overrides, power losses and power-restore decisions, emergencies.
	SubjectEventsOperations = "statemgr.events.operations"
	// SubjectEventsComponents matches every per-component subject
	// (statemgr.events.<kind>.<name>): each event is published on exactly
	// one of them, so a subscriber sees every event once.
	SubjectEventsComponents = "statemgr.events.*.*"
)

// EventsSubject returns the event subject of a stream "<kind>.<name>":
// statemgr.events.<kind>.<name>. Further dots in a stream id (a future saga
// stream) become '_', so that every event matches SubjectEventsComponents.
func EventsSubject(stream string) string {
	kind, name, ok := strings.Cut(stream, ".")
	if !ok {
		kind, name = "other", stream
	}
	return SubjectEventsPrefix + kind + "." + strings.ReplaceAll(name, ".", "_")
}

// ServiceControlSubject is where statemgr forwards enable and disable
// requests to the service named name.
func ServiceControlSubject(name string) string { return "statemgr.service." + name + ".control" }

// ServiceSelfStateSubject is where the service named name reports its state.
func ServiceSelfStateSubject(name string) string { return "statemgr.service." + name + ".selfstate" }

// Event headers.
const (
	// HeaderMsgID is "<stream>/<stream seq>", for subscribers' dedupe.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderSeq is the event's global sequence.
	HeaderSeq = "Statemgr-Seq"
	// HeaderErrorCode carries an error reply's catalogue code (10001...),
	// also in the body. micro's Nats-Service-Error-Code carries the
	// HTTP-like status (400, 409, 500, ...), as micro itself uses it: the
	// catalogue codes would collide with JetStream's error codes there.
	HeaderErrorCode = "Statemgr-Error-Code"
)

// Request bodies. Every body is a JSON object; unknown fields are refused.
type (
	// IDRequest names one component.
	IDRequest struct {
		ID string `json:"id"`
	}
	// ListRequest optionally narrows a list to one kind. From is the
	// component id to start at (a reply's "next"); Limit bounds the page
	// (0 = as many as fit in one reply, at most 10000).
	ListRequest struct {
		Kind  string `json:"kind,omitempty"`
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// AlertsRequest pages statemgr.alerts.list: From is the alert to
	// start at (a reply's "next": an operation, or "psu_unreachable/<psu>"), Limit
	// as in ListRequest.
	AlertsRequest struct {
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// StatusRequest pages statemgr.system.status's components as
	// ListRequest does.
	StatusRequest struct {
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// ControlRequest asks a component for a transition. Type picks the
	// request where a subject allows several (host.power.off takes
	// GracefulShutdown or ForceOff; host.reset takes every Redfish
	// ResetType). Operation makes the request idempotent: the same id
	// returns the first outcome. Wait ("30s") asks the reply to wait for
	// the final outcome.
	//
	// Host and chassis requests run as coordinator operations, which also
	// take: Override, interlocks to override (operators only); Queue, wait
	// for a busy component instead of being refused; PowerChassis, power
	// the host's chassis on first (host power on); At, an RFC 3339 time to
	// run the operation at (persisted, survives restarts).
	ControlRequest struct {
		ID           string   `json:"id"`
		Type         string   `json:"type,omitempty"`
		Operation    string   `json:"operation,omitempty"`
		Wait         string   `json:"wait,omitempty"`
		Override     []string `json:"override,omitempty"`
		Queue        bool     `json:"queue,omitempty"`
		PowerChassis bool     `json:"power_chassis,omitempty"`
		At           string   `json:"at,omitempty"`
	}
	// MaintenanceRequest enters (Enable true) or leaves maintenance.
	MaintenanceRequest struct {
		ID        string `json:"id"`
		Enable    *bool  `json:"enable"`
		Operation string `json:"operation,omitempty"`
		Wait      string `json:"wait,omitempty"`
		Queue     bool   `json:"queue,omitempty"`
	}
	// HistoryRequest pages a component's transitions from stream sequence
	// From (0 = the start), at most Limit (0 = 100, at most 1000).
	HistoryRequest struct {
		ID    string `json:"id"`
		From  uint64 `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// OperationRequest names an operation.
	OperationRequest struct {
		Operation string `json:"operation"`
	}
	// ReplayRequest pages the whole log from global sequence From (0 = the
	// start), at most Limit matching events (0 = 256, at most 1000).
	ReplayRequest struct {
		From   uint64      `json:"from,omitempty"`
		Limit  int         `json:"limit,omitempty"`
		Filter EventFilter `json:"filter,omitempty"`
	}
	// ValidateRequest carries a platform file to check. From is the index
	// of the first item to return (a reply's "next"), items being the
	// errors, then the components.
	ValidateRequest struct {
		Name   string `json:"name,omitempty"` // file name for diagnostics
		Source string `json:"source"`         // the HCL text
		From   int    `json:"from,omitempty"`
	}
	// SelfStateRequest is a service's report about itself. State (ENABLED,
	// DISABLED or ERROR, with Status: for ERROR what failed and how to
	// resolve it) is the service's own word on its health, published as its
	// code while it runs. Event moves the service's machine: one of its
	// observations (initialized, runtime_error, ..., or a trigger the
	// platform file adds, such as sync_started for a Syncing sub-state),
	// with Cause. At least one of State and Event.
	SelfStateRequest struct {
		State  string `json:"state,omitempty"`
		Status string `json:"status,omitempty"`
		Event  string `json:"event,omitempty"`
		Cause  string `json:"cause,omitempty"`
	}
)

// EventFilter selects events; empty fields match everything.
type EventFilter struct {
	Component string `json:"component,omitempty"` // "host.0"
	Kind      string `json:"kind,omitempty"`      // "host"
	Type      string `json:"type,omitempty"`      // "transition", "alert", "created", "ignored_observation", "rejected_request"
}

// Match reports whether e passes the filter.
func (f EventFilter) Match(e Event) bool {
	return (f.Component == "" || f.Component == e.ID) &&
		(f.Kind == "" || f.Kind == e.Kind) &&
		(f.Type == "" || f.Type == e.Type)
}

// Replies.
type (
	// Component is what statemgr says about one component: its machine
	// status, what it may be asked next and, for services, the four-value
	// code and status line.
	Component struct {
		ID        string           `json:"id"`
		Kind      string           `json:"kind"`
		Name      string           `json:"name"`
		State     string           `json:"state"`
		Since     time.Time        `json:"since"`
		Cause     string           `json:"cause,omitempty"`
		Requested *machine.Request `json:"requested,omitempty"`
		Allowed   []string         `json:"allowed"`
		// Busy are the requests the component's state and guards allow
		// but an operation in flight (or queued) refuses now, each with
		// the operation: they are not in Allowed.
		Busy            []BusyRequest    `json:"busy,omitempty"`
		Version         uint64           `json:"version"`
		Transitions     uint64           `json:"transitions"`
		BootProgress    string           `json:"boot_progress,omitempty"`
		PowerStatus     string           `json:"power_status,omitempty"`
		LastRebootCause string           `json:"last_reboot_cause,omitempty"`
		Failure         *machine.Failure `json:"failure,omitempty"`
		Code            string           `json:"code,omitempty"`        // services only
		StatusLine      string           `json:"status_line,omitempty"` // services only
		// Report is the service's own last report; Unsupported the control
		// actions it did not answer. Services only.
		Report      *machine.Report      `json:"report,omitempty"`
		Unsupported *machine.Unsupported `json:"unsupported,omitempty"`
	}
	// BusyRequest is a request refused busy now: Operation (of Kind)
	// holds Component, which the request needs.
	BusyRequest struct {
		Request   string `json:"request"`
		Operation string `json:"operation"`
		Kind      string `json:"kind"`
		Component string `json:"component"`
	}
	// ComponentList is the reply of the list subjects. More says the
	// list goes on from component Next.
	ComponentList struct {
		Components []Component `json:"components"`
		Next       string      `json:"next,omitempty"`
		More       bool        `json:"more,omitempty"`
	}
	// ControlReply is the reply of a control subject: the operation was
	// accepted and is durable, and the component is in State. Outcome is
	// set when the request asked to wait. Kind is the coordinator
	// operation that carries a host, chassis or maintenance request out; a
	// scheduled request has Schedule and At instead of Operation.
	ControlReply struct {
		Operation string    `json:"operation,omitempty"`
		Schedule  string    `json:"schedule,omitempty"`
		At        time.Time `json:"at,omitzero"`
		ID        string    `json:"id"`
		Request   string    `json:"request"`
		Kind      string    `json:"kind,omitempty"`
		State     string    `json:"state"`
		Accepted  bool      `json:"accepted"`
		Duplicate bool      `json:"duplicate,omitempty"` // a retried operation: its first outcome
		// Noop says the component already was in the requested state: the
		// request did nothing.
		Noop    bool     `json:"noop,omitempty"`
		Outcome *Outcome `json:"outcome,omitempty"`
	}
	// Outcome is how an operation ended, or that it has not yet.
	Outcome struct {
		Result string    `json:"result"` // one of the Result constants
		State  string    `json:"state"`
		Cause  string    `json:"cause,omitempty"`
		Alert  string    `json:"alert,omitempty"` // a failure that needs an operator (statemgr.operation.acknowledge)
		Seq    uint64    `json:"seq,omitempty"`   // stream seq of the record that ended it
		Time   time.Time `json:"time,omitzero"`
	}
	// AcknowledgeReply is the reply of statemgr.operation.acknowledge.
	AcknowledgeReply struct {
		Operation    string `json:"operation"`
		Acknowledged bool   `json:"acknowledged"`
	}
	// AlertList is the reply of statemgr.alerts.list: the parked
	// operations in operation order, then the silent PSUs in platform
	// file order.
	AlertList struct {
		Alerts []StandingAlert `json:"alerts"`
		Next   string          `json:"next,omitempty"` // the alert to pass as "from" (StandingAlert.Key)
		More   bool            `json:"more,omitempty"`
	}
	// StandingAlert is an operation parked in failure: it blocks power
	// requests on ID (interlock blocking_error) until an operator
	// acknowledges it (statemgr.operation.acknowledge). Or, with Kind
	// "psu_unreachable" and no Operation, a PSU that does not answer on
	// its bus (ID the PSU, Alert the bus error): power-ons of its Chassis
	// are refused (interlock psu_unreachable) and the alert clears itself
	// when the PSU answers again.
	StandingAlert struct {
		Operation string    `json:"operation,omitempty"`
		Kind      string    `json:"kind"`
		ID        string    `json:"id"`
		Alert     string    `json:"alert"`
		Cause     string    `json:"cause,omitempty"`
		State     string    `json:"state,omitempty"`   // the target's state when the operation ended
		Chassis   string    `json:"chassis,omitempty"` // a PSU's chassis
		Since     time.Time `json:"since,omitzero"`    // when a PSU was first seen silent
	}
	// SystemStatus is the reply of statemgr.system.status.
	SystemStatus struct {
		Service    string      `json:"service"`
		Version    string      `json:"version"`
		Started    time.Time   `json:"started"`
		LogHead    uint64      `json:"log_head"`
		Published  uint64      `json:"published"` // global seq of the last event published
		Components []Component `json:"components"`
		Next       string      `json:"next,omitempty"` // as in ComponentList
		More       bool        `json:"more,omitempty"`
	}
	// HistoryReply is a page of a component's transitions with statistics
	// over its whole history.
	HistoryReply struct {
		ID          string              `json:"id"`
		Transitions []actors.Transition `json:"transitions"`
		Next        uint64              `json:"next"` // stream seq to ask for next; 0 when done
		More        bool                `json:"more,omitempty"`
		Statistics  actors.Stats        `json:"statistics"`
	}
	// OperationReply is what the log says about an operation.
	OperationReply struct {
		Operation string  `json:"operation"`
		ID        string  `json:"id"`
		Request   string  `json:"request"`
		Requester string  `json:"requester,omitempty"`
		Records   []Event `json:"records"`
		Outcome   Outcome `json:"outcome"`
	}
	// ReplayReply is a page of the log. Next is the global seq to ask for
	// next (every event before it was scanned); Head is the log's head when
	// the page was read; More says events up to Head remain to be scanned.
	ReplayReply struct {
		Events []Event `json:"events"`
		Next   uint64  `json:"next"`
		Head   uint64  `json:"head"`
		More   bool    `json:"more,omitempty"`
	}
	// ValidateReply reports on a platform file.
	ValidateReply struct {
		Platform   string            `json:"platform"`
		OK         bool              `json:"ok"`
		Errors     []string          `json:"errors,omitempty"` // parse problems, "file:line:col: message"
		Components []ComponentReport `json:"components,omitempty"`
		// Next is the "from" of the next page, when More.
		Next int  `json:"next,omitempty"`
		More bool `json:"more,omitempty"`
		From int  `json:"-"` // the index of the reply's first item
	}
	// ComponentReport is one component's validation result.
	ComponentReport struct {
		ID          string   `json:"id"`
		States      int      `json:"states"`
		Transitions int      `json:"transitions"`
		Problems    []string `json:"problems,omitempty"`
	}
)

// Outcome results. A coordinator operation ends in one of the first seven
// (package saga's outcomes); a request to a single component in succeeded
// or failed.
const (
	ResultSucceeded   = "succeeded"   // done: the component left its transitional state for a stable one
	ResultFailed      = "failed"      // failed: an error state, or a saga that could not be undone
	ResultCompensated = "compensated" // failed and undone: the hardware is back where it was
	ResultTimedOut    = "timed_out"   // a step of the operation ran out of time
	ResultSuperseded  = "superseded"  // an emergency or a power loss took over
	ResultRejected    = "rejected"    // refused before it started
	ResultAbandoned   = "abandoned"   // unfinished in a restored checkpoint: neither resumed nor compensated
	ResultInProgress  = "in_progress" // not ended yet (a wait that ended first, or operation.get)
)

// Event is one log record as published and replayed: the envelope plus the
// component record's fields, flattened for subscribers.
type Event struct {
	Seq       uint64    `json:"seq"`        // global sequence
	ID        string    `json:"id"`         // stream: the component id
	StreamSeq uint64    `json:"stream_seq"` // position in the component's stream
	Kind      string    `json:"kind"`
	Type      string    `json:"type"` // transition, created, alert, ignored_observation, rejected_request
	Time      time.Time `json:"time"`
	From      string    `json:"from,omitempty"`
	To        string    `json:"to,omitempty"`
	Trigger   string    `json:"trigger,omitempty"`
	State     string    `json:"state"` // the component's state right after the record
	Cause     string    `json:"cause,omitempty"`
	Requester string    `json:"requester,omitempty"`
	Operation string    `json:"operation,omitempty"`
	Alert     string    `json:"alert,omitempty"`
	Message   string    `json:"message,omitempty"`
	Error     bool      `json:"error,omitempty"` // entered an error state; an operation that did not succeed
	// Coordinator records: the operation's target and, once it ended,
	// its outcome (a Result constant).
	Target  string `json:"target,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}
