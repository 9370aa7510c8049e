// Package pmbus speaks PMBus 1.3 over any adapters.PMBus back-end: the
// numeric formats (LINEAR11 for currents, input voltage, power and
// temperature; LINEAR16 for output voltage, whose exponent comes from
// VOUT_MODE and whose mantissa is unsigned; DIRECT, X = (Y·10^-R − b)/m
// with per-device, per-reading Coefficients, for the readings WithDirect
// names and for READ_VOUT when VOUT_MODE says DIRECT), the decoding of
// STATUS_WORD and
// the STATUS_* detail registers into named flags, and Device, a typed helper
// for one PSU or regulator rail (OPERATION on/off, CLEAR_FAULTS, status,
// telemetry in volts, amperes, watts and degrees Celsius, Readings (VIN,
// VOUT, IOUT, temperature and status in one call), inventory strings).
// The coefficients come from the caller (the platform file), not from the
// device's COEFFICIENTS command: it is a block write-block read process
// call that adapters.PMBus does not offer and few PSUs implement.
//
// Contract: Device never retries; every failure comes back wrapped with the
// command and device name ("cannot read STATUS_WORD (0x79) from psu0: ..."),
// keeping the back-end's typed error (adapters.ErrNAK, ...) reachable with
// errors.Is, so the caller decides whether a transient fault is worth
// another try. Encoders return an error instead of clamping a value that
// does not fit the format.
package pmbus
