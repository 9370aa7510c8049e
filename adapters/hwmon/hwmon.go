package hwmon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/pmbus"
)

// VoutMode is the VOUT_MODE this back-end reports and encodes READ_VOUT
// with: linear, exponent -10.
const VoutMode byte = 0x16

// Config locates one device's files.
type Config struct {
	Name     string // the device's name in errors, e.g. "psu0"
	HwmonDir string // its hwmon directory, e.g. /sys/class/hwmon/hwmon3
	DebugDir string // its pmbus debugfs directory, e.g. /sys/kernel/debug/pmbus/hwmon3
}

// Find locates the hwmon and debugfs directories of the device at addr on
// I2C bus bus: <sysfs>/bus/i2c/devices/<bus>-<addr as %04x>/hwmon/hwmonN and
// <debugfs>/pmbus/hwmonN. sysfs and debugfs are the mount points, normally
// "/sys" and "/sys/kernel/debug".
func Find(sysfs, debugfs string, bus int, addr uint16, name string) (Config, error) {
	dev := filepath.Join(sysfs, "bus", "i2c", "devices", fmt.Sprintf("%d-%04x", bus, addr))
	matches, _ := filepath.Glob(filepath.Join(dev, "hwmon", "hwmon*"))
	if len(matches) != 1 {
		why := "no hwmon directory: is the pmbus driver bound?"
		if len(matches) > 1 {
			why = fmt.Sprintf("%d hwmon directories, expected one", len(matches))
		}
		return Config{}, &adapters.DeviceError{Device: name, Op: "find " + dev, Cmd: adapters.NoCmd,
			Err: fmt.Errorf("%s: %w", why, adapters.ErrNoDevice)}
	}
	hw := matches[0]
	return Config{Name: name, HwmonDir: hw, DebugDir: filepath.Join(debugfs, "pmbus", filepath.Base(hw))}, nil
}

// Device is a PMBus device read through the kernel's files. It implements
// adapters.PMBus.
type Device struct {
	cfg    Config
	labels map[string]string // label ("vout1") → attribute prefix ("in3")

	mu     sync.Mutex
	page   byte
	closed bool
}

var _ adapters.PMBus = (*Device)(nil)

// Open checks that cfg.HwmonDir exists and reads its sensor labels.
func Open(cfg Config) (*Device, error) {
	if _, err := os.Stat(cfg.HwmonDir); err != nil {
		return nil, &adapters.DeviceError{Device: cfg.Name, Op: "open " + cfg.HwmonDir, Cmd: adapters.NoCmd,
			Err: fileError(err, adapters.ErrNoDevice)}
	}
	d := &Device{cfg: cfg, labels: map[string]string{}}
	for _, kind := range []string{"in", "curr", "power"} {
		files, _ := filepath.Glob(filepath.Join(cfg.HwmonDir, kind+"*_label"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // an unreadable label leaves its sensor unmapped
			}
			d.labels[strings.TrimSpace(string(b))] = strings.TrimSuffix(filepath.Base(f), "_label")
		}
	}
	return d, nil
}

// fileError classifies a file error: missing is what a missing file means.
func fileError(err error, missing error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%w)", missing, err)
	}
	return adapters.FromErrno(err, adapters.ErrAddressBusy)
}

func (d *Device) fail(op string, cmd byte, err error) error {
	return &adapters.DeviceError{Device: d.cfg.Name, Op: op, Cmd: int(cmd), Err: err}
}

// begin checks the context and the handle and returns the current page.
func (d *Device) begin(ctx context.Context, op string, cmd byte) (byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, d.fail(op, cmd, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, d.fail(op, cmd, adapters.ErrClosed)
	}
	return d.page, nil
}

// readTrimmed reads a one-value file; missing is the error for a file that
// does not exist.
func readTrimmed(path string, missing error) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fileError(err, missing)
	}
	return strings.TrimSpace(string(b)), nil
}

// readHex reads a debugfs status file ("0x0840").
func readHex(path string, bits int) (uint64, error) {
	s, err := readTrimmed(path, adapters.ErrUnsupported)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q, not a %d-bit number: %w", path, s, bits, adapters.ErrProtocol)
	}
	return v, nil
}

// readScaled reads a hwmon value in milli- or micro-units and scales it.
func readScaled(path string, scale float64, missing error) (float64, error) {
	s, err := readTrimmed(path, missing)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q, not an integer: %w", path, s, adapters.ErrProtocol)
	}
	return float64(v) / scale, nil
}

func (d *Device) statusPath(page byte, suffix string) (string, error) {
	if d.cfg.DebugDir == "" {
		return "", fmt.Errorf("no pmbus debugfs directory configured (mount debugfs): %w", adapters.ErrUnsupported)
	}
	return filepath.Join(d.cfg.DebugDir, fmt.Sprintf("status%d%s", page, suffix)), nil
}

var statusByteSuffix = map[byte]string{
	adapters.CmdStatusVout:        "_vout",
	adapters.CmdStatusIout:        "_iout",
	adapters.CmdStatusInput:       "_input",
	adapters.CmdStatusTemperature: "_temp",
	adapters.CmdStatusCML:         "_cml",
}

// ReadByteData serves PAGE, VOUT_MODE, STATUS_BYTE and the STATUS_* detail
// registers of the current page.
func (d *Device) ReadByteData(ctx context.Context, cmd byte) (byte, error) {
	const op = "read byte"
	page, err := d.begin(ctx, op, cmd)
	if err != nil {
		return 0, err
	}
	switch cmd {
	case adapters.CmdPage:
		return page, nil
	case adapters.CmdVoutMode:
		return VoutMode, nil
	case adapters.CmdStatusByte:
		w, err := d.readStatusWord(page)
		if err != nil {
			return 0, d.fail(op, cmd, err)
		}
		return byte(w), nil
	}
	suffix, ok := statusByteSuffix[cmd]
	if !ok {
		return 0, d.fail(op, cmd, unsupported("hwmon and debugfs do not publish it"))
	}
	path, err := d.statusPath(page, suffix)
	if err != nil {
		return 0, d.fail(op, cmd, err)
	}
	v, err := readHex(path, 8)
	if err != nil {
		return 0, d.fail(op, cmd, err)
	}
	return byte(v), nil
}

func (d *Device) readStatusWord(page byte) (uint16, error) {
	path, err := d.statusPath(page, "")
	if err != nil {
		return 0, err
	}
	v, err := readHex(path, 16)
	return uint16(v), err
}

func unsupported(why string) error {
	return fmt.Errorf("%s: %w", why, adapters.ErrUnsupported)
}

// telemetry maps a READ_* command to its hwmon label (with %d for page+1)
// and the divisor from the file's unit to the PMBus unit.
var telemetry = map[byte]struct {
	label string
	scale float64
}{
	adapters.CmdReadVin:  {"vin", 1e3},
	adapters.CmdReadIin:  {"iin", 1e3},
	adapters.CmdReadVout: {"vout%d", 1e3},
	adapters.CmdReadIout: {"iout%d", 1e3},
	adapters.CmdReadPin:  {"pin", 1e6},
	adapters.CmdReadPout: {"pout%d", 1e6},
}

// ReadWord serves STATUS_WORD from debugfs and the READ_* telemetry from
// hwmon, re-encoded: READ_VOUT in LINEAR16 with VoutMode, the others in
// LINEAR11. READ_TEMPERATURE_1 is temp1_input and exists on page 0 only.
func (d *Device) ReadWord(ctx context.Context, cmd byte) (uint16, error) {
	const op = "read word"
	page, err := d.begin(ctx, op, cmd)
	if err != nil {
		return 0, err
	}
	if cmd == adapters.CmdStatusWord {
		w, err := d.readStatusWord(page)
		if err != nil {
			return 0, d.fail(op, cmd, err)
		}
		return w, nil
	}
	var path string
	scale := 1e3
	if cmd == adapters.CmdReadTemperature1 {
		if page != 0 {
			return 0, d.fail(op, cmd, unsupported(fmt.Sprintf("temperature of page %d cannot be told apart in hwmon", page)))
		}
		path = filepath.Join(d.cfg.HwmonDir, "temp1_input")
	} else {
		t, ok := telemetry[cmd]
		if !ok {
			return 0, d.fail(op, cmd, unsupported("hwmon does not publish it"))
		}
		label := t.label
		if strings.Contains(label, "%d") {
			label = fmt.Sprintf(label, int(page)+1)
		}
		prefix, ok := d.labels[label]
		if !ok {
			return 0, d.fail(op, cmd, unsupported(fmt.Sprintf("no hwmon sensor labelled %q in %s", label, d.cfg.HwmonDir)))
		}
		path, scale = filepath.Join(d.cfg.HwmonDir, prefix+"_input"), t.scale
	}
	v, err := readScaled(path, scale, adapters.ErrUnsupported)
	if err != nil {
		return 0, d.fail(op, cmd, err)
	}
	var raw uint16
	if cmd == adapters.CmdReadVout {
		// A rail at 0 V may read a few millivolts negative; ULINEAR16
		// cannot say so.
		raw, err = pmbus.EncodeLinear16(math.Max(v, 0), pmbus.VoutMode(VoutMode))
	} else {
		raw, err = pmbus.EncodeLinear11(v)
	}
	if err != nil {
		return 0, d.fail(op, cmd, fmt.Errorf("%s: %w (%w)", path, adapters.ErrProtocol, err))
	}
	return raw, nil
}

// WriteByteData serves PAGE, which selects the files later reads use. Other
// writes are not exposed by the kernel.
func (d *Device) WriteByteData(ctx context.Context, cmd byte, v byte) error {
	const op = "write byte"
	if _, err := d.begin(ctx, op, cmd); err != nil {
		return err
	}
	if cmd != adapters.CmdPage {
		return d.fail(op, cmd, unsupported("the kernel pmbus driver owns the device and does not expose this write; unbind it to use the smbus back-end"))
	}
	d.mu.Lock()
	d.page = v
	d.mu.Unlock()
	return nil
}

// WriteWord is not exposed by the kernel: it fails with ErrUnsupported.
func (d *Device) WriteWord(ctx context.Context, cmd byte, _ uint16) error {
	if _, err := d.begin(ctx, "write word", cmd); err != nil {
		return err
	}
	return d.fail("write word", cmd, unsupported("the kernel pmbus driver owns the device and does not expose word writes"))
}

// SendByte is not exposed by the kernel (the driver clears faults itself):
// it fails with ErrUnsupported.
func (d *Device) SendByte(ctx context.Context, cmd byte) error {
	if _, err := d.begin(ctx, "send byte", cmd); err != nil {
		return err
	}
	return d.fail("send byte", cmd, unsupported("the kernel pmbus driver owns the device and clears faults itself"))
}

var inventoryFiles = map[byte]string{
	adapters.CmdMfrID:     "mfr_id",
	adapters.CmdMfrModel:  "mfr_model",
	adapters.CmdMfrSerial: "mfr_serial",
}

// BlockRead serves MFR_ID, MFR_MODEL and MFR_SERIAL from the debugfs files
// of the same names, where the driver publishes them.
func (d *Device) BlockRead(ctx context.Context, cmd byte) ([]byte, error) {
	const op = "block read"
	if _, err := d.begin(ctx, op, cmd); err != nil {
		return nil, err
	}
	name, ok := inventoryFiles[cmd]
	if !ok {
		return nil, d.fail(op, cmd, unsupported("debugfs does not publish it"))
	}
	if d.cfg.DebugDir == "" {
		return nil, d.fail(op, cmd, unsupported("no pmbus debugfs directory configured (mount debugfs)"))
	}
	s, err := readTrimmed(filepath.Join(d.cfg.DebugDir, name), adapters.ErrUnsupported)
	if err != nil {
		return nil, d.fail(op, cmd, err)
	}
	return []byte(s), nil
}

// Close marks the device closed; it holds no descriptors.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// ThermalSensor reads one hwmon temperature input. It implements
// adapters.ThermalSensor.
type ThermalSensor struct {
	name string
	path string
}

var _ adapters.ThermalSensor = (*ThermalSensor)(nil)

// NewThermalSensor returns the sensor tempN_input (N = index, from 1) of
// hwmonDir; name names it in errors.
func NewThermalSensor(name, hwmonDir string, index int) *ThermalSensor {
	return &ThermalSensor{name: name, path: filepath.Join(hwmonDir, fmt.Sprintf("temp%d_input", index))}
}

// ReadCelsius reads the temperature in degrees Celsius.
func (s *ThermalSensor) ReadCelsius(ctx context.Context) (float64, error) {
	fail := func(err error) error {
		return &adapters.DeviceError{Device: s.name, Op: "read " + s.path, Cmd: adapters.NoCmd, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return 0, fail(err)
	}
	v, err := readScaled(s.path, 1e3, adapters.ErrNoDevice)
	if err != nil {
		return 0, fail(err)
	}
	return v, nil
}
