package devices

import (
	"errors"
	"fmt"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/smbus"
)

// Errors of the devices package. Failures of one device are *Error values
// wrapping one of these or the adapters sentinels (adapters.ErrLineBusy,
// adapters.ErrNAK, ...); test with errors.Is.
var (
	// ErrInvalidConfig means New was given a configuration it cannot use.
	ErrInvalidConfig = errors.New("invalid device configuration")
	// ErrRetriesExhausted means a transient fault (NAK, bus timeout) outlasted
	// every retry of an operation.
	ErrRetriesExhausted = errors.New("transient fault persisted through every retry: check the bus and the device's presence")
	// ErrNoPowerGood means a PSU did not reach power good (or did not drop
	// it) within its timeout after OPERATION was written.
	ErrNoPowerGood = errors.New("power supply did not reach the commanded state in time: read its STATUS_* registers")
	// ErrUnsupportedEffect means an effect has no device operation here.
	ErrUnsupportedEffect = errors.New("effect cannot be performed by the device layer")
	// ErrNotWired means the platform file does not wire the line an effect
	// needs (e.g. nmi_out).
	ErrNotWired = errors.New("line not wired in the platform file: add it to the host's gpio blocks")
	// ErrUnknownDevice means a device was asked for by a name the platform
	// file does not give one.
	ErrUnknownDevice = errors.New("no device of that name in the platform file")
	// ErrClosed means the Hardware was closed.
	ErrClosed = errors.New("hardware is closed")
	// ErrRunning means Run was called twice.
	ErrRunning = errors.New("hardware is already running")
)

// Error is a failed operation on one device.
type Error struct {
	Device   string // e.g. "psu0", "host 0 power_out (POWER_OUT)", "zone0"
	Op       string // what was attempted, e.g. "power on", "request input line"
	Attempts int    // attempts made; 0 or 1 when the failure was not retried
	Err      error
}

func (e *Error) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("%s: %s: gave up after %d attempts: %v", e.Device, e.Op, e.Attempts, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Device, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// UnreachablePSU is a PSU that did not answer when it was read, retries
// included: absent, unpowered, or not at the bus and address the platform
// file gives. Reconcile reports it in its Drift (Drift.Err), so that the
// startup report names the device and where it was looked for; Err is the
// read's *Error (adapters.ErrNAK, adapters.ErrBusTimeout,
// ErrRetriesExhausted, ...).
type UnreachablePSU struct {
	PSU     string
	Chassis string
	Backend platform.Backend
	Bus     int    // I2C bus of the platform file (smbus: /dev/i2c-<Bus>)
	Address uint16 // 7-bit address of the platform file
	Err     error
}

func (u *UnreachablePSU) Error() string {
	where := fmt.Sprintf("bus %d address 0x%02X", u.Bus, u.Address)
	switch u.Backend {
	case platform.BackendSMBus:
		where = fmt.Sprintf("%s address 0x%02X", smbus.BusPath(u.Bus), u.Address)
	case platform.BackendSim:
		where = "simulated " + where
	}
	return fmt.Sprintf("psu %s of chassis %s (backend %s, %s) does not answer: %v; check that it is seated and powered and that the platform file's bus and address are the board's",
		u.PSU, u.Chassis, u.Backend, where, u.Err)
}

// Unwrap returns the read's error.
func (u *UnreachablePSU) Unwrap() error { return u.Err }
