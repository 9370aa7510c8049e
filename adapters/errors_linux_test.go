package adapters

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestDeviceErrorMessageAndUnwrap(t *testing.T) {
	err := &DeviceError{Device: "psu0", Op: "read word", Cmd: int(CmdStatusWord), Err: ErrNAK}
	want := "psu0: read word STATUS_WORD (0x79): " + ErrNAK.Error()
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	wrapped := fmt.Errorf("cannot read STATUS_WORD from psu0: %w", err)
	if !errors.Is(wrapped, ErrNAK) {
		t.Error("errors.Is(wrapped, ErrNAK) = false")
	}
	var de *DeviceError
	if !errors.As(wrapped, &de) || de.Device != "psu0" {
		t.Errorf("errors.As: %v", de)
	}
	noCmd := &DeviceError{Device: "POWER_OUT", Op: "request line", Cmd: NoCmd, Err: ErrLineBusy}
	if got := noCmd.Error(); got != "POWER_OUT: request line: "+ErrLineBusy.Error() {
		t.Errorf("Error() = %q", got)
	}
	unknown := &DeviceError{Device: "x", Op: "read byte", Cmd: 0xD0, Err: ErrNAK}
	if got := unknown.Error(); got != "x: read byte command 0xD0: "+ErrNAK.Error() {
		t.Errorf("Error() = %q", got)
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{ErrNAK, true},
		{ErrBusTimeout, true},
		{ErrAddressBusy, false},
		{ErrLineBusy, false},
		{ErrNoDevice, false},
		{ErrUnsupported, false},
		{ErrClosed, false},
		{ErrProtocol, false},
	}
	for _, tt := range tests {
		de := &DeviceError{Device: "d", Op: "op", Cmd: NoCmd, Err: tt.err}
		if de.Transient() != tt.want || IsTransient(fmt.Errorf("ctx: %w", de)) != tt.want {
			t.Errorf("%v: Transient() = %v, want %v", tt.err, de.Transient(), tt.want)
		}
	}
}

func TestFromErrno(t *testing.T) {
	tests := []struct {
		errno  syscall.Errno
		ifBusy error
		want   error
	}{
		{syscall.EREMOTEIO, ErrAddressBusy, ErrNAK},
		{syscall.ENXIO, ErrAddressBusy, ErrNAK},
		{syscall.ETIMEDOUT, ErrAddressBusy, ErrBusTimeout},
		{syscall.EBUSY, ErrAddressBusy, ErrAddressBusy},
		{syscall.EBUSY, ErrLineBusy, ErrLineBusy},
		{syscall.ENODEV, ErrLineBusy, ErrNoDevice},
		{syscall.ENOENT, ErrLineBusy, ErrNoDevice},
		{syscall.EACCES, ErrLineBusy, ErrPermission},
		{syscall.EOPNOTSUPP, ErrLineBusy, ErrUnsupported},
		{syscall.EPROTO, ErrLineBusy, ErrProtocol},
	}
	for _, tt := range tests {
		got := FromErrno(fmt.Errorf("ioctl: %w", tt.errno), tt.ifBusy)
		if !errors.Is(got, tt.want) || !errors.Is(got, tt.errno) {
			t.Errorf("FromErrno(%v) = %v, want %v wrapping the errno", tt.errno, got, tt.want)
		}
	}
	other := fmt.Errorf("ioctl: %w", syscall.EINVAL)
	if got := FromErrno(other, ErrAddressBusy); got != other {
		t.Errorf("FromErrno(EINVAL) = %v, want it unchanged", got)
	}
	if FromErrno(nil, ErrAddressBusy) != nil {
		t.Error("FromErrno(nil) != nil")
	}
}
