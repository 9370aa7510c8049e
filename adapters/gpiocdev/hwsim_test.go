//go:build hwsim

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
)

// This file exercises the real character device against the kernel's
// gpio-sim. Run as root on a kernel with CONFIG_GPIO_SIM and configfs
// mounted: modprobe gpio-sim && go test -tags hwsim ./adapters/gpiocdev/

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
	if os.Geteuid() != 0 {
		t.Skip("gpio-sim test skipped: needs root to create chips through configfs")
	}
	if _, err := os.Stat(configfs); err != nil {
		t.Skipf("gpio-sim test skipped: %s not found (needs CONFIG_GPIO_SIM, `modprobe gpio-sim` and configfs mounted on /sys/kernel/config)", configfs)
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
