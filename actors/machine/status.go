package machine

import "time"

// Status is where one machine instance stands: what Step reads and returns,
// and what an actor snapshots. It is plain data and round-trips through JSON.
//
// The current state is always the real one, transitional states included:
// a host that was asked to shut down reads TransitioningToOff until power
// good drops, never Running (x86-power-control's projection) and never Off.
type Status struct {
	State string    `json:"state"`
	Since time.Time `json:"since"` // when State was entered; self-loops keep it
	// Cause explains the last transition, e.g. "request ForceOff" or
	// "timeout in TransitioningToOff after 5m0s".
	Cause string `json:"cause,omitempty"`
	// Requested is the last request the machine accepted. It is the
	// "requested" half of requested-versus-current: it stays after the
	// machine reaches (or fails to reach) the state it asked for.
	Requested *Request `json:"requested,omitempty"`
	// Transitions counts state changes (self-loops excluded), so that two
	// snapshots can be compared and thrashing measured.
	Transitions uint64 `json:"transitions"`

	// BootProgress is the host's last reported boot stage (a BootProgress*
	// value); hosts only.
	BootProgress string `json:"boot_progress,omitempty"`
	// PowerStatus is the chassis input-power status (a PowerStatus* value);
	// chassis only.
	PowerStatus string `json:"power_status,omitempty"`
	// LastRebootCause is why the BMC last rebooted (a RebootCause* value);
	// BMC only.
	LastRebootCause string `json:"last_reboot_cause,omitempty"`
	// Failure records what failed when a machine entered an error state
	// through a record_failure effect; services use it for their extended
	// status. It is cleared by clear_failure.
	Failure *Failure `json:"failure,omitempty"`
	// Report is a running service's last report about itself; services
	// only. Code uses it while the service is still in the state it
	// reported from.
	Report *Report `json:"report,omitempty"`
	// Unsupported records the control actions a service did not answer
	// when they were forwarded to it; services only.
	Unsupported *Unsupported `json:"unsupported,omitempty"`
}

// Unsupported says which control actions a service does not implement.
type Unsupported struct {
	Enable  bool `json:"enable,omitempty"`
	Disable bool `json:"disable,omitempty"`
}

// Report is a service's own report of its state.
type Report struct {
	Code   ServiceCode `json:"code"`             // ENABLED, DISABLED or ERROR
	Status string      `json:"status,omitempty"` // extended status
	Time   time.Time   `json:"time"`
}

// Request is an accepted client request, kept in Status.Requested.
type Request struct {
	Name      string    `json:"name"`                // the trigger, e.g. "GracefulShutdown"
	Operation string    `json:"operation,omitempty"` // the client's operation id
	Requester string    `json:"requester,omitempty"` // who asked, e.g. "operator:alice"
	Time      time.Time `json:"time"`
	// PerformedBy is the request's (Input.PerformedBy): the effects of a
	// timeout in the state it led into have the same performer.
	PerformedBy Performer `json:"performed_by,omitempty"`
}

// Failure says what failed and why, for an error state's extended status.
type Failure struct {
	What  string    `json:"what"`  // the failed phase, e.g. "initialization"
	Cause string    `json:"cause"` // the reported cause, e.g. "exit status 3"
	Time  time.Time `json:"time"`
}

// InputKind says where an input comes from; it decides what an unmatched
// input means (see Step).
type InputKind string

// Input kinds.
const (
	// KindRequest is a client asking for a transition. Request triggers are
	// PascalCase, named like Redfish ResetType values ("On", "ForceOff").
	KindRequest InputKind = "request"
	// KindObservation is a fact reported by hardware or a supervisor.
	// Observation triggers are snake_case ("power_good_asserted").
	KindObservation InputKind = "observation"
	// KindTick only advances time, firing any timeout that has come due.
	KindTick InputKind = "tick"
)

// Performer names who performs the effects of a step (Input.PerformedBy).
// The component shell is the one place that reads it: it hands to its
// Effector only the effects performed by the effector.
type Performer string

// Performers.
const (
	// PerformedByEffector, the zero value: the shell hands the effects to
	// its Effector (the devices, a service's supervisor).
	PerformedByEffector Performer = ""
	// PerformedByCoordinator: the coordinator performs the hardware side
	// of its saga steps itself (PSU sequence, button, reset, NMI) and
	// reports what it read back, so that a step can be compensated and an
	// emergency acts even when the log fails. The shell records the
	// effects and hands none of them to the Effector.
	PerformedByCoordinator Performer = "coordinator"
)

// valid reports whether p is a performer Step knows.
func (p Performer) valid() bool {
	return p == PerformedByEffector || p == PerformedByCoordinator
}

// Facts are named booleans the caller knows about the world outside the
// machine (e.g. "chassis_on", "firmware_update_in_progress"). A fact that is
// absent is false.
type Facts map[string]bool

// Input is one thing that happened to a machine.
type Input struct {
	Kind      InputKind `json:"kind"`
	Trigger   string    `json:"trigger,omitempty"` // empty for a tick
	Operation string    `json:"operation,omitempty"`
	Requester string    `json:"requester,omitempty"`
	// Cause overrides the default cause recorded with the transition
	// ("request On", "observed host_crash"), e.g. "front panel button".
	Cause string `json:"cause,omitempty"`
	// Value carries an observed value for effects that record one: a boot
	// progress stage, a power status, a reboot cause.
	Value string `json:"value,omitempty"`
	Facts Facts  `json:"facts,omitempty"`
	// RecordRejection asks the shell to record a rejection of this request
	// under its Operation (EventRejected): the id is the client's, and a
	// retry under it must get the rejection again.
	RecordRejection bool `json:"record_rejection,omitempty"`
	// PerformedBy says who performs the effects this input causes
	// (recorded in its events and effects); empty, the Effector.
	PerformedBy Performer `json:"performed_by,omitempty"`
}

// Effect is an action the actor shell performs after it has persisted the
// events of the same Step, e.g. hold_power_button with duration=4s.
type Effect struct {
	Name      string            `json:"name"`
	Params    map[string]string `json:"params,omitempty"`
	Operation string            `json:"operation,omitempty"` // the input's, so outcomes can be correlated
	// PerformedBy is the input's: the shell hands the effect to its
	// Effector only when it is PerformedByEffector.
	PerformedBy Performer `json:"performed_by,omitempty"`
}

// EventType distinguishes the records Step and CheckAlerts produce.
type EventType string

// Event types.
const (
	// EventTransition records a transition, self-loops included.
	EventTransition EventType = "transition"
	// EventIgnored records an observation no transition matched. It is not
	// an error for the caller, but it is evidence (power good dropping
	// while a host reads Off says the model and the hardware disagree).
	EventIgnored EventType = "ignored_observation"
	// EventAlert records a condition someone should look at.
	EventAlert EventType = "alert"
	// EventRejected records a request refused under an operation id
	// (Input.RecordRejection), so
	// that the id stays bound to the refusal and a retry gets it again
	// (RejectedError.Event, Compiled.Rejection). State is where the
	// machine stood, Cause the reason, Message the hint and Key the
	// requests allowed there, comma-separated.
	EventRejected EventType = "rejected_request"
)

// AlertKind names why an alert was raised.
type AlertKind string

// Alert kinds.
const (
	// AlertTransition is raised by an alert effect of a transition.
	AlertTransition AlertKind = "transition"
	// AlertStuckInError is raised by CheckAlerts when a machine has stayed in
	// an error state longer than Thresholds.Error.
	AlertStuckInError AlertKind = "stuck_in_error"
	// AlertSlowState is raised by CheckAlerts when a machine has stayed in a
	// state longer than its Thresholds.States limit.
	AlertSlowState AlertKind = "slow_state"
	// AlertThrashing is raised by CheckAlerts when a machine changed state
	// more than Thresholds.ThrashTransitions times within ThrashWindow.
	AlertThrashing AlertKind = "thrashing"
)

// Event is a record for the actor to append to the event log.
type Event struct {
	Type    EventType `json:"type"`
	Machine string    `json:"machine"`         // the machine kind, e.g. "host"
	State   string    `json:"state,omitempty"` // where the machine stood (ignored observations, alerts)
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Trigger string    `json:"trigger,omitempty"` // "timeout" for a timeout
	Input   InputKind `json:"input,omitempty"`
	Cause   string    `json:"cause,omitempty"`
	// Requester and Operation are copied from the input, so the log says who
	// asked for what and under which operation.
	Requester string `json:"requester,omitempty"`
	Operation string `json:"operation,omitempty"`
	// PerformedBy is copied from the input too: the log says who performs
	// the effects of the step (empty: the component's Effector).
	PerformedBy Performer `json:"performed_by,omitempty"`
	Time        time.Time `json:"time"`
	Alert       AlertKind `json:"alert,omitempty"`
	// Key identifies a standing alert condition found by CheckAlerts, so
	// the shell can report it once however often it is seen; alerts raised
	// by transitions have none, since each is reported as it happens.
	Key     string `json:"key,omitempty"`
	Message string `json:"message,omitempty"`
}
