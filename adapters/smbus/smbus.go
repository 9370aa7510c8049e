package smbus

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/statemgr/statemgr/adapters"
)

// Device is one SMBus device at one address on one /dev/i2c-N bus. It
// implements adapters.PMBus.
type Device struct {
	name  string
	k     kernel
	funcs uint64

	mu     sync.Mutex
	fd     int
	closed bool
}

var _ adapters.PMBus = (*Device)(nil)

// BusPath returns the i2c-dev node of bus n, "/dev/i2c-n".
func BusPath(n int) string { return fmt.Sprintf("/dev/i2c-%d", n) }

// Open opens the i2c-dev node at path (see BusPath) and binds addr, a 7-bit
// address in 0x03..0x77. name names the device in errors ("psu0").
func Open(path string, addr uint16, name string) (*Device, error) {
	return open(linux{}, path, addr, name)
}

func open(k kernel, path string, addr uint16, name string) (*Device, error) {
	fail := func(op string, err error) error {
		return &adapters.DeviceError{Device: name, Op: op, Cmd: adapters.NoCmd, Err: err}
	}
	if addr < 0x03 || addr > 0x77 {
		return nil, fail("open", fmt.Errorf("address 0x%02X is outside the 7-bit device range 0x03..0x77: %w", addr, adapters.ErrNoDevice))
	}
	fd, err := k.open(path)
	if err != nil {
		return nil, fail("open "+path, adapters.FromErrno(err, adapters.ErrAddressBusy))
	}
	var funcs uintptr // unsigned long
	if err := k.ioctlPtr(fd, ioctlFuncs, unsafe.Pointer(&funcs)); err != nil {
		_ = k.close(fd)
		return nil, fail("query functionality of "+path, adapters.FromErrno(err, adapters.ErrAddressBusy))
	}
	if err := k.ioctl(fd, ioctlSlave, uintptr(addr)); err != nil {
		_ = k.close(fd)
		return nil, fail(fmt.Sprintf("bind address 0x%02X on %s", addr, path), adapters.FromErrno(err, adapters.ErrAddressBusy))
	}
	return &Device{name: name, k: k, fd: fd, funcs: uint64(funcs)}, nil
}

// Close releases the file descriptor. Later calls fail with
// adapters.ErrClosed.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := d.k.close(d.fd); err != nil {
		return &adapters.DeviceError{Device: d.name, Op: "close", Cmd: adapters.NoCmd, Err: err}
	}
	return nil
}

// transfer performs one I2C_SMBUS ioctl. need is the functionality bit the
// adapter must advertise.
func (d *Device) transfer(ctx context.Context, op string, need uint64, rw uint8, cmd byte, size uint32, data *smbusData) error {
	fail := func(err error) error {
		return &adapters.DeviceError{Device: d.name, Op: op, Cmd: int(cmd), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fail(adapters.ErrClosed)
	}
	if d.funcs&need == 0 {
		return fail(fmt.Errorf("the i2c adapter does not offer SMBus %s (functionality 0x%08X): %w", op, d.funcs, adapters.ErrUnsupported))
	}
	args := smbusIoctlData{readWrite: rw, command: cmd, size: size, data: data}
	err := d.k.ioctlPtr(d.fd, ioctlSMBus, unsafe.Pointer(&args))
	runtime.KeepAlive(data)
	if err != nil {
		return fail(adapters.FromErrno(err, adapters.ErrAddressBusy))
	}
	return nil
}

// ReadByteData reads one byte from cmd (SMBus read byte data).
func (d *Device) ReadByteData(ctx context.Context, cmd byte) (byte, error) {
	var data smbusData
	if err := d.transfer(ctx, "read byte", funcReadByteData, smbusRead, cmd, sizeByteData, &data); err != nil {
		return 0, err
	}
	return data[0], nil
}

// WriteByteData writes v to cmd (SMBus write byte data).
func (d *Device) WriteByteData(ctx context.Context, cmd byte, v byte) error {
	data := smbusData{v}
	return d.transfer(ctx, "write byte", funcWriteByteData, smbusWrite, cmd, sizeByteData, &data)
}

// ReadWord reads a 16-bit word from cmd (SMBus read word data).
func (d *Device) ReadWord(ctx context.Context, cmd byte) (uint16, error) {
	var data smbusData
	if err := d.transfer(ctx, "read word", funcReadWordData, smbusRead, cmd, sizeWordData, &data); err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint16(data[:2]), nil
}

// WriteWord writes a 16-bit word to cmd (SMBus write word data).
func (d *Device) WriteWord(ctx context.Context, cmd byte, v uint16) error {
	var data smbusData
	binary.NativeEndian.PutUint16(data[:2], v)
	return d.transfer(ctx, "write word", funcWriteWordData, smbusWrite, cmd, sizeWordData, &data)
}

// SendByte sends cmd with no data (SMBus send byte), as CLEAR_FAULTS needs.
func (d *Device) SendByte(ctx context.Context, cmd byte) error {
	return d.transfer(ctx, "send byte", funcWriteByte, smbusWrite, cmd, sizeByte, nil)
}

// BlockRead performs an SMBus block read of cmd: the device sends a count
// (at most 32) and then that many bytes.
func (d *Device) BlockRead(ctx context.Context, cmd byte) ([]byte, error) {
	var data smbusData
	if err := d.transfer(ctx, "block read", funcReadBlockData, smbusRead, cmd, sizeBlockData, &data); err != nil {
		return nil, err
	}
	n := int(data[0])
	if n > blockMax {
		return nil, &adapters.DeviceError{Device: d.name, Op: "block read", Cmd: int(cmd),
			Err: fmt.Errorf("device sent block length %d, above the SMBus maximum of %d: %w", n, blockMax, adapters.ErrProtocol)}
	}
	return append([]byte(nil), data[1:1+n]...), nil
}
