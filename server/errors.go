package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server/inputs"
)

// ErrorKind is one entry of the API error catalogue, server/errors.json:
// a stable numeric code, an HTTP-like class, what it means and what to do.
// This file is the Go side of the catalogue; TestCatalogueMatchesJSON keeps
// the two equal.
type ErrorKind struct {
	Constant    string // the Go name, e.g. "ErrRejected"
	Status      int    // HTTP-like class, e.g. 409
	Code        int    // stable numeric code, sent in Statemgr-Error-Code and the body
	Description string
	Hint        string
}

// Error returns the kind's description, so a kind is itself an error that
// errors.Is can match.
func (k *ErrorKind) Error() string { return k.Description }

// Name returns the kind's wire name: the constant without "Err", in
// snake_case ("ErrUnknownComponent" → "unknown_component", "ErrBadID" →
// "bad_id").
func (k *ErrorKind) Name() string {
	var b strings.Builder
	prevLower := false
	for _, r := range strings.TrimPrefix(k.Constant, "Err") {
		if unicode.IsUpper(r) && prevLower {
			b.WriteByte('_')
		}
		prevLower = unicode.IsLower(r)
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// The catalogue. Codes are stable: never renumber or reuse one.
var (
	ErrBadRequest = &ErrorKind{"ErrBadRequest", 400, 10001,
		"the request body is not a JSON object of the subject's request type",
		`send a JSON object such as {"id":"host.0"}; see docs/API.md for the subject's request`}
	ErrUnknownField = &ErrorKind{"ErrUnknownField", 400, 10002,
		"the request body has a field the subject does not take",
		"remove the field or check its spelling against docs/API.md"}
	ErrPayloadTooLarge = &ErrorKind{"ErrPayloadTooLarge", 413, 10003,
		"the request body exceeds the subject's size limit",
		"send a smaller request; request bodies are small JSON objects"}
	ErrBadID = &ErrorKind{"ErrBadID", 400, 10004,
		"the component id is not <kind>.<name> with kind host, chassis, bmc or service",
		"name a component as host.0, chassis.0, bmc.0 or service.<name>; statemgr list shows them"}
	ErrWrongKind = &ErrorKind{"ErrWrongKind", 400, 10005,
		"the component id names a different kind of component than the subject serves",
		"use the subject of the component's kind, e.g. statemgr.chassis.get for chassis.0"}
	ErrUnknownComponent = &ErrorKind{"ErrUnknownComponent", 404, 10006,
		"no component has that id",
		"statemgr list shows the components of this platform"}
	ErrRejected = &ErrorKind{"ErrRejected", 409, 10007,
		"the request is not allowed in the component's current state",
		"send one of the allowed requests, or wait for the component to reach a state that allows it"}
	ErrUnknownRequest = &ErrorKind{"ErrUnknownRequest", 400, 10008,
		"the component's machine has no such request in any state",
		"use one of the request names in docs/API.md (Redfish ResetType values for hosts)"}
	ErrInvalidInput = &ErrorKind{"ErrInvalidInput", 400, 10009,
		"the input cannot be interpreted by the component's machine",
		"check the request type's spelling; observations can only be reported by their owners"}
	ErrUnavailable = &ErrorKind{"ErrUnavailable", 503, 10010,
		"the component did not answer in time; the outcome of the request is unknown",
		"retry with the same operation id: a retried operation returns its first outcome and is never applied twice"}
	ErrLogFailed = &ErrorKind{"ErrLogFailed", 500, 10011,
		"the event log could not be read or written",
		"the message says why: after a failed write or sync the log refuses appends until statemgrd restarts (under systemd /healthz fails and the watchdog restarts it; the restart recovers every acknowledged record); a damaged record needs the data directory restored or statemgrd --salvage"}
	ErrUnknownOperation = &ErrorKind{"ErrUnknownOperation", 404, 10012,
		"no operation with that id is in the operation index",
		"the index holds the most recent operations; look older ones up with statemgr history <id>"}
	ErrUnsupported = &ErrorKind{"ErrUnsupported", 501, 10013,
		"the request is not supported by its target",
		"the service did not answer on statemgr.service.<name>.control: it does not support enable or disable"}
	ErrBusy = &ErrorKind{"ErrBusy", 503, 10014,
		"the server has too many requests in flight",
		"retry after a short pause, with the same operation id for control requests"}
	ErrStopping = &ErrorKind{"ErrStopping", 503, 10015,
		"the server is shutting down and takes no new requests",
		"retry when statemgrd is back, with the same operation id for control requests"}
	ErrInternal = &ErrorKind{"ErrInternal", 500, 10016,
		"the server failed in a way it did not expect",
		"report the message and the daemon's log to the statemgr maintainers"}
	ErrComponentBusy = &ErrorKind{"ErrComponentBusy", 409, 10017,
		"another operation holds a component the request needs",
		"wait for the operation named in the error (statemgr operation <id>), or send the request with \"queue\": true"}
	ErrInterlock = &ErrorKind{"ErrInterlock", 409, 10018,
		"an interlock refuses the operation",
		"clear the condition the error names; an operator may override an overridable interlock with \"override\": [\"<interlock>\"]"}
	ErrHostsNotOff = &ErrorKind{"ErrHostsNotOff", 409, 10019,
		"the chassis cannot power off while hosts are not Off",
		"power the hosts the error lists off first, or set the daemon's chassis off policy to shutdown_hosts"}
	ErrOverrideDenied = &ErrorKind{"ErrOverrideDenied", 403, 10020,
		"the override was refused",
		"only the operator role may override, and only the overridable interlocks (thermal, health, bmc_not_ready, maintenance, blocking_error)"}
	ErrIdempotencyConflict = &ErrorKind{"ErrIdempotencyConflict", 409, 10021,
		"the operation id is already bound to a different request",
		"a retry must repeat the first request exactly (statemgr operation <id> shows it); send a different request with a new operation id"}
	ErrNoSpace = &ErrorKind{"ErrNoSpace", 507, 10030,
		"the event log's filesystem has less free space than the log keeps in reserve; nothing was written",
		"free space on the data directory's filesystem: appends resume by themselves once the reserve is free, no restart needed; retry with the same operation id"}
	ErrTooComplex = &ErrorKind{"ErrTooComplex", 400, 10050,
		"the request nests deeper, or holds more values, blocks or attributes, than the server takes",
		"simplify the request: docs/API.md (Limits) states every limit on nesting and counts"}
	ErrDuplicateField = &ErrorKind{"ErrDuplicateField", 400, 10051,
		"the request body has a field more than once",
		"send each field once; a repeated field is ambiguous, so it is refused, not resolved"}
	ErrBadSchedule = &ErrorKind{"ErrBadSchedule", 400, 10052,
		`the "at" time is in the past or further ahead than the scheduling horizon`,
		`give an RFC 3339 time after the server's now and at most the horizon ahead (docs/API.md, Limits); omit "at" to act now`}
	ErrFieldTooLong = &ErrorKind{"ErrFieldTooLong", 400, 10053,
		"a field of the request is longer than its limit",
		"shorten the field to the limit the message names; docs/API.md (Limits) lists them"}
	ErrRateLimited = &ErrorKind{"ErrRateLimited", 429, 10054,
		"the service reports its self-state faster than the server records reports",
		"report changes rather than the same state in a loop; retry after the pause the message names"}
	ErrNotSupportedByPlatform = &ErrorKind{"ErrNotSupportedByPlatform", 501, 10070,
		"the platform gives statemgrd no way to carry the request out",
		"do it out of band, or describe how in the platform file (for a BMC reset: the bmc block's reset); retrying cannot help"}
	ErrUnknownPSU = &ErrorKind{"ErrUnknownPSU", 404, 10080,
		"the platform file has no psu of that name",
		"name a psu of the platform file (its psu block's label, e.g. psu0); statemgr psu lists them all"}
	// Configuration through the API (statemgr.config.*).
	ErrNotConfigured = &ErrorKind{"ErrNotConfigured", 409, 10081,
		"statemgrd runs unconfigured: it has no platform yet, so no components to read or act on",
		"an operator gives it its first platform: statemgr config set FILE (check the file first with statemgr validate FILE); docs/BACKUP.md, First configuration"}
	ErrAlreadyConfigured = &ErrorKind{"ErrAlreadyConfigured", 409, 10082,
		"statemgrd already runs a platform; nothing was changed",
		"statemgr config get shows the platform in force; to replace it, power every host off and run statemgr config set --replace FILE"}
	ErrHostsRunning = &ErrorKind{"ErrHostsRunning", 409, 10083,
		"a platform replacement restarts every component, so it needs every host Off; nothing was changed",
		"power off the hosts the message names (statemgr power off HOST), then run statemgr config set --replace FILE again"}
	ErrBadPlatform = &ErrorKind{"ErrBadPlatform", 422, 10084,
		"the platform file does not validate; nothing was changed",
		"fix the problems the message lists (file:line:col: what is wrong), check the file with statemgr validate FILE, then set it again"}
	ErrReplyTooLarge = &ErrorKind{"ErrReplyTooLarge", 413, 10085,
		"one item of the reply is larger than a reply can carry under the NATS server's max payload, so it cannot be sent even alone on a page",
		`raise the NATS server's max_payload above the size the message names (the embedded server: statemgrd's nats { max_payload = BYTES }); the items around it can still be read with a narrower request (a filter, or "from" past the item)`}
	// Checkpoints (snapshots/checkpoint).
	ErrCheckpointsNotConfigured = &ErrorKind{"ErrCheckpointsNotConfigured", 501, 10090,
		"statemgrd keeps no checkpoints: its configuration has no checkpoints block",
		"add a checkpoints { dir = \"/path\" } (a local directory: a USB key or an NFS mount) or checkpoints { bucket = \"name\" } (a JetStream object store) block to statemgrd's configuration and restart it; docs/BACKUP.md"}
	ErrUnknownCheckpoint = &ErrorKind{"ErrUnknownCheckpoint", 404, 10091,
		"no checkpoint has that id in the daemon's checkpoint store",
		"statemgr checkpoint list shows the stored checkpoints; retention (checkpoints { keep = N }) deletes the oldest"}
	ErrBadCheckpointID = &ErrorKind{"ErrBadCheckpointID", 400, 10092,
		"the checkpoint id is not one statemgr makes",
		"pass an id as statemgr checkpoint list shows it, such as 20261207T132200.000Z-1234 (the time taken, then the global sequence)"}
	ErrCheckpointInProgress = &ErrorKind{"ErrCheckpointInProgress", 409, 10093,
		"another checkpoint is being created",
		"wait for it to finish (statemgr checkpoint list shows it once stored), then create another if you still need one"}
	ErrCheckpointCorrupt = &ErrorKind{"ErrCheckpointCorrupt", 422, 10094,
		"the checkpoint does not match its manifest (size, SHA-256, sequence or records), or is of a format this statemgr does not read",
		"do not restore it: delete it (statemgr checkpoint delete ID) and use another checkpoint, or the statemgr version that wrote it"}
	ErrCheckpointStoreUnavailable = &ErrorKind{"ErrCheckpointStoreUnavailable", 503, 10095,
		"the checkpoint store could not be reached or did not answer in time; nothing was stored",
		"check the store the message names (the directory is mounted and writable; the NATS server is up with JetStream enabled), then retry"}
	// Restore (statemgr.checkpoint.restore).
	ErrCheckpointPlatformMismatch = &ErrorKind{"ErrCheckpointPlatformMismatch", 409, 10096,
		"the checkpoint was taken under another platform file than the one statemgrd runs; nothing was changed",
		"restore a checkpoint taken under this platform (statemgr checkpoint list shows each one's platform), or start statemgrd with the checkpoint's platform file"}
	ErrRestoreInProgress = &ErrorKind{"ErrRestoreInProgress", 503, 10097,
		"a checkpoint restore is in progress: statemgrd takes no control request until it ends",
		"wait for the restore's reply (statemgr checkpoint restore prints it), then send the request again; reads are served until the components stop"}
	ErrOperationsInFlight = &ErrorKind{"ErrOperationsInFlight", 409, 10098,
		"operations are in flight or queued: a restore would cut them short, so nothing was changed",
		"wait for the operations the message names to finish (statemgr operation ID), then restore again"}
	ErrRestoreFailed = &ErrorKind{"ErrRestoreFailed", 500, 10099,
		"the restore stopped the components and could not complete; the message says which state statemgrd serves now",
		"read statemgrd's log for the cause; if statemgrd runs on its previous state, fix the cause (the store, the disk) and restore again, and if it exits, systemd starts it on whichever log the restore left in place"}
	// The web page's bridge (server/web).
	ErrUnknownInput = &ErrorKind{"ErrUnknownInput", 404, 10100,
		"the platform file declares no external input of that kind and name",
		"publish on statemgr.input.<kind>.<name> with an input the platform file declares (input \"thermal\" \"<name>\" or input \"health\" \"<name>\" blocks, docs/PORTING.md)"}
	ErrBadInputReport = &ErrorKind{"ErrBadInputReport", 400, 10101,
		"the input report's values are missing or out of range",
		`send {"celsius": 41.5} or {"level": "normal|warning|critical"} for a thermal input, {"level": "ok|warning|critical"} for a health input; docs/API.md (External inputs)`}
	ErrConfigInProgress = &ErrorKind{"ErrConfigInProgress", 503, 10107,
		"a platform change (statemgr config set) is in progress: statemgrd takes no control request until it ends",
		"wait for the config set's reply (statemgr config set prints it), then send the request again"}
	ErrConfigFailed = &ErrorKind{"ErrConfigFailed", 500, 10108,
		"the platform could not be stored, or its components could not start; the message says which platform statemgrd runs now",
		"read statemgrd's log for the cause (the data directory's disk, a device the platform names); statemgr config get shows the platform in force"}
	ErrWebLoginRequired = &ErrorKind{"ErrWebLoginRequired", 401, 10110,
		"the web page's request has no valid session, or statemgr has users and none was given",
		"log in on the page with a statemgr NATS user and password; sessions end on logout, after 30 minutes unused and when statemgrd restarts"}
	ErrWebBadCredentials = &ErrorKind{"ErrWebBadCredentials", 401, 10111,
		"the NATS server refused the user name and password the page sent",
		"check the user's name and password against statemgrd's nats users; nkey users cannot log in on the page"}
	ErrWebCrossOrigin = &ErrorKind{"ErrWebCrossOrigin", 403, 10112,
		"the request did not come from statemgrd's own page: its Origin is another host's, or it lacks the session's CSRF token",
		"use the page statemgrd serves; a script must send Origin matching the Host and the token from GET /api/session in X-Statemgr-CSRF"}
	ErrWebPermissionDenied = &ErrorKind{"ErrWebPermissionDenied", 403, 10113,
		"the user's NATS role does not allow the request",
		"log in as an operator to act; a viewer may only read"}
	ErrWebUnknownSubject = &ErrorKind{"ErrWebUnknownSubject", 404, 10114,
		"the page's bridge does not forward that subject",
		"send one of the request subjects of docs/API.md (not events, self-state or discovery)"}
	ErrWebTooManySessions = &ErrorKind{"ErrWebTooManySessions", 503, 10115,
		"the page has as many sessions open as it allows",
		"log out of a session you no longer use, or wait 30 minutes for an unused one to end"}
	ErrNoIdentifyLED = &ErrorKind{"ErrNoIdentifyLED", 404, 10120,
		"the location has no identify LED",
		`identify a host, chassis or BMC whose platform file block has led "identify" (statemgr.leds.list lists them); docs/PORTING.md (LEDs)`}
	ErrBadIndicatorDuration = &ErrorKind{"ErrBadIndicatorDuration", 400, 10121,
		`the identify's or lamp test's "for" is not a duration in range`,
		`send "for" as a duration such as "5m": identify up to 24h (none: until turned off, and none when turning it off), a lamp test up to 5m`}
	ErrNoLEDs = &ErrorKind{"ErrNoLEDs", 503, 10122,
		"this statemgr drives no LEDs",
		"run statemgrd with a platform file that has led blocks; the API serves LEDs only with its LED controller"}
	// Host health sources (statemgr.input.host.<host>).
	ErrHostEventNotAccepted = &ErrorKind{"ErrHostEventNotAccepted", 403, 10123,
		"the host's platform file block does not accept that event from outside statemgr",
		`add the event to the host's input block (host "<name>" { input { events = ["watchdog_expired", ...] } }, docs/PORTING.md), or report only the events it lists`}
	ErrUnknownHostInput = &ErrorKind{"ErrUnknownHostInput", 404, 10124,
		"the platform file has no host of that name",
		"publish on statemgr.input.host.<host> with a host name of the platform file (statemgr.hosts.list lists the hosts; host.0's name is 0)"}
	ErrBadHostEvent = &ErrorKind{"ErrBadHostEvent", 400, 10125,
		"the host event is missing, not a host event, or its progress or message is invalid",
		`send {"event": "watchdog_expired"}, "host_crash", "post_complete", or {"event": "boot_progress", "progress": "PCIInit"} (an OpenBMC stage or a Redfish BootProgress.LastState); docs/API.md (Host health sources)`}
)

// Catalogue lists every ErrorKind, in code order.
var Catalogue = []*ErrorKind{
	ErrBadRequest, ErrUnknownField, ErrPayloadTooLarge, ErrBadID, ErrWrongKind, ErrUnknownComponent,
	ErrRejected, ErrUnknownRequest, ErrInvalidInput, ErrUnavailable, ErrLogFailed, ErrUnknownOperation,
	ErrUnsupported, ErrBusy, ErrStopping, ErrInternal, ErrComponentBusy, ErrInterlock, ErrHostsNotOff,
	ErrOverrideDenied, ErrIdempotencyConflict, ErrNoSpace, ErrTooComplex, ErrDuplicateField, ErrBadSchedule,
	ErrFieldTooLong, ErrRateLimited, ErrNotSupportedByPlatform, ErrUnknownPSU,
	ErrNotConfigured, ErrAlreadyConfigured, ErrHostsRunning, ErrBadPlatform, ErrReplyTooLarge,
	ErrCheckpointsNotConfigured, ErrUnknownCheckpoint, ErrBadCheckpointID, ErrCheckpointInProgress, ErrCheckpointCorrupt,
	ErrCheckpointStoreUnavailable, ErrCheckpointPlatformMismatch, ErrRestoreInProgress, ErrOperationsInFlight, ErrRestoreFailed, ErrUnknownInput, ErrBadInputReport,
	ErrConfigInProgress, ErrConfigFailed,
	ErrWebLoginRequired, ErrWebBadCredentials, ErrWebCrossOrigin, ErrWebPermissionDenied, ErrWebUnknownSubject,
	ErrWebTooManySessions, ErrNoIdentifyLED, ErrBadIndicatorDuration, ErrNoLEDs,
	ErrHostEventNotAccepted, ErrUnknownHostInput, ErrBadHostEvent,
}

// LookupError returns the kind with the numeric code, if the catalogue has one.
func LookupError(code int) (*ErrorKind, bool) {
	for _, k := range Catalogue {
		if k.Code == code {
			return k, true
		}
	}
	return nil, false
}

// Error is an API error: a catalogue kind, a message about this request
// and, for rejections, where the component stands. Servers send it as
// micro error headers plus an ErrorReply body; clients get it back from
// DecodeError. errors.Is(err, ErrRejected) matches by kind.
type Error struct {
	Kind    *ErrorKind
	Message string
	Hint    string   // overrides Kind.Hint when the cause knows better
	State   string   // the component's state, for rejections
	Allowed []string // the requests allowed there, for rejections
	Refusal *Refusal // what refused a coordinated operation, and why
	Err     error    // the underlying error, on the server side
}

// Refusal details the coordinator's refusal of a power operation. A
// refused operation still has an id: its refusal is in the log.
type Refusal struct {
	Operation   string   `json:"operation,omitempty"`   // the refused operation
	Component   string   `json:"component,omitempty"`   // busy: the component in contention
	InFlight    string   `json:"in_flight,omitempty"`   // busy: the operation holding it
	Interlock   string   `json:"interlock,omitempty"`   // interlock, override_denied
	Clears      string   `json:"clears,omitempty"`      // interlock: what clears it
	Overridable bool     `json:"overridable,omitempty"` // interlock: an operator may override it
	Hosts       []string `json:"hosts,omitempty"`       // hosts_not_off: the hosts not Off
	// Duplicate marks the refusal of a retry: the first request's, again.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Error renders the message, falling back to the kind's description.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kind.Description
	}
	return e.Message
}

// Unwrap returns the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// EffectiveHint returns the hint to show: the error's own, else its kind's.
func (e *Error) EffectiveHint() string {
	if e.Hint != "" {
		return e.Hint
	}
	return e.Kind.Hint
}

// ErrorDetail is the "error" object of an error reply body.
type ErrorDetail struct {
	Code    int      `json:"code"`   // stable numeric code (errors.json error_code)
	Status  int      `json:"status"` // HTTP-like class
	Name    string   `json:"name"`
	Message string   `json:"message"`
	Hint    string   `json:"hint"`
	State   string   `json:"state,omitempty"`
	Allowed []string `json:"allowed,omitempty"`
	Refusal *Refusal `json:"refusal,omitempty"`
}

// ErrorReply is the body of every error reply.
type ErrorReply struct {
	Error ErrorDetail `json:"error"`
}

// Reply returns the error's reply body.
func (e *Error) Reply() ErrorReply {
	return ErrorReply{Error: ErrorDetail{Code: e.Kind.Code, Status: e.Kind.Status, Name: e.Kind.Name(),
		Message: e.Error(), Hint: e.EffectiveHint(), State: e.State, Allowed: e.Allowed, Refusal: e.Refusal}}
}

// newError builds an Error of kind k with a formatted message.
func newError(k *ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// classify maps an error from the core to its catalogue entry, keeping the
// original in the chain.
func classify(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var rejected *machine.RejectedError
	if errors.As(err, &rejected) {
		k := ErrRejected
		switch {
		case errors.Is(err, machine.ErrUnknownRequest):
			k = ErrUnknownRequest
		case rejected.Capability != "":
			k = ErrNotSupportedByPlatform
		}
		return &Error{Kind: k, Message: err.Error(), Hint: rejected.Hint, State: rejected.State,
			Allowed: append([]string{}, rejected.Allowed...), Err: err}
	}
	var conflict *protoactor.ConflictError
	if errors.As(err, &conflict) {
		return &Error{Kind: ErrIdempotencyConflict, Message: err.Error(), Err: err, Refusal: &Refusal{Operation: conflict.Operation}}
	}
	k := ErrInternal
	switch {
	case errors.Is(err, machine.ErrInvalidInput):
		k = ErrInvalidInput
	case errors.Is(err, inputs.ErrUnknownInput):
		k = ErrUnknownInput
	case errors.Is(err, inputs.ErrBadReport):
		k = ErrBadInputReport
	case errors.Is(err, leds.ErrNoIdentifyLED):
		k = ErrNoIdentifyLED
	case errors.Is(err, leds.ErrBadDuration):
		k = ErrBadIndicatorDuration
	case errors.Is(err, leds.ErrClosed):
		k = ErrNoLEDs
	case errors.Is(err, actors.ErrUnknownComponent):
		k = ErrUnknownComponent
	case errors.Is(err, actors.ErrBadID):
		k = ErrBadID
	case errors.Is(err, actors.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		k = ErrUnavailable
	case errors.Is(err, events.ErrNoSpace) && !errors.Is(err, events.ErrLogFailed):
		k = ErrNoSpace
	case errors.Is(err, actors.ErrInconsistentLog), errors.Is(err, events.ErrLogFailed), errors.Is(err, events.ErrClosed),
		errors.Is(err, events.ErrNoSpace), errors.Is(err, events.ErrSyncFailed), errors.Is(err, events.ErrCorrupt),
		errors.Is(err, events.ErrUnknownVersion):
		k = ErrLogFailed
	}
	return &Error{Kind: k, Message: err.Error(), Err: err}
}
