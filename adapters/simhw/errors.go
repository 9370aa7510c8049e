package simhw

import "errors"

// Errors of the simulated platform's own API (configuration, the test and
// simulation controls). Errors returned through the adapters interfaces are
// *adapters.DeviceError values wrapping the adapters sentinels
// (adapters.ErrNAK, adapters.ErrBusTimeout, adapters.ErrLineBusy, ...), the
// same as the hardware back-ends return.
var (
	// ErrInvalidConfig means New was given a configuration it cannot model.
	ErrInvalidConfig = errors.New("invalid simulated platform configuration")
	// ErrUnknownTarget means a host, PSU, line or thermal zone name is not
	// part of the simulated platform.
	ErrUnknownTarget = errors.New("no such host, psu, line or thermal zone in the simulated platform")
	// ErrInvalidArgument means a control call got a value it cannot use
	// (a non-positive press duration, an unknown fault kind, ...).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrButtonPressed means PressPowerButton was called while the
	// person's previous press of that button has not been released yet.
	ErrButtonPressed = errors.New("front-panel power button is already pressed")
	// ErrInvalidData means a PMBus write carried a value the device does
	// not accept; the device sets STATUS_CML INVALID_DATA.
	ErrInvalidData = errors.New("device rejected the data (STATUS_CML invalid data set)")
)
