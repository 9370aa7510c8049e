package pmbus

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/statemgr/statemgr/adapters"
)

// Device is one PMBus device, or one page (rail) of a multi-page device,
// over an adapters.PMBus back-end. Its methods are safe for concurrent use;
// each one's bus transactions run without interleaving with the others of
// the same Device.
type Device struct {
	name string
	bus  adapters.PMBus

	direct map[adapters.Quantity]adapters.Coefficients // readings in the DIRECT format

	mu   sync.Mutex
	page int // -1: not paged
}

// Option configures a Device.
type Option func(*Device)

// WithPage makes the Device address one page of a multi-page device: it
// writes PAGE before every command, so that Devices for different pages of
// the same chip may share a bus.
func WithPage(page byte) Option { return func(d *Device) { d.page = int(page) } }

// WithDirect says which readings the device sends in the DIRECT format,
// with their coefficients; every other reading is LINEAR11 (READ_VOUT:
// the format VOUT_MODE names, DIRECT taking c[QuantityVout]). The
// coefficients must be valid (Coefficients.Validate).
func WithDirect(c map[adapters.Quantity]adapters.Coefficients) Option {
	return func(d *Device) {
		d.direct = make(map[adapters.Quantity]adapters.Coefficients, len(c))
		for q, v := range c {
			d.direct[q] = v
		}
	}
}

// NewDevice returns a Device named name (used in errors, e.g. "psu0") over
// bus.
func NewDevice(name string, bus adapters.PMBus, opts ...Option) *Device {
	d := &Device{name: name, bus: bus, page: -1}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Name returns the device's name.
func (d *Device) Name() string { return d.name }

// SelectPage writes PAGE now and makes page the one written before every
// later command.
func (d *Device) SelectPage(ctx context.Context, page byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.bus.WriteByteData(ctx, adapters.CmdPage, page); err != nil {
		return fmt.Errorf("cannot select page %d on %s: %w", page, d.name, err)
	}
	d.page = int(page)
	return nil
}

// locked runs f with the device locked and its page selected.
func (d *Device) locked(ctx context.Context, f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.page >= 0 {
		if err := d.bus.WriteByteData(ctx, adapters.CmdPage, byte(d.page)); err != nil {
			return fmt.Errorf("cannot select page %d on %s: %w", d.page, d.name, err)
		}
	}
	return f()
}

func (d *Device) operation(ctx context.Context, v byte, what string) error {
	return d.locked(ctx, func() error {
		if err := d.bus.WriteByteData(ctx, adapters.CmdOperation, v); err != nil {
			return fmt.Errorf("cannot write OPERATION 0x%02X (%s) to %s: %w", v, what, d.name, err)
		}
		return nil
	})
}

// On writes OPERATION = 0x80: output on.
func (d *Device) On(ctx context.Context) error {
	return d.operation(ctx, adapters.OperationOn, "on")
}

// ImmediateOff writes OPERATION = 0x00: output off at once.
func (d *Device) ImmediateOff(ctx context.Context) error {
	return d.operation(ctx, adapters.OperationImmediateOff, "immediate off")
}

// SoftOff writes OPERATION = 0x40: output off following TOFF_DELAY and
// TOFF_FALL.
func (d *Device) SoftOff(ctx context.Context) error {
	return d.operation(ctx, adapters.OperationSoftOff, "soft off")
}

// ClearFaults sends CLEAR_FAULTS, clearing every latched STATUS_* bit.
func (d *Device) ClearFaults(ctx context.Context) error {
	return d.locked(ctx, func() error {
		if err := d.bus.SendByte(ctx, adapters.CmdClearFaults); err != nil {
			return fmt.Errorf("cannot send CLEAR_FAULTS to %s: %w", d.name, err)
		}
		return nil
	})
}

// Status reads STATUS_WORD and then each detail register whose summary bit
// is set: STATUS_VOUT (VOUT or VOUT_OV_FAULT), STATUS_IOUT (IOUT_POUT or
// IOUT_OC_FAULT), STATUS_INPUT (INPUT or VIN_UV_FAULT), STATUS_TEMPERATURE
// and STATUS_CML.
func (d *Device) Status(ctx context.Context) (Status, error) {
	var st Status
	err := d.locked(ctx, func() error {
		w, err := d.bus.ReadWord(ctx, adapters.CmdStatusWord)
		if err != nil {
			return fmt.Errorf("cannot read STATUS_WORD from %s: %w", d.name, err)
		}
		st.Word = StatusWord(w)
		details := []struct {
			mask uint16
			cmd  byte
			dst  *byte
		}{
			{adapters.StatusVout | adapters.StatusVoutOV, adapters.CmdStatusVout, (*byte)(&st.Vout)},
			{adapters.StatusIoutPout | adapters.StatusIoutOC, adapters.CmdStatusIout, (*byte)(&st.Iout)},
			{adapters.StatusInput | adapters.StatusVinUV, adapters.CmdStatusInput, (*byte)(&st.Input)},
			{adapters.StatusTemperature, adapters.CmdStatusTemperature, (*byte)(&st.Temperature)},
			{adapters.StatusCML, adapters.CmdStatusCML, (*byte)(&st.CML)},
		}
		for _, r := range details {
			if w&r.mask == 0 {
				continue
			}
			v, err := d.bus.ReadByteData(ctx, r.cmd)
			if err != nil {
				return fmt.Errorf("cannot read %s from %s (STATUS_WORD 0x%04X): %w", adapters.CommandName(r.cmd), d.name, w, err)
			}
			*r.dst = v
		}
		return nil
	})
	return st, err
}

// readValue reads a telemetry word and decodes it: DIRECT with the
// quantity's coefficients when it has some, LINEAR11 otherwise.
func (d *Device) readValue(ctx context.Context, cmd byte, q adapters.Quantity) (float64, error) {
	var m Measurement
	err := d.locked(ctx, func() error {
		m = d.measureLocked(ctx, cmd, q)
		return m.Err
	})
	return m.Value, err
}

func (d *Device) measureLocked(ctx context.Context, cmd byte, q adapters.Quantity) Measurement {
	m := Measurement{Quantity: q, Unit: q.Unit(), Format: FormatLinear11}
	raw, err := d.bus.ReadWord(ctx, cmd)
	if err != nil {
		m.Err = fmt.Errorf("cannot read %s from %s: %w", adapters.CommandName(cmd), d.name, err)
		return m
	}
	m.Raw = raw
	if c, ok := d.direct[q]; ok {
		m.Format, m.Value = FormatDirect, DecodeDirect(raw, c)
	} else {
		m.Value = DecodeLinear11(raw)
	}
	return m
}

// ReadVin returns the input voltage in volts (READ_VIN).
func (d *Device) ReadVin(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadVin, adapters.QuantityVin)
}

// ReadIin returns the input current in amperes (READ_IIN).
func (d *Device) ReadIin(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadIin, adapters.QuantityIin)
}

// ReadIout returns the output current in amperes (READ_IOUT).
func (d *Device) ReadIout(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadIout, adapters.QuantityIout)
}

// ReadTemperature returns READ_TEMPERATURE_1 in degrees Celsius.
func (d *Device) ReadTemperature(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadTemperature1, adapters.QuantityTemperature)
}

// ReadPout returns the output power in watts (READ_POUT).
func (d *Device) ReadPout(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadPout, adapters.QuantityPout)
}

// ReadPin returns the input power in watts (READ_PIN).
func (d *Device) ReadPin(ctx context.Context) (float64, error) {
	return d.readValue(ctx, adapters.CmdReadPin, adapters.QuantityPin)
}

// ReadVout returns the output voltage in volts: READ_VOUT in the format
// VOUT_MODE names (LINEAR16 with its exponent, or DIRECT with the vout
// coefficients), both read in the same locked sequence.
func (d *Device) ReadVout(ctx context.Context) (float64, error) {
	var m Measurement
	err := d.locked(ctx, func() error {
		m = d.measureVoutLocked(ctx)
		return m.Err
	})
	return m.Value, err
}

func (d *Device) measureVoutLocked(ctx context.Context) Measurement {
	m := Measurement{Quantity: adapters.QuantityVout, Unit: adapters.QuantityVout.Unit()}
	b, err := d.bus.ReadByteData(ctx, adapters.CmdVoutMode)
	if err != nil {
		m.Err = fmt.Errorf("cannot read VOUT_MODE from %s: %w", d.name, err)
		return m
	}
	raw, err := d.bus.ReadWord(ctx, adapters.CmdReadVout)
	if err != nil {
		m.Err = fmt.Errorf("cannot read READ_VOUT from %s: %w", d.name, err)
		return m
	}
	m.Raw = raw
	mode := VoutMode(b)
	if mode.Kind() == VoutDirect {
		m.Format = FormatDirect
		c, ok := d.direct[adapters.QuantityVout]
		if !ok {
			m.Err = fmt.Errorf("cannot decode READ_VOUT 0x%04X from %s (VOUT_MODE %s): %w", raw, d.name, mode, ErrNoCoefficients)
			return m
		}
		m.Value = DecodeDirect(raw, c)
		return m
	}
	m.Format = FormatLinear16
	if m.Value, err = DecodeLinear16(raw, mode); err != nil {
		m.Format = "vout_mode " + mode.Kind().String()
		m.Err = fmt.Errorf("cannot decode READ_VOUT 0x%04X from %s: %w", raw, d.name, err)
	}
	return m
}

// Formats a Measurement names.
const (
	FormatLinear11 = "linear11"
	FormatLinear16 = "linear16"
	FormatDirect   = "direct"
)

// Measurement is one reading as read: the raw word, the format it was
// decoded in and the value, or why it could not be read or decoded (Raw
// is then the word if one was read, Value 0).
type Measurement struct {
	Quantity adapters.Quantity
	Unit     string // "V", "A", "W", "°C"
	Raw      uint16
	Format   string // FormatLinear11, FormatLinear16, FormatDirect
	Value    float64
	Err      error
}

// Measure reads one quantity: READ_VIN, READ_VOUT (with VOUT_MODE),
// READ_IOUT, READ_IIN, READ_PIN, READ_POUT or READ_TEMPERATURE_1. An
// unknown quantity is a Measurement whose Err wraps adapters.ErrUnsupported.
func (d *Device) Measure(ctx context.Context, q adapters.Quantity) Measurement {
	var m Measurement
	err := d.locked(ctx, func() error {
		if q == adapters.QuantityVout {
			m = d.measureVoutLocked(ctx)
			return nil
		}
		cmd, ok := readCommands[q]
		if !ok {
			m = Measurement{Quantity: q, Err: fmt.Errorf("cannot measure %q on %s: %w", q, d.name, adapters.ErrUnsupported)}
			return nil
		}
		m = d.measureLocked(ctx, cmd, q)
		return nil
	})
	if err != nil { // the page could not be selected
		m = Measurement{Quantity: q, Unit: q.Unit(), Err: err}
	}
	return m
}

var readCommands = map[adapters.Quantity]byte{
	adapters.QuantityVin: adapters.CmdReadVin, adapters.QuantityIout: adapters.CmdReadIout, adapters.QuantityIin: adapters.CmdReadIin,
	adapters.QuantityPin: adapters.CmdReadPin, adapters.QuantityPout: adapters.CmdReadPout, adapters.QuantityTemperature: adapters.CmdReadTemperature1,
}

// Readings is one read of a PSU's telemetry and status.
type Readings struct {
	Vin         float64 // volts
	Vout        float64 // volts
	Iout        float64 // amperes
	Temperature float64 // °C, READ_TEMPERATURE_1
	Status      Status
}

// Readings reads VIN, VOUT, IOUT, READ_TEMPERATURE_1 and the status
// registers, failing on the first that cannot be read or decoded.
func (d *Device) Readings(ctx context.Context) (Readings, error) {
	var r Readings
	var err error
	if r.Vin, err = d.ReadVin(ctx); err != nil {
		return Readings{}, err
	}
	if r.Vout, err = d.ReadVout(ctx); err != nil {
		return Readings{}, err
	}
	if r.Iout, err = d.ReadIout(ctx); err != nil {
		return Readings{}, err
	}
	if r.Temperature, err = d.ReadTemperature(ctx); err != nil {
		return Readings{}, err
	}
	if r.Status, err = d.Status(ctx); err != nil {
		return Readings{}, err
	}
	return r, nil
}

func (d *Device) readString(ctx context.Context, cmd byte) (string, error) {
	var s string
	err := d.locked(ctx, func() error {
		b, err := d.bus.BlockRead(ctx, cmd)
		if err != nil {
			return fmt.Errorf("cannot read %s from %s: %w", adapters.CommandName(cmd), d.name, err)
		}
		s = strings.TrimRight(string(b), " \x00")
		return nil
	})
	return s, err
}

// MfrID returns MFR_ID (block read), trailing spaces and NULs removed.
func (d *Device) MfrID(ctx context.Context) (string, error) {
	return d.readString(ctx, adapters.CmdMfrID)
}

// Model returns MFR_MODEL (block read), trailing spaces and NULs removed.
func (d *Device) Model(ctx context.Context) (string, error) {
	return d.readString(ctx, adapters.CmdMfrModel)
}

// Serial returns MFR_SERIAL (block read), trailing spaces and NULs removed.
func (d *Device) Serial(ctx context.Context) (string, error) {
	return d.readString(ctx, adapters.CmdMfrSerial)
}
