package hwmon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/pmbus"
)

// tree builds a fake /sys and /sys/kernel/debug for a two-page PSU at
// 0x58 on bus 7, bound as hwmon3.
func tree(t *testing.T) (sysfs, debugfs string) {
	t.Helper()
	root := t.TempDir()
	sysfs, debugfs = filepath.Join(root, "sys"), filepath.Join(root, "debug")
	hw := filepath.Join(sysfs, "bus", "i2c", "devices", "7-0058", "hwmon", "hwmon3")
	dbg := filepath.Join(debugfs, "pmbus", "hwmon3")
	files := map[string]string{
		filepath.Join(hw, "name"):           "pmbus\n",
		filepath.Join(hw, "in1_label"):      "vin\n",
		filepath.Join(hw, "in1_input"):      "230125\n",
		filepath.Join(hw, "in2_label"):      "vout1\n",
		filepath.Join(hw, "in2_input"):      "12000\n",
		filepath.Join(hw, "in3_label"):      "vout2\n",
		filepath.Join(hw, "in3_input"):      "3300\n",
		filepath.Join(hw, "curr1_label"):    "iin\n",
		filepath.Join(hw, "curr1_input"):    "500\n",
		filepath.Join(hw, "curr2_label"):    "iout1\n",
		filepath.Join(hw, "curr2_input"):    "12000\n",
		filepath.Join(hw, "power1_label"):   "pin\n",
		filepath.Join(hw, "power1_input"):   "15000000\n",
		filepath.Join(hw, "power2_label"):   "pout1\n",
		filepath.Join(hw, "power2_input"):   "100000000\n",
		filepath.Join(hw, "temp1_input"):    "-25000\n",
		filepath.Join(hw, "temp2_input"):    "41500\n",
		filepath.Join(dbg, "status0"):       "0x8840\n",
		filepath.Join(dbg, "status0_vout"):  "0x10\n",
		filepath.Join(dbg, "status0_iout"):  "0x00\n",
		filepath.Join(dbg, "status0_input"): "0x08\n",
		filepath.Join(dbg, "status0_temp"):  "0x40\n",
		filepath.Join(dbg, "status0_cml"):   "0x00\n",
		filepath.Join(dbg, "status1"):       "0x0000\n",
		filepath.Join(dbg, "mfr_id"):        "ACME\n",
		filepath.Join(dbg, "mfr_model"):     "PSU-1600\n",
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sysfs, debugfs
}

func openTree(t *testing.T) (*Device, Config) {
	t.Helper()
	sysfs, debugfs := tree(t)
	cfg, err := Find(sysfs, debugfs, 7, 0x58, "psu0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

func TestFind(t *testing.T) {
	sysfs, debugfs := tree(t)
	cfg, err := Find(sysfs, debugfs, 7, 0x58, "psu0")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(cfg.HwmonDir) != "hwmon3" || cfg.DebugDir != filepath.Join(debugfs, "pmbus", "hwmon3") {
		t.Errorf("cfg = %+v", cfg)
	}
	_, err = Find(sysfs, debugfs, 7, 0x59, "psu1")
	if !errors.Is(err, adapters.ErrNoDevice) || !strings.Contains(err.Error(), "psu1") || !strings.Contains(err.Error(), "7-0059") {
		t.Errorf("missing device: %v", err)
	}
	if _, err := Open(Config{Name: "psu9", HwmonDir: filepath.Join(sysfs, "nope")}); !errors.Is(err, adapters.ErrNoDevice) {
		t.Errorf("Open missing dir: %v", err)
	}
}

func TestTelemetryThroughPMBusDevice(t *testing.T) {
	ctx := context.Background()
	d, _ := openTree(t)
	p := pmbus.NewDevice("psu0", d)
	tests := []struct {
		name string
		read func(context.Context) (float64, error)
		want float64
		tol  float64
	}{
		{"vin", p.ReadVin, 230.125, 0.25}, // LINEAR11 keeps 10 bits: 0.25 V steps at 230 V
		{"iin", p.ReadIin, 0.5, 0},
		{"vout", p.ReadVout, 12, 0},
		{"iout", p.ReadIout, 12, 0},
		{"pin", p.ReadPin, 15, 0},
		{"pout", p.ReadPout, 100, 0},
		{"temperature", p.ReadTemperature, -25, 0},
	}
	for _, tt := range tests {
		got, err := tt.read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := got - tt.want; diff > tt.tol || diff < -tt.tol {
			t.Errorf("%s = %v, want %v ± %v", tt.name, got, tt.want, tt.tol)
		}
	}
}

func TestPageSelectsFiles(t *testing.T) {
	ctx := context.Background()
	d, _ := openTree(t)
	p := pmbus.NewDevice("psu0.rail2", d, pmbus.WithPage(1))
	v, err := p.ReadVout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v < 3.299 || v > 3.301 {
		t.Errorf("page 1 vout = %v, want 3.3 (vout2)", v)
	}
	st, err := p.Status(ctx)
	if err != nil || st.Word != 0 {
		t.Errorf("page 1 status = %v, %v", st, err)
	}
	if _, err := p.ReadIout(ctx); !errors.Is(err, adapters.ErrUnsupported) || !strings.Contains(err.Error(), `"iout2"`) {
		t.Errorf("page 1 iout: %v, want ErrUnsupported naming iout2", err)
	}
	if _, err := p.ReadTemperature(ctx); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("page 1 temperature: %v", err)
	}
	if pg, err := d.ReadByteData(ctx, adapters.CmdPage); err != nil || pg != 1 {
		t.Errorf("PAGE = %d, %v", pg, err)
	}
}

func TestStatusFromDebugfs(t *testing.T) {
	ctx := context.Background()
	d, _ := openTree(t)
	st, err := pmbus.NewDevice("psu0", d).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 0x8840: VOUT, POWER_GOOD#, OFF; only STATUS_VOUT is flagged.
	if st.Word != 0x8840 || st.Vout != 0x10 || st.Input != 0 || st.Temperature != 0 {
		t.Errorf("status = %+v", st)
	}
	if st.PowerGood() || !st.Off() {
		t.Errorf("PowerGood=%v Off=%v", st.PowerGood(), st.Off())
	}
	for cmd, want := range map[byte]byte{
		adapters.CmdStatusByte:        0x40,
		adapters.CmdStatusVout:        0x10,
		adapters.CmdStatusInput:       0x08,
		adapters.CmdStatusTemperature: 0x40,
		adapters.CmdStatusCML:         0x00,
		adapters.CmdVoutMode:          VoutMode,
	} {
		if got, err := d.ReadByteData(ctx, cmd); err != nil || got != want {
			t.Errorf("ReadByteData(%s) = 0x%02X, %v; want 0x%02X", adapters.CommandName(cmd), got, err, want)
		}
	}
}

func TestInventory(t *testing.T) {
	ctx := context.Background()
	d, _ := openTree(t)
	p := pmbus.NewDevice("psu0", d)
	if id, err := p.MfrID(ctx); err != nil || id != "ACME" {
		t.Errorf("MfrID = %q, %v", id, err)
	}
	if m, err := p.Model(ctx); err != nil || m != "PSU-1600" {
		t.Errorf("Model = %q, %v", m, err)
	}
	if _, err := p.Serial(ctx); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("Serial without mfr_serial: %v", err)
	}
}

func TestWritesUnsupported(t *testing.T) {
	ctx := context.Background()
	d, _ := openTree(t)
	p := pmbus.NewDevice("psu0", d)
	for name, f := range map[string]func(context.Context) error{"on": p.On, "soft off": p.SoftOff, "clear faults": p.ClearFaults} {
		err := f(ctx)
		var de *adapters.DeviceError
		if !errors.Is(err, adapters.ErrUnsupported) || !errors.As(err, &de) || de.Device != "psu0" {
			t.Errorf("%s: %v, want a DeviceError wrapping ErrUnsupported", name, err)
		}
	}
	if err := d.WriteWord(ctx, 0x21, 1); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("WriteWord: %v", err)
	}
	if _, err := d.ReadWord(ctx, 0x44); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("ReadWord(VOUT_UV_FAULT_LIMIT): %v", err)
	}
}

func TestMalformedAndDriverErrors(t *testing.T) {
	ctx := context.Background()
	d, cfg := openTree(t)
	if err := os.WriteFile(filepath.Join(cfg.DebugDir, "status0"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadWord(ctx, adapters.CmdStatusWord); !errors.Is(err, adapters.ErrProtocol) {
		t.Errorf("garbage status: %v, want ErrProtocol", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.HwmonDir, "in1_input"), []byte("12.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadWord(ctx, adapters.CmdReadVin); !errors.Is(err, adapters.ErrProtocol) {
		t.Errorf("non-integer input: %v, want ErrProtocol", err)
	}
	// A value LINEAR16 at exponent -10 cannot hold (above 64 V).
	if err := os.WriteFile(filepath.Join(cfg.HwmonDir, "in2_input"), []byte("70000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadWord(ctx, adapters.CmdReadVout); !errors.Is(err, adapters.ErrProtocol) {
		t.Errorf("out of range vout: %v", err)
	}
	noDebug, err := Open(Config{Name: "psu0", HwmonDir: cfg.HwmonDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noDebug.ReadWord(ctx, adapters.CmdStatusWord); !errors.Is(err, adapters.ErrUnsupported) ||
		!strings.Contains(err.Error(), "debugfs") {
		t.Errorf("status without debugfs: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadByteData(ctx, adapters.CmdStatusVout); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := noDebug.ReadWord(cctx, adapters.CmdReadVin); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestThermalSensor(t *testing.T) {
	ctx := context.Background()
	_, cfg := openTree(t)
	var s adapters.ThermalSensor = NewThermalSensor("inlet", cfg.HwmonDir, 2)
	if c, err := s.ReadCelsius(ctx); err != nil || c != 41.5 {
		t.Errorf("ReadCelsius = %v, %v; want 41.5", c, err)
	}
	missing := NewThermalSensor("exhaust", cfg.HwmonDir, 7)
	if _, err := missing.ReadCelsius(ctx); !errors.Is(err, adapters.ErrNoDevice) || !strings.Contains(err.Error(), "exhaust") {
		t.Errorf("missing sensor: %v", err)
	}
}
