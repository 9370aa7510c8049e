package gpiocdev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/internal/kerneltest"
)

// TestGPIOSim exercises the real character device against the kernel's
// gpio-sim. It runs as root wherever the driver is loaded and configfs
// mounted:
//
//	modprobe gpio-sim
//	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
//	go test -run TestGPIOSim -v ./adapters/gpiocdev/
//
// and skips saying exactly what is missing otherwise. The test binary runs
// on its own (cross-built with GOARCH=arm GOARM=7 go test -c), for a board:
//
//	./gpiocdev.test -test.run TestGPIOSim -test.v [-kernel.require]
//
// -kernel.require makes a missing driver a failure.

const configfs = "/sys/kernel/config/gpio-sim"

// simChip is a live gpio-sim chip with named lines.
type simChip struct {
	dir, chip, dev string
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func newSimChip(t *testing.T, names ...string) *simChip {
	t.Helper()
	if why := gpioSimMissing(kerneltest.System); why != "" {
		kerneltest.Unavailable(t, why)
	}
	if os.Geteuid() != 0 {
		kerneltest.Unavailable(t, "creating gpio-sim chips through configfs needs root")
	}
	dir := filepath.Join(configfs, fmt.Sprintf("statemgr-test-%d", os.Getpid()))
	bank := filepath.Join(dir, "gpio-bank0")
	if err := os.MkdirAll(bank, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bank, "num_lines"), fmt.Sprint(len(names)))
	for i, n := range names {
		l := filepath.Join(bank, fmt.Sprintf("line%d", i))
		if err := os.Mkdir(l, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(l, "name"), n)
	}
	writeFile(t, filepath.Join(dir, "live"), "1")
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0o644)
		for i := range names {
			_ = os.Remove(filepath.Join(bank, fmt.Sprintf("line%d", i)))
		}
		_ = os.Remove(bank)
		_ = os.Remove(dir)
	})
	return &simChip{dir: dir, chip: readFile(t, filepath.Join(bank, "chip_name")), dev: readFile(t, filepath.Join(dir, "dev_name"))}
}

// gpioSimMissing says precisely why root has no gpio-sim configfs
// directory, or "" when it has one.
func gpioSimMissing(root kerneltest.Root) string {
	at := func(p string) string { return filepath.Join(string(root), p) }
	if _, err := os.Stat(at(configfs)); err == nil {
		return ""
	}
	if _, err := os.Stat(at("sys/bus/gpio")); err != nil {
		return "the kernel has no GPIO subsystem (/sys/bus/gpio missing: built without CONFIG_GPIOLIB); " + root.Module("gpio-sim")
	}
	mounts, _ := os.ReadFile(at("proc/mounts"))
	if !strings.Contains(string(mounts), " /sys/kernel/config configfs ") {
		return "configfs is not mounted on /sys/kernel/config (mount -t configfs none /sys/kernel/config; " + root.Module("configfs") + "); " + root.Module("gpio-sim")
	}
	return fmt.Sprintf("%s missing: %s", configfs, root.Module("gpio-sim"))
}

func (c *simChip) attr(offset int, name string) string {
	return filepath.Join("/sys/devices/platform", c.dev, c.chip, fmt.Sprintf("sim_gpio%d", offset), name)
}

func TestGPIOSim(t *testing.T) {
	sim := newSimChip(t, "SMTEST_POWER_OUT", "SMTEST_PWROK")
	ctx := context.Background()
	g := New(clock.Real{}, "statemgr-test")
	defer g.Close()

	out, err := g.Output(adapters.LineConfig{Name: "SMTEST_POWER_OUT", Polarity: adapters.ActiveLow})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, sim.attr(0, "value")); got != "1" {
		t.Errorf("deasserted active-low output is electrically %s, want 1", got)
	}
	if err := out.Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, sim.attr(0, "value")); got != "0" {
		t.Errorf("asserted active-low output is electrically %s, want 0", got)
	}
	if err := out.Pulse(ctx, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, sim.attr(0, "value")); got != "1" {
		t.Errorf("after a pulse the output is electrically %s, want 1", got)
	}

	edges := make(chan adapters.Edge, 4)
	writeFile(t, sim.attr(1, "pull"), "pull-down")
	in, err := g.Input(adapters.LineConfig{Name: "SMTEST_PWROK", Polarity: adapters.ActiveHigh}, func(e adapters.Edge) { edges <- e })
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sim.attr(1, "pull"), "pull-up")
	for _, want := range []bool{true, false} {
		if !want {
			writeFile(t, sim.attr(1, "pull"), "pull-down")
		}
		select {
		case e := <-edges:
			if e.Line != "SMTEST_PWROK" || e.Asserted != want {
				t.Errorf("edge %+v, want asserted=%v", e, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no edge (want asserted=%v)", want)
		}
	}
	if v, err := in.Read(ctx); err != nil || v {
		t.Errorf("Read = %v, %v; want deasserted", v, err)
	}

	other := New(clock.Real{}, "someone-else")
	defer other.Close()
	_, err = other.Output(adapters.LineConfig{Name: "SMTEST_POWER_OUT", Polarity: adapters.ActiveLow})
	if !errors.Is(err, adapters.ErrLineBusy) || !strings.Contains(err.Error(), `"statemgr-test"`) {
		t.Errorf("second request: %v, want ErrLineBusy naming statemgr-test", err)
	}
}

// The skip names what is missing, from the subsystem to the module.
func TestGPIOSimMissingSaysWhat(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) { t.Helper(); kerneltest.Root(root).Write(t, p, s) }
	write("proc/sys/kernel/osrelease", "6.12.0\n")
	if why := gpioSimMissing(kerneltest.Root(root)); !strings.Contains(why, "CONFIG_GPIOLIB") || !strings.Contains(why, "cannot load modules") {
		t.Errorf("no gpiolib, no modules: %q", why)
	}
	write("sys/bus/gpio/devices/gpiochip0/name", "")
	write("proc/modules", "")
	write("lib/modules/6.12.0/modules.dep", "kernel/fs/configfs/configfs.ko.xz:\n")
	write("proc/mounts", "sysfs /sys sysfs rw 0 0\n")
	if why := gpioSimMissing(kerneltest.Root(root)); !strings.Contains(why, "configfs is not mounted") || !strings.Contains(why, "modprobe configfs") || !strings.Contains(why, "has no module gpio-sim") {
		t.Errorf("configfs unmounted, no gpio-sim: %q", why)
	}
	write("proc/mounts", "configfs /sys/kernel/config configfs rw 0 0\n")
	write("lib/modules/6.12.0/modules.dep", "kernel/drivers/gpio/gpio-sim.ko.xz: kernel/fs/configfs/configfs.ko.xz\n")
	if why := gpioSimMissing(kerneltest.Root(root)); !strings.Contains(why, "module gpio-sim is not loaded: modprobe gpio-sim") {
		t.Errorf("gpio-sim not loaded: %q", why)
	}
	write("sys/kernel/config/gpio-sim/.keep", "")
	if why := gpioSimMissing(kerneltest.Root(root)); why != "" {
		t.Errorf("with gpio-sim: %q", why)
	}
}
