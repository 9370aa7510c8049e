package machine

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Machine errors.
var (
	// ErrInvalidMachine is wrapped by *InvalidMachineError when a machine or
	// an extension fails validation.
	ErrInvalidMachine = errors.New("invalid machine")
	// ErrRejected is wrapped by *RejectedError when a known request is not
	// allowed where the machine stands.
	ErrRejected = errors.New("request rejected")
	// ErrUnknownRequest is wrapped by *RejectedError when the machine has no
	// transition for the request in any state.
	ErrUnknownRequest = errors.New("unknown request")
	// ErrInvalidInput reports an input Step cannot interpret: a malformed
	// trigger, a request spelled like an observation (clients cannot report
	// hardware facts), or an observed value outside its enumeration.
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnknownState reports a Status whose state the machine does not
	// declare, e.g. a snapshot taken before a platform file changed.
	ErrUnknownState = errors.New("unknown state")
)

// RejectedError is returned by Step for a request not allowed from the
// current state. It carries what a client needs to try again sensibly.
type RejectedError struct {
	Machine string   // machine kind
	State   string   // where the machine stands
	Request string   // the rejected trigger
	Allowed []string // the requests allowed from State, as Allowed reports them
	// Reason says why, e.g. "no On transition leaves Running" or a failed
	// guard's explanation.
	Reason string
	Hint   string // what to do instead
	// Capability names the platform capability the request needs and the
	// platform lacks (a capability guard such as bmc_reset_available
	// blocked it): retrying cannot help. Empty for other rejections.
	Capability string
	// unknown is set when no state accepts Request at all.
	unknown bool
}

// Error renders the rejection on one line.
func (e *RejectedError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	return fmt.Sprintf("%s: request %s rejected in state %s: %s (allowed: %s; hint: %s)",
		e.Machine, e.Request, e.State, e.Reason, allowed, e.Hint)
}

// Event returns the record of the rejection of in, at now.
func (e *RejectedError) Event(in Input, now time.Time) Event {
	return Event{Type: EventRejected, Machine: e.Machine, State: e.State, Trigger: e.Request, Input: in.Kind,
		Cause: e.Reason, Requester: in.Requester, Operation: in.Operation, Time: now, Key: strings.Join(e.Allowed, ","), Message: e.Hint}
}

// Rejection rebuilds the rejection an EventRejected event of this machine
// records, exactly as it was first returned.
func (c *Compiled) Rejection(ev Event) *RejectedError {
	e := &RejectedError{Machine: ev.Machine, State: ev.State, Request: ev.Trigger, Reason: ev.Cause, Hint: ev.Message,
		unknown: len(c.acceptedIn[ev.Trigger]) == 0}
	if ev.Key != "" {
		e.Allowed = strings.Split(ev.Key, ",")
	}
	return e
}

// Unwrap returns ErrUnknownRequest or ErrRejected, for errors.Is.
func (e *RejectedError) Unwrap() error {
	if e.unknown {
		return ErrUnknownRequest
	}
	return ErrRejected
}

// Problem is one finding of Validate or Extend.
type Problem struct {
	Source  string `json:"source,omitempty"` // "file.hcl:12,3"; empty for built-in definitions
	Machine string `json:"machine"`          // machine kind
	Message string `json:"message"`
}

// String renders the problem as "source: machine: message".
func (p Problem) String() string {
	src := p.Source
	if src == "" {
		src = "built-in"
	}
	return fmt.Sprintf("%s: %s: %s", src, p.Machine, p.Message)
}

// InvalidMachineError lists the problems that make a machine unusable.
type InvalidMachineError struct {
	Machine  string
	Problems []Problem
}

// Error renders every problem, one per line after the first.
func (e *InvalidMachineError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid %s machine: %d problem(s):\n%s", e.Machine, len(e.Problems), strings.Join(lines, "\n"))
}

// Unwrap returns ErrInvalidMachine, for errors.Is.
func (e *InvalidMachineError) Unwrap() error { return ErrInvalidMachine }
