package adapters

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. Back-ends wrap them in a *DeviceError naming the device
// and the operation; test with errors.Is.
var (
	// ErrNAK: the device did not acknowledge its address or a byte.
	ErrNAK = errors.New("device did not acknowledge (NAK): it may be busy or absent; retry, then check its address and presence")
	// ErrBusTimeout: the transaction did not complete in the adapter's time.
	ErrBusTimeout = errors.New("bus transaction timed out: the bus may be stuck or the device clock-stretching; retry, then check the bus")
	// ErrAddressBusy: a kernel driver has bound the I2C address, so raw
	// SMBus access is refused.
	ErrAddressBusy = errors.New("address is owned by a kernel driver: use the hwmon back-end or unbind the driver")
	// ErrLineBusy: another consumer holds the GPIO line.
	ErrLineBusy = errors.New("line is held by another consumer: stop that process or release the line")
	// ErrNoDevice: the device, bus or chip does not exist.
	ErrNoDevice = errors.New("no such device: check the bus number, address or path and that the driver is loaded")
	// ErrLineRefused: the kernel refused to hand out the line (EINVAL on
	// the request); on a BMC SoC its pin is muxed to another function.
	ErrLineRefused = errors.New("the kernel refused the line: its pin is likely muxed to another function (dmesg shows pinctrl \"already requested by\"): pick a free line or change the device tree's pinctrl")
	// ErrNoLine: no GPIO chip has a line of that name.
	ErrNoLine = errors.New("no gpio line of that name: check the platform file against the device tree line names")
	// ErrUnsupported: the back-end or device cannot perform the operation.
	ErrUnsupported = errors.New("operation not supported by this back-end or device")
	// ErrProtocol: the device answered with malformed data.
	ErrProtocol = errors.New("malformed reply from device: check for bus noise or a wrong device at the address")
	// ErrPermission: the process may not open the device.
	ErrPermission = errors.New("permission denied: run as root or grant access to the device node")
	// ErrClosed: the handle was used after Close.
	ErrClosed = errors.New("handle is closed: open the device again")
)

// NoCmd is DeviceError.Cmd for operations that carry no command code
// (opening a bus, requesting a GPIO line).
const NoCmd = -1

// DeviceError is a failed operation on one named device.
type DeviceError struct {
	Device string // the device's name, e.g. "psu0" or a GPIO line name
	Op     string // what was attempted, e.g. "read word", "request line"
	Cmd    int    // the PMBus command code, or NoCmd
	Err    error  // the cause; wraps one of the sentinels above when known
}

func (e *DeviceError) Error() string {
	if e.Cmd < 0 || e.Cmd > 0xff {
		return fmt.Sprintf("%s: %s: %v", e.Device, e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %s %s: %v", e.Device, e.Op, CommandName(byte(e.Cmd)), e.Err)
}

// Unwrap returns the cause.
func (e *DeviceError) Unwrap() error { return e.Err }

// Transient reports whether retrying may succeed: a NAK or a bus timeout.
func (e *DeviceError) Transient() bool {
	return errors.Is(e.Err, ErrNAK) || errors.Is(e.Err, ErrBusTimeout)
}

// IsTransient reports whether err (anywhere in its chain) is a NAK or a bus
// timeout, so that a retry may succeed.
func IsTransient(err error) bool {
	return errors.Is(err, ErrNAK) || errors.Is(err, ErrBusTimeout)
}

// FromErrno returns err wrapped together with the sentinel its kernel errno
// stands for (on Linux: EREMOTEIO and ENXIO: ErrNAK; ETIMEDOUT:
// ErrBusTimeout; EBUSY: ifBusy; ENODEV and ENOENT: ErrNoDevice; EACCES and
// EPERM: ErrPermission; EOPNOTSUPP: ErrUnsupported; EPROTO and EBADMSG:
// ErrProtocol). Errors with no such errno are returned as they are. ifBusy
// is ErrAddressBusy for I2C and ErrLineBusy for GPIO.
func FromErrno(err error, ifBusy error) error {
	var errno syscall.Errno
	if err == nil || !errors.As(err, &errno) {
		return err
	}
	sentinel := errnoSentinel(errno, ifBusy)
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", sentinel, err)
}

// CommandName returns a PMBus command's name and code, e.g.
// "STATUS_WORD (0x79)", or just the code for commands statemgr does not
// name.
func CommandName(cmd byte) string {
	if n, ok := commandNames[cmd]; ok {
		return fmt.Sprintf("%s (0x%02X)", n, cmd)
	}
	return fmt.Sprintf("command 0x%02X", cmd)
}

var commandNames = map[byte]string{
	CmdPage:              "PAGE",
	CmdOperation:         "OPERATION",
	CmdOnOffConfig:       "ON_OFF_CONFIG",
	CmdClearFaults:       "CLEAR_FAULTS",
	CmdVoutMode:          "VOUT_MODE",
	CmdStatusByte:        "STATUS_BYTE",
	CmdStatusWord:        "STATUS_WORD",
	CmdStatusVout:        "STATUS_VOUT",
	CmdStatusIout:        "STATUS_IOUT",
	CmdStatusInput:       "STATUS_INPUT",
	CmdStatusTemperature: "STATUS_TEMPERATURE",
	CmdStatusCML:         "STATUS_CML",
	CmdReadVin:           "READ_VIN",
	CmdReadIin:           "READ_IIN",
	CmdReadVout:          "READ_VOUT",
	CmdReadIout:          "READ_IOUT",
	CmdReadTemperature1:  "READ_TEMPERATURE_1",
	CmdReadPout:          "READ_POUT",
	CmdReadPin:           "READ_PIN",
	CmdMfrID:             "MFR_ID",
	CmdMfrModel:          "MFR_MODEL",
	CmdMfrSerial:         "MFR_SERIAL",
}
