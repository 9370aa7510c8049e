package adapters

import "syscall"

// errnoSentinel classifies a Linux errno; see FromErrno.
func errnoSentinel(errno syscall.Errno, ifBusy error) error {
	switch errno {
	case syscall.EREMOTEIO, syscall.ENXIO:
		// Documentation/i2c/fault-codes.rst: both mean that the address or
		// a data byte was not acknowledged.
		return ErrNAK
	case syscall.ETIMEDOUT:
		return ErrBusTimeout
	case syscall.EBUSY:
		return ifBusy
	case syscall.ENODEV, syscall.ENOENT:
		return ErrNoDevice
	case syscall.EACCES, syscall.EPERM:
		return ErrPermission
	case syscall.EOPNOTSUPP:
		return ErrUnsupported
	case syscall.EPROTO, syscall.EBADMSG:
		return ErrProtocol
	}
	return nil
}
