package smbus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/statemgr/statemgr/adapters"
)

// request is one I2C_SMBUS ioctl as the kernel would see it.
type request struct {
	raw     []byte // the i2c_smbus_ioctl_data struct, byte for byte
	dataPtr uintptr
	data    []byte // the i2c_smbus_data union before the call; nil if no buffer
}

// fakeKernel records every call and answers from a script.
type fakeKernel struct {
	funcs    uintptr
	openErr  error
	slave    []uintptr
	slaveErr error
	reqs     []request
	reply    []byte  // copied into the data buffer of the next read
	errs     []error // returned by successive I2C_SMBUS calls
	closed   []int
}

const fakeFD = 42

func (k *fakeKernel) open(string) (int, error) {
	if k.openErr != nil {
		return -1, k.openErr
	}
	return fakeFD, nil
}

func (k *fakeKernel) close(fd int) error { k.closed = append(k.closed, fd); return nil }

func (k *fakeKernel) ioctl(fd int, req uintptr, arg uintptr) error {
	if fd != fakeFD || req != 0x0703 {
		return syscall.EINVAL
	}
	k.slave = append(k.slave, arg)
	return k.slaveErr
}

func (k *fakeKernel) ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	if fd != fakeFD {
		return syscall.EBADF
	}
	switch req {
	case 0x0705:
		*(*uintptr)(arg) = k.funcs
		return nil
	case 0x0720:
	default:
		return syscall.EINVAL
	}
	n := unsafe.Sizeof(smbusIoctlData{})
	r := request{raw: append([]byte(nil), unsafe.Slice((*byte)(arg), n)...)}
	args := (*smbusIoctlData)(arg)
	if args.data != nil {
		r.dataPtr = uintptr(unsafe.Pointer(args.data))
		r.data = append([]byte(nil), args.data[:]...)
	}
	k.reqs = append(k.reqs, r)
	if len(k.errs) > 0 {
		err := k.errs[0]
		k.errs = k.errs[1:]
		if err != nil {
			return err
		}
	}
	if args.readWrite == 1 && args.data != nil {
		copy(args.data[:], k.reply)
	}
	return nil
}

// wantStruct is the expected i2c_smbus_ioctl_data: read_write, command, two
// bytes of padding, size in host order, then the data pointer.
func wantStruct(rw, cmd byte, size uint32, ptr uintptr) []byte {
	b := []byte{rw, cmd, 0, 0}
	b = binary.NativeEndian.AppendUint32(b, size)
	if unsafe.Sizeof(uintptr(0)) == 8 {
		b = binary.NativeEndian.AppendUint64(b, uint64(ptr))
	} else {
		b = binary.NativeEndian.AppendUint32(b, uint32(ptr))
	}
	return b
}

func union(b ...byte) []byte {
	u := make([]byte, 34)
	copy(u, b)
	return u
}

const allFuncs = funcWriteByte | funcReadByteData | funcWriteByteData | funcReadWordData | funcWriteWordData | funcReadBlockData

func openFake(t *testing.T, k *fakeKernel) *Device {
	t.Helper()
	d, err := open(k, "/dev/i2c-7", 0x58, "psu0")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStructLayoutMatchesC(t *testing.T) {
	var s smbusIoctlData
	if unsafe.Offsetof(s.readWrite) != 0 || unsafe.Offsetof(s.command) != 1 || unsafe.Offsetof(s.size) != 4 ||
		unsafe.Offsetof(s.data) != 8 {
		t.Errorf("offsets %d %d %d %d, want 0 1 4 8", unsafe.Offsetof(s.readWrite), unsafe.Offsetof(s.command),
			unsafe.Offsetof(s.size), unsafe.Offsetof(s.data))
	}
	if unsafe.Sizeof(smbusData{}) != 34 {
		t.Errorf("union size %d, want 34", unsafe.Sizeof(smbusData{}))
	}
}

func TestOpenBindsAddress(t *testing.T) {
	k := &fakeKernel{funcs: allFuncs}
	d := openFake(t, k)
	if len(k.slave) != 1 || k.slave[0] != 0x58 {
		t.Errorf("I2C_SLAVE args = %v, want [0x58]", k.slave)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(k.closed) != 1 {
		t.Errorf("closed = %v", k.closed)
	}
	if _, err := d.ReadByteData(context.Background(), 0x20); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestTransactionsByteForByte(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{funcs: allFuncs}
	d := openFake(t, k)

	k.reply = union(0x17)
	if v, err := d.ReadByteData(ctx, adapters.CmdVoutMode); err != nil || v != 0x17 {
		t.Fatalf("ReadByteData = 0x%02X, %v", v, err)
	}
	if err := d.WriteByteData(ctx, adapters.CmdOperation, 0x80); err != nil {
		t.Fatal(err)
	}
	k.reply = union(0x40, 0x08) // 0x0840 in host order on little-endian hosts
	w, err := d.ReadWord(ctx, adapters.CmdStatusWord)
	if err != nil {
		t.Fatal(err)
	}
	if want := binary.NativeEndian.Uint16([]byte{0x40, 0x08}); w != want {
		t.Errorf("ReadWord = 0x%04X, want 0x%04X", w, want)
	}
	if err := d.WriteWord(ctx, 0x21, 0x1234); err != nil {
		t.Fatal(err)
	}
	if err := d.SendByte(ctx, adapters.CmdClearFaults); err != nil {
		t.Fatal(err)
	}
	k.reply = union(5, 'A', 'C', 'M', 'E', '!', 0xEE) // 0xEE lies past the count
	b, err := d.BlockRead(ctx, adapters.CmdMfrID)
	if err != nil || string(b) != "ACME!" {
		t.Fatalf("BlockRead = %q, %v", b, err)
	}

	word := make([]byte, 2)
	binary.NativeEndian.PutUint16(word, 0x1234)
	want := []struct {
		rw, cmd byte
		size    uint32
		data    []byte // nil: no buffer (send byte)
	}{
		{1, 0x20, 2, union()},                 // read byte data: buffer zeroed
		{0, 0x01, 2, union(0x80)},             // write byte data: byte in data[0]
		{1, 0x79, 3, union()},                 // read word data
		{0, 0x21, 3, union(word[0], word[1])}, // write word data: host-order u16
		{0, 0x03, 1, nil},                     // send byte: command only, NULL data
		{1, 0x99, 5, union()},                 // block read: I2C_SMBUS_BLOCK_DATA
	}
	if len(k.reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(k.reqs), len(want))
	}
	for i, w := range want {
		got := k.reqs[i]
		if exp := wantStruct(w.rw, w.cmd, w.size, got.dataPtr); !bytes.Equal(got.raw, exp) {
			t.Errorf("request %d struct = % X, want % X", i, got.raw, exp)
		}
		if (w.data == nil) != (got.dataPtr == 0) {
			t.Errorf("request %d: data pointer %#x, want buffer=%v", i, got.dataPtr, w.data != nil)
		}
		if !bytes.Equal(got.data, w.data) {
			t.Errorf("request %d data = % X, want % X", i, got.data, w.data)
		}
	}
}

func TestErrnoMapping(t *testing.T) {
	tests := []struct {
		errno     syscall.Errno
		want      error
		transient bool
	}{
		{syscall.EREMOTEIO, adapters.ErrNAK, true},
		{syscall.ENXIO, adapters.ErrNAK, true},
		{syscall.ETIMEDOUT, adapters.ErrBusTimeout, true},
		{syscall.EPROTO, adapters.ErrProtocol, false},
	}
	for _, tt := range tests {
		k := &fakeKernel{funcs: allFuncs, errs: []error{tt.errno}}
		d := openFake(t, k)
		_, err := d.ReadWord(context.Background(), adapters.CmdStatusWord)
		var de *adapters.DeviceError
		if !errors.As(err, &de) || !errors.Is(err, tt.want) || !errors.Is(err, tt.errno) {
			t.Fatalf("%v: err = %v, want DeviceError wrapping %v", tt.errno, err, tt.want)
		}
		if de.Device != "psu0" || de.Op != "read word" || de.Cmd != int(adapters.CmdStatusWord) || de.Transient() != tt.transient {
			t.Errorf("%v: %+v transient=%v", tt.errno, de, de.Transient())
		}
		if !strings.HasPrefix(err.Error(), "psu0: read word STATUS_WORD (0x79): ") {
			t.Errorf("message %q", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	k := &fakeKernel{funcs: allFuncs, slaveErr: syscall.EBUSY}
	_, err := open(k, "/dev/i2c-7", 0x58, "psu0")
	if !errors.Is(err, adapters.ErrAddressBusy) || !strings.Contains(err.Error(), "psu0") ||
		!strings.Contains(err.Error(), "0x58") || !strings.Contains(err.Error(), "hwmon") {
		t.Errorf("EBUSY on I2C_SLAVE: %v", err)
	}
	if len(k.closed) != 1 {
		t.Error("fd not closed after failed bind")
	}

	k = &fakeKernel{openErr: syscall.ENOENT}
	if _, err := open(k, "/dev/i2c-9", 0x58, "psu0"); !errors.Is(err, adapters.ErrNoDevice) ||
		!strings.Contains(err.Error(), "/dev/i2c-9") {
		t.Errorf("missing node: %v", err)
	}
	k = &fakeKernel{openErr: syscall.EACCES}
	if _, err := open(k, "/dev/i2c-9", 0x58, "psu0"); !errors.Is(err, adapters.ErrPermission) {
		t.Errorf("no permission: %v", err)
	}
	for _, addr := range []uint16{0x00, 0x02, 0x78, 0x3ff} {
		if _, err := open(&fakeKernel{}, "/dev/i2c-7", addr, "psu0"); err == nil {
			t.Errorf("address 0x%02X accepted", addr)
		}
	}
}

func TestUnsupportedFunctionality(t *testing.T) {
	// i2c-stub without SMBus block functionality, for instance.
	k := &fakeKernel{funcs: allFuncs &^ funcReadBlockData}
	d := openFake(t, k)
	_, err := d.BlockRead(context.Background(), adapters.CmdMfrModel)
	if !errors.Is(err, adapters.ErrUnsupported) || !strings.Contains(err.Error(), "MFR_MODEL") {
		t.Errorf("err = %v, want ErrUnsupported naming MFR_MODEL", err)
	}
	if len(k.reqs) != 0 {
		t.Errorf("an unsupported transaction reached the kernel: %d requests", len(k.reqs))
	}
}

func TestBlockCountTooLarge(t *testing.T) {
	k := &fakeKernel{funcs: allFuncs, reply: union(33)}
	_, err := openFake(t, k).BlockRead(context.Background(), adapters.CmdMfrID)
	if !errors.Is(err, adapters.ErrProtocol) {
		t.Errorf("err = %v, want ErrProtocol", err)
	}
}

func TestCancelledContext(t *testing.T) {
	k := &fakeKernel{funcs: allFuncs}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := openFake(t, k).WriteByteData(ctx, adapters.CmdOperation, 0x80); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(k.reqs) != 0 {
		t.Errorf("a transaction was issued with a cancelled context")
	}
}
