// Package smbus is the raw SMBus back-end of adapters.PMBus: it opens
// /dev/i2c-N (the kernel's i2c-dev interface), binds one 7-bit address with
// the I2C_SLAVE ioctl and performs each transaction with the I2C_SMBUS ioctl
// (byte, word, send byte and block read), as u-bmc does.
//
// Use it for devices no kernel driver has bound. When the kernel pmbus
// driver owns the address, I2C_SLAVE fails with EBUSY, reported as
// adapters.ErrAddressBusy: use the hwmon back-end then (package hwmon).
//
// Contract: one Device per address; its methods are safe for concurrent use
// and serialised. Every error is an *adapters.DeviceError naming the device,
// the operation and the command, wrapping the sentinel for the kernel's
// errno (EREMOTEIO and ENXIO: ErrNAK; ETIMEDOUT: ErrBusTimeout; EBUSY:
// ErrAddressBusy). A transaction cannot be interrupted once issued: the
// context is checked before each one, and the adapter's own timeout (the
// kernel's I2C_TIMEOUT, typically one second) bounds it. Words are
// little-endian on the wire; the kernel hands them over in host order.
package smbus
