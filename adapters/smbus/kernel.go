package smbus

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request codes from <linux/i2c-dev.h>.
const (
	ioctlSlave = 0x0703 // I2C_SLAVE: set the 7-bit address for this fd
	ioctlFuncs = 0x0705 // I2C_FUNCS: read the adapter's functionality mask
	ioctlSMBus = 0x0720 // I2C_SMBUS: perform one SMBus transaction
)

// SMBus transaction directions and sizes from <linux/i2c.h>.
const (
	smbusWrite uint8 = 0
	smbusRead  uint8 = 1

	sizeByte      uint32 = 1 // I2C_SMBUS_BYTE: send/receive byte
	sizeByteData  uint32 = 2 // I2C_SMBUS_BYTE_DATA
	sizeWordData  uint32 = 3 // I2C_SMBUS_WORD_DATA
	sizeBlockData uint32 = 5 // I2C_SMBUS_BLOCK_DATA

	blockMax = 32 // I2C_SMBUS_BLOCK_MAX
)

// Adapter functionality bits (I2C_FUNC_*) this package needs.
const (
	funcWriteByte     = 0x00040000 // I2C_FUNC_SMBUS_WRITE_BYTE
	funcReadByteData  = 0x00080000
	funcWriteByteData = 0x00100000
	funcReadWordData  = 0x00200000
	funcWriteWordData = 0x00400000
	funcReadBlockData = 0x01000000
)

// smbusData is union i2c_smbus_data: __u8 byte, __u16 word, or __u8
// block[I2C_SMBUS_BLOCK_MAX + 2] whose first byte is the length.
type smbusData [blockMax + 2]byte

// smbusIoctlData is struct i2c_smbus_ioctl_data. Go lays it out as C does:
// two bytes, two bytes of padding, a 32-bit size, then the pointer.
type smbusIoctlData struct {
	readWrite uint8
	command   uint8
	size      uint32
	data      *smbusData
}

// kernel is the seam between the Device and the system calls, so that a
// test can see the exact bytes of every request.
type kernel interface {
	open(path string) (fd int, err error)
	close(fd int) error
	// ioctl passes arg as the integer argument.
	ioctl(fd int, req uintptr, arg uintptr) error
	// ioctlPtr passes arg as a pointer to memory the kernel reads or fills.
	ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error
}

// linux is the real kernel.
type linux struct{}

func (linux) open(path string) (int, error) {
	return unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
}

func (linux) close(fd int) error { return unix.Close(fd) }

func (linux) ioctl(fd int, req uintptr, arg uintptr) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg); errno != 0 {
		return errno
	}
	return nil
}

func (linux) ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
