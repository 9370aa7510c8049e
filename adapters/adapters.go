package adapters

import (
	"context"
	"fmt"
	"time"
)

// Polarity says which electrical level asserts a line. Callers speak in
// asserted/deasserted; back-ends translate.
type Polarity string

// Line polarities, as platform files name them.
const (
	ActiveHigh Polarity = "active-high"
	ActiveLow  Polarity = "active-low"
)

// LineConfig names a GPIO line and its polarity. A line is found by its
// kernel name (gpio-line-names of the device tree), or, when Chip is set,
// by chip and offset, for a board whose device tree names no lines.
type LineConfig struct {
	Name     string   // the kernel line name, e.g. "POWER_OUT"; with Chip, the line's label in logs and causes ("gpiochip0:8")
	Polarity Polarity // which level asserts it
	Chip     string   // the chip by name ("gpiochip0", "/dev/gpiochip0") or label ("1e780000.gpio"); "": by Name
	Offset   int      // the line's offset on Chip
}

// ChipLineName is the Name of a line given by chip and offset.
func ChipLineName(chip string, offset int) string { return fmt.Sprintf("%s:%d", chip, offset) }

// Edge is a change of a watched input line.
type Edge struct {
	Line     string
	Asserted bool      // the line's logical state after the change
	Time     time.Time // when the back-end saw it (its clock)
}

// GPIO gives access to a chip's lines by name.
type GPIO interface {
	// Output requests name as an output, initially deasserted.
	Output(cfg LineConfig) (OutputLine, error)
	// Input requests name as an input; onEdge (if not nil) receives every
	// change, on a goroutine of the back-end's, in order.
	Input(cfg LineConfig, onEdge func(Edge)) (InputLine, error)
	// Close releases every line requested through this GPIO.
	Close() error
}

// OutputLine drives one output line.
type OutputLine interface {
	// Set asserts or deasserts the line and leaves it so.
	Set(ctx context.Context, asserted bool) error
	// Pulse asserts the line for d, then deasserts it: 200 ms for a power
	// button press, 4 s or more for a force-off hold. It returns when the
	// line is deasserted again, or with ctx's error (the line is then
	// deasserted before returning).
	Pulse(ctx context.Context, d time.Duration) error
	// Read returns the level last driven.
	Read(ctx context.Context) (asserted bool, err error)
	Close() error
}

// InputLine reads one input line.
type InputLine interface {
	Read(ctx context.Context) (asserted bool, err error)
	Close() error
}

// PMBus command codes used by statemgr (PMBus 1.3 Part II).
const (
	CmdPage              byte = 0x00
	CmdOperation         byte = 0x01
	CmdOnOffConfig       byte = 0x02
	CmdClearFaults       byte = 0x03
	CmdVoutMode          byte = 0x20
	CmdStatusByte        byte = 0x78
	CmdStatusWord        byte = 0x79
	CmdStatusVout        byte = 0x7A
	CmdStatusIout        byte = 0x7B
	CmdStatusInput       byte = 0x7C
	CmdStatusTemperature byte = 0x7D
	CmdStatusCML         byte = 0x7E
	CmdReadVin           byte = 0x88
	CmdReadIin           byte = 0x89
	CmdReadVout          byte = 0x8B
	CmdReadIout          byte = 0x8C
	CmdReadTemperature1  byte = 0x8D
	CmdReadPout          byte = 0x96
	CmdReadPin           byte = 0x97
	CmdMfrID             byte = 0x99
	CmdMfrModel          byte = 0x9A
	CmdMfrSerial         byte = 0x9E
)

// OPERATION values.
const (
	OperationOn           byte = 0x80
	OperationImmediateOff byte = 0x00
	OperationSoftOff      byte = 0x40
)

// STATUS_WORD bits.
const (
	StatusNoneOfTheAbove uint16 = 1 << 0
	StatusCML            uint16 = 1 << 1
	StatusTemperature    uint16 = 1 << 2
	StatusVinUV          uint16 = 1 << 3
	StatusIoutOC         uint16 = 1 << 4
	StatusVoutOV         uint16 = 1 << 5
	StatusOff            uint16 = 1 << 6
	StatusBusy           uint16 = 1 << 7
	StatusUnknown        uint16 = 1 << 8
	StatusOther          uint16 = 1 << 9
	StatusFans           uint16 = 1 << 10
	StatusPowerGoodN     uint16 = 1 << 11 // set = power NOT good
	StatusMfr            uint16 = 1 << 12
	StatusInput          uint16 = 1 << 13
	StatusIoutPout       uint16 = 1 << 14
	StatusVout           uint16 = 1 << 15
)

// PMBus is one PMBus device (a PSU or a voltage regulator), spoken to at
// the level of SMBus transactions. Paged devices take CmdPage first.
// Back-ends: raw SMBus over /dev/i2c-N, the kernel's hwmon/debugfs files,
// and the simulated platform.
type PMBus interface {
	ReadByteData(ctx context.Context, cmd byte) (byte, error)
	WriteByteData(ctx context.Context, cmd byte, v byte) error
	ReadWord(ctx context.Context, cmd byte) (uint16, error)
	WriteWord(ctx context.Context, cmd byte, v uint16) error
	// SendByte sends a command with no data (CLEAR_FAULTS).
	SendByte(ctx context.Context, cmd byte) error
	// BlockRead performs an SMBus block read (MFR_ID, MFR_MODEL, ...).
	BlockRead(ctx context.Context, cmd byte) ([]byte, error)
	Close() error
}

// ThermalSensor reads one temperature in degrees Celsius.
type ThermalSensor interface {
	ReadCelsius(ctx context.Context) (float64, error)
}
