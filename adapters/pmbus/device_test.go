package pmbus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters"
)

// fakeBus is register memory with a transaction log and per-command errors.
type fakeBus struct {
	bytes  map[byte]byte
	words  map[byte]uint16
	blocks map[byte][]byte
	fail   map[byte]error
	log    []string
}

func newFakeBus() *fakeBus {
	return &fakeBus{bytes: map[byte]byte{}, words: map[byte]uint16{}, blocks: map[byte][]byte{}, fail: map[byte]error{}}
}

func (f *fakeBus) ReadByteData(_ context.Context, cmd byte) (byte, error) {
	f.log = append(f.log, fmt.Sprintf("rb %02X", cmd))
	if err := f.fail[cmd]; err != nil {
		return 0, err
	}
	return f.bytes[cmd], nil
}

func (f *fakeBus) WriteByteData(_ context.Context, cmd byte, v byte) error {
	f.log = append(f.log, fmt.Sprintf("wb %02X=%02X", cmd, v))
	if err := f.fail[cmd]; err != nil {
		return err
	}
	f.bytes[cmd] = v
	return nil
}

func (f *fakeBus) ReadWord(_ context.Context, cmd byte) (uint16, error) {
	f.log = append(f.log, fmt.Sprintf("rw %02X", cmd))
	if err := f.fail[cmd]; err != nil {
		return 0, err
	}
	return f.words[cmd], nil
}

func (f *fakeBus) WriteWord(_ context.Context, cmd byte, v uint16) error {
	f.log = append(f.log, fmt.Sprintf("ww %02X=%04X", cmd, v))
	f.words[cmd] = v
	return nil
}

func (f *fakeBus) SendByte(_ context.Context, cmd byte) error {
	f.log = append(f.log, fmt.Sprintf("sb %02X", cmd))
	return f.fail[cmd]
}

func (f *fakeBus) BlockRead(_ context.Context, cmd byte) ([]byte, error) {
	f.log = append(f.log, fmt.Sprintf("br %02X", cmd))
	if err := f.fail[cmd]; err != nil {
		return nil, err
	}
	return f.blocks[cmd], nil
}

func (f *fakeBus) Close() error { return nil }

func TestOperationCommands(t *testing.T) {
	ctx := context.Background()
	bus := newFakeBus()
	d := NewDevice("psu0", bus)
	for _, step := range []func(context.Context) error{d.On, d.SoftOff, d.ImmediateOff, d.ClearFaults} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"wb 01=80", "wb 01=40", "wb 01=00", "sb 03"}
	if !reflect.DeepEqual(bus.log, want) {
		t.Errorf("log = %q, want %q", bus.log, want)
	}
}

func TestPagedDeviceSelectsPageFirst(t *testing.T) {
	ctx := context.Background()
	bus := newFakeBus()
	bus.words[adapters.CmdReadIout] = 0xD300
	d := NewDevice("vr0.rail1", bus, WithPage(1))
	if _, err := d.ReadIout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.SelectPage(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := d.On(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"wb 00=01", "rw 8C", "wb 00=02", "wb 00=02", "wb 01=80"}
	if !reflect.DeepEqual(bus.log, want) {
		t.Errorf("log = %q, want %q", bus.log, want)
	}
}

func TestTelemetry(t *testing.T) {
	ctx := context.Background()
	bus := newFakeBus()
	bus.bytes[adapters.CmdVoutMode] = 0x14
	bus.words[adapters.CmdReadVout] = 0xC000 // 12 V, unsigned mantissa
	bus.words[adapters.CmdReadVin] = 0xF398  // 230 V
	bus.words[adapters.CmdReadIin] = 0xB200  // 0.5 A
	bus.words[adapters.CmdReadIout] = 0xD300 // 12 A
	bus.words[adapters.CmdReadTemperature1] = 0xDCE0
	bus.words[adapters.CmdReadPout] = 0xF8C8 // 100 W
	bus.words[adapters.CmdReadPin] = 0xD3C0  // 15 W
	d := NewDevice("psu0", bus)
	tests := []struct {
		name string
		read func(context.Context) (float64, error)
		want float64
	}{
		{"vout", d.ReadVout, 12},
		{"vin", d.ReadVin, 230},
		{"iin", d.ReadIin, 0.5},
		{"iout", d.ReadIout, 12},
		{"temperature", d.ReadTemperature, -25},
		{"pout", d.ReadPout, 100},
		{"pin", d.ReadPin, 15},
	}
	for _, tt := range tests {
		got, err := tt.read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReadVoutNonLinearMode(t *testing.T) {
	bus := newFakeBus()
	bus.bytes[adapters.CmdVoutMode] = 0x20 // VID
	bus.words[adapters.CmdReadVout] = 0x1234
	_, err := NewDevice("psu1", bus).ReadVout(context.Background())
	if !errors.Is(err, adapters.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "psu1") || !strings.Contains(err.Error(), "vid") {
		t.Errorf("error %q should name the device and the mode", err)
	}
}

func TestReadVoutDirectNeedsCoefficients(t *testing.T) {
	bus := newFakeBus()
	bus.bytes[adapters.CmdVoutMode] = 0x40
	bus.words[adapters.CmdReadVout] = 0x01E7
	_, err := NewDevice("psu1", bus).ReadVout(context.Background())
	if !errors.Is(err, ErrNoCoefficients) {
		t.Fatalf("err = %v, want ErrNoCoefficients", err)
	}
	if !strings.Contains(err.Error(), "psu1") || !strings.Contains(err.Error(), "0x01E7") {
		t.Errorf("error %q should name the device and the raw word", err)
	}
}

// TestReadingsDirect reads QEMU's adm1272 model as it boots (hw/sensor/
// adm1272.c: 12 V in and out, 25 A through its 300 µΩ shunt, in DIRECT,
// VOUT_MODE 0x40) with the ADM1272 datasheet's coefficients for the 100 V
// range and a 0.3 mΩ sense resistor (m = 663·0.3, truncated as the model
// does).
func TestReadingsDirect(t *testing.T) {
	bus := newFakeBus()
	bus.bytes[adapters.CmdVoutMode] = 0x40
	bus.words[adapters.CmdReadVin] = 487   // (4062·12 V)·10^-2, truncated
	bus.words[adapters.CmdReadVout] = 487  // same
	bus.words[adapters.CmdReadIout] = 2543 // (198·25 A + 20480)·10^-1
	bus.words[adapters.CmdReadTemperature1] = 3292
	bus.words[adapters.CmdStatusWord] = 0x0840 // OFF, POWER_GOOD#
	volts := adapters.Coefficients{M: 4062, B: 0, R: -2}
	d := NewDevice("psu0", bus, WithDirect(map[adapters.Quantity]adapters.Coefficients{
		adapters.QuantityVin: volts, adapters.QuantityVout: volts,
		adapters.QuantityIout:        {M: 198, B: 20480, R: -1},
		adapters.QuantityTemperature: {M: 42, B: 31871, R: -1},
	}))
	r, err := d.Readings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("vin", r.Vin, 48700.0/4062)
	near("vout", r.Vout, 48700.0/4062)
	near("iout", r.Iout, 25)
	near("temperature", r.Temperature, (32920.0-31871)/42)
	if r.Status.Word != 0x0840 || r.Status.PowerGood() || !r.Status.Off() {
		t.Errorf("status = %v, want OFF and POWER_GOOD#", r.Status)
	}
}

func TestReadingsFailOnFirstUnreadable(t *testing.T) {
	bus := newFakeBus()
	bus.fail = map[byte]error{adapters.CmdReadIout: adapters.ErrNAK}
	bus.words[adapters.CmdReadVin] = 0xD300
	_, err := NewDevice("psu0", bus).Readings(context.Background())
	if !errors.Is(err, adapters.ErrNAK) || !strings.Contains(err.Error(), "READ_IOUT") {
		t.Fatalf("err = %v, want a NAK on READ_IOUT", err)
	}
}

func TestStatusReadsOnlyFlaggedDetails(t *testing.T) {
	ctx := context.Background()
	bus := newFakeBus()
	// VOUT summary + POWER_GOOD# + OFF: an undervoltage shutdown.
	bus.words[adapters.CmdStatusWord] = adapters.StatusVout | adapters.StatusPowerGoodN | adapters.StatusOff
	bus.bytes[adapters.CmdStatusVout] = 0x10 // UV_FAULT
	bus.bytes[adapters.CmdStatusIout] = 0xFF // must not be read
	st, err := NewDevice("psu0", bus).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PowerGood() || !st.Off() {
		t.Errorf("PowerGood=%v Off=%v, want false, true", st.PowerGood(), st.Off())
	}
	if st.Vout != 0x10 || st.Iout != 0 {
		t.Errorf("Vout=%v Iout=%v", st.Vout, st.Iout)
	}
	want := []string{"rw 79", "rb 7A"}
	if !reflect.DeepEqual(bus.log, want) {
		t.Errorf("log = %q, want %q", bus.log, want)
	}
	wantFlags := []string{"WORD.OFF", "WORD.POWER_GOOD#", "WORD.VOUT", "VOUT.UV_FAULT"}
	if !reflect.DeepEqual(st.Flags(), wantFlags) {
		t.Errorf("Flags() = %q, want %q", st.Flags(), wantFlags)
	}
	if got := st.String(); got != "STATUS_WORD 0x8840 [WORD.OFF WORD.POWER_GOOD# WORD.VOUT VOUT.UV_FAULT]" {
		t.Errorf("String() = %q", got)
	}
}

func TestStatusAllDetails(t *testing.T) {
	bus := newFakeBus()
	bus.words[adapters.CmdStatusWord] = adapters.StatusVout | adapters.StatusIoutPout | adapters.StatusInput |
		adapters.StatusTemperature | adapters.StatusCML
	bus.bytes[adapters.CmdStatusVout] = 0x80
	bus.bytes[adapters.CmdStatusIout] = 0x20
	bus.bytes[adapters.CmdStatusInput] = 0x08
	bus.bytes[adapters.CmdStatusTemperature] = 0x40
	bus.bytes[adapters.CmdStatusCML] = 0xA0
	st, err := NewDevice("psu0", bus).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"WORD.CML", "WORD.TEMPERATURE", "WORD.INPUT", "WORD.IOUT_POUT", "WORD.VOUT",
		"VOUT.OV_FAULT", "IOUT.OC_WARN", "INPUT.UNIT_OFF_LOW_INPUT", "TEMPERATURE.OT_WARN",
		"CML.PEC_FAILED", "CML.INVALID_COMMAND",
	}
	if !reflect.DeepEqual(st.Flags(), want) {
		t.Errorf("Flags() = %q, want %q", st.Flags(), want)
	}
	if !st.PowerGood() {
		t.Error("PowerGood() = false with POWER_GOOD# clear")
	}
}

func TestStatusStrings(t *testing.T) {
	if got := StatusWord(0).String(); got != "0x0000" {
		t.Errorf("StatusWord(0) = %q", got)
	}
	if got := StatusTemperature(0x01).String(); got != "0x01 [BIT0]" {
		t.Errorf("reserved bit: %q", got)
	}
	if got := StatusIout(0x81).String(); got != "0x81 [POUT_OP_WARN OC_FAULT]" {
		t.Errorf("StatusIout = %q", got)
	}
	if got := StatusInput(0x90).String(); got != "0x90 [VIN_UV_FAULT VIN_OV_FAULT]" {
		t.Errorf("StatusInput = %q", got)
	}
	if got := StatusCML(0x03).String(); got != "0x03 [OTHER_MEMORY_LOGIC_FAULT OTHER_COMM_FAULT]" {
		t.Errorf("StatusCML = %q", got)
	}
	if got := StatusVout(0x06).String(); got != "0x06 [TOFF_MAX_WARN TON_MAX_FAULT]" {
		t.Errorf("StatusVout = %q", got)
	}
}

func TestErrorsKeepCauseAndContext(t *testing.T) {
	bus := newFakeBus()
	cause := &adapters.DeviceError{Device: "psu0", Op: "read word", Cmd: int(adapters.CmdStatusWord), Err: adapters.ErrNAK}
	bus.fail[adapters.CmdStatusWord] = cause
	_, err := NewDevice("psu0", bus).Status(context.Background())
	if !errors.Is(err, adapters.ErrNAK) || !adapters.IsTransient(err) {
		t.Fatalf("err = %v, want a transient NAK", err)
	}
	if !strings.HasPrefix(err.Error(), "cannot read STATUS_WORD from psu0: ") {
		t.Errorf("err = %q", err)
	}

	bus.fail[adapters.CmdPage] = adapters.ErrBusTimeout
	if err := NewDevice("vr0", bus, WithPage(3)).On(context.Background()); !errors.Is(err, adapters.ErrBusTimeout) ||
		!strings.Contains(err.Error(), "cannot select page 3 on vr0") {
		t.Errorf("page failure: %v", err)
	}
}

func TestInventoryStrings(t *testing.T) {
	ctx := context.Background()
	bus := newFakeBus()
	bus.blocks[adapters.CmdMfrID] = []byte("ACME  ")
	bus.blocks[adapters.CmdMfrModel] = []byte("PSU-1600\x00\x00")
	bus.blocks[adapters.CmdMfrSerial] = []byte("SN0042")
	d := NewDevice("psu0", bus)
	for _, tt := range []struct {
		read func(context.Context) (string, error)
		want string
	}{{d.MfrID, "ACME"}, {d.Model, "PSU-1600"}, {d.Serial, "SN0042"}} {
		got, err := tt.read(ctx)
		if err != nil || got != tt.want {
			t.Errorf("got %q, %v; want %q", got, err, tt.want)
		}
	}
	bus.fail[adapters.CmdMfrSerial] = adapters.ErrUnsupported
	if _, err := d.Serial(ctx); !errors.Is(err, adapters.ErrUnsupported) || !strings.Contains(err.Error(), "MFR_SERIAL") {
		t.Errorf("Serial error = %v", err)
	}
}

// TestMeasureKeepsRawFormatAndError: each Measurement carries its word,
// the format it was decoded in and its own error, so that one unreadable
// or undecodable reading does not hide the others.
func TestMeasureKeepsRawFormatAndError(t *testing.T) {
	bus := newFakeBus()
	bus.bytes[adapters.CmdVoutMode] = 0x40 // DIRECT, and no vout coefficients
	bus.words[adapters.CmdReadVin] = 487
	bus.words[adapters.CmdReadVout] = 487
	bus.words[adapters.CmdReadTemperature1] = 0xE230 // LINEAR11, exponent -4
	bus.fail = map[byte]error{adapters.CmdReadIout: adapters.ErrNAK}
	d := NewDevice("psu0", bus, WithDirect(map[adapters.Quantity]adapters.Coefficients{adapters.QuantityVin: {M: 4062, B: 0, R: -2}}))
	ctx := context.Background()

	vin := d.Measure(ctx, adapters.QuantityVin)
	if vin.Err != nil || vin.Raw != 487 || vin.Format != FormatDirect || vin.Unit != "V" || math.Abs(vin.Value-48700.0/4062) > 1e-9 {
		t.Errorf("vin = %+v, want 487 DIRECT %v V", vin, 48700.0/4062)
	}
	vout := d.Measure(ctx, adapters.QuantityVout)
	if !errors.Is(vout.Err, ErrNoCoefficients) || vout.Raw != 487 || vout.Format != FormatDirect {
		t.Errorf("vout = %+v, want raw 487, DIRECT, ErrNoCoefficients", vout)
	}
	iout := d.Measure(ctx, adapters.QuantityIout)
	if !errors.Is(iout.Err, adapters.ErrNAK) || !strings.Contains(iout.Err.Error(), "READ_IOUT") || iout.Unit != "A" {
		t.Errorf("iout = %+v, want a NAK on READ_IOUT", iout)
	}
	temp := d.Measure(ctx, adapters.QuantityTemperature)
	if temp.Err != nil || temp.Format != FormatLinear11 || temp.Value != DecodeLinear11(0xE230) || temp.Unit != "°C" {
		t.Errorf("temperature = %+v, want LINEAR11 %v °C", temp, DecodeLinear11(0xE230))
	}
	if m := d.Measure(ctx, adapters.Quantity("vcc")); !errors.Is(m.Err, adapters.ErrUnsupported) {
		t.Errorf("vcc = %+v, want ErrUnsupported", m)
	}
}
