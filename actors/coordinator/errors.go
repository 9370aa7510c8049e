package coordinator

import (
	"errors"
	"fmt"
	"strings"

	"github.com/statemgr/statemgr/actors"
)

// Errors of the coordinator; the typed errors below wrap them, so test with
// errors.Is for the class and errors.As for the details.
var (
	// ErrInvalidRequest means a request names no known target, or an
	// operation its target's kind does not have.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrInterlock is wrapped by *InterlockError: an interlock refuses the
	// operation.
	ErrInterlock = errors.New("refused by interlock")
	// ErrOverrideDenied is wrapped by *OverrideError: an override was asked
	// without the operator role, or for an interlock that cannot be
	// overridden.
	ErrOverrideDenied = errors.New("override denied")
	// ErrBusy is wrapped by *BusyError: another operation holds a component
	// the request needs.
	ErrBusy = errors.New("component busy")
	// ErrHostsNotOff is wrapped by *HostsNotOffError: chassis power off was
	// refused while hosts are not Off.
	ErrHostsNotOff = errors.New("hosts are not off")
	// ErrUnknownOperation means no operation has that id.
	ErrUnknownOperation = errors.New("unknown operation")
	// ErrStopped means the coordinator was stopped.
	ErrStopped = errors.New("coordinator stopped")
	// ErrNotStarted means Start has not run (or failed).
	ErrNotStarted = errors.New("coordinator not started")
	// ErrRecovery means the coordinator's own log cannot be read; it
	// actuates nothing until an operator looks at it.
	ErrRecovery = errors.New("coordinator cannot recover its log")
)

// Interlock names a condition that refuses power operations.
type Interlock string

// Interlocks.
const (
	InterlockThermal         Interlock = "thermal"
	InterlockHealth          Interlock = "health"
	InterlockPowerDependency Interlock = "power_dependency"
	InterlockBMCNotReady     Interlock = "bmc_not_ready"
	InterlockFirmwareUpdate  Interlock = "firmware_update"
	InterlockMaintenance     Interlock = "maintenance"
	InterlockBlockingError   Interlock = "blocking_error"
	// InterlockPSUUnreachable: a PSU of the chassis to be powered does
	// not answer on its bus, so neither its input nor its faults can be
	// checked. Never overridable: powering through PSUs nobody can read
	// is what the health interlock exists to prevent.
	InterlockPSUUnreachable Interlock = "psu_unreachable"
)

// Interlocks lists every interlock.
var Interlocks = []Interlock{InterlockThermal, InterlockHealth, InterlockPowerDependency, InterlockBMCNotReady,
	InterlockFirmwareUpdate, InterlockMaintenance, InterlockBlockingError, InterlockPSUUnreachable}

// overridable lists the interlocks an operator may override. A power
// dependency is never overridable (a host cannot run without chassis
// power), nor is a firmware update (the update owns the BMC).
var overridable = map[Interlock]bool{
	InterlockThermal: true, InterlockHealth: true, InterlockBMCNotReady: true,
	InterlockMaintenance: true, InterlockBlockingError: true,
}

// Overridable reports whether an operator may override il.
func Overridable(il Interlock) bool { return overridable[il] }

// InterlockError is a refusal by one interlock.
type InterlockError struct {
	Op        string    // the refused operation's id
	Interlock Interlock // which interlock
	Target    actors.ID
	Reason    string // what holds it, e.g. "zone0 at 80.0 °C, warning limit 75.0 °C"
	Clears    string // what clears it
}

func (e *InterlockError) Error() string {
	s := fmt.Sprintf("operation %s on %s refused by interlock %s: %s; clears when %s", e.Op, e.Target, e.Interlock, e.Reason, e.Clears)
	if overridable[e.Interlock] {
		s += fmt.Sprintf(" (an operator may override %s)", e.Interlock)
	}
	return s
}

// Unwrap returns ErrInterlock.
func (e *InterlockError) Unwrap() error { return ErrInterlock }

// OverrideError refuses an override.
type OverrideError struct {
	Op        string
	Interlock Interlock
	Requester string
	Reason    string
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("operation %s: override of %s by %q denied: %s", e.Op, e.Interlock, e.Requester, e.Reason)
}

// Unwrap returns ErrOverrideDenied.
func (e *OverrideError) Unwrap() error { return ErrOverrideDenied }

// BusyError refuses a request that conflicts with an operation in flight.
type BusyError struct {
	Op        string    // the refused operation's id
	Component actors.ID // the component in contention
	InFlight  string    // the operation holding it
	Kind      Kind      // what the operation in flight does
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("operation %s: %s is busy with operation %s (%s); wait for it, or ask to be queued", e.Op, e.Component, e.InFlight, e.Kind)
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// PoweredHostError refuses a power on of a host that is powered but not
// Running (DiagnosticMode, Quiesced): no power on brings it to Running,
// and answering "succeeded" would say it did.
type PoweredHostError struct {
	Op    string
	Host  actors.ID
	State string
}

func (e *PoweredHostError) Error() string {
	return fmt.Sprintf("operation %s: %s is %s: powered, but not Running, and a power on does not change that; reset it (ForceRestart or PowerCycle) instead",
		e.Op, e.Host, e.State)
}

// HostsNotOffError refuses a chassis power off while hosts are not Off.
type HostsNotOffError struct {
	Op      string
	Chassis actors.ID
	Hosts   []actors.ID
	States  []string
}

func (e *HostsNotOffError) Error() string {
	parts := make([]string, len(e.Hosts))
	for i, h := range e.Hosts {
		parts[i] = fmt.Sprintf("%s (%s)", h, e.States[i])
	}
	return fmt.Sprintf("operation %s: %s cannot power off while hosts are not Off: %s; shut them down first or set the chassis off policy to shutdown_hosts", e.Op, e.Chassis, strings.Join(parts, ", "))
}

// Unwrap returns ErrHostsNotOff.
func (e *HostsNotOffError) Unwrap() error { return ErrHostsNotOff }
