package gpiocdev

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lib "github.com/warthog618/go-gpiocdev"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
)

type fakeLine struct {
	mu      sync.Mutex
	req     request
	value   int
	history []int
	closed  bool
}

func (f *fakeLine) Value() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, lib.ErrClosed
	}
	return f.value, nil
}

func (f *fakeLine) SetValue(v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.req.output {
		return lib.ErrPermissionDenied
	}
	f.value = v
	f.history = append(f.history, v)
	return nil
}

func (f *fakeLine) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeLine) snapshot() (int, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.value, append([]int(nil), f.history...)
}

// fakeDev has two chips; lines are "chip:offset" by name.
type fakeDev struct {
	mu      sync.Mutex
	where   map[string][2]int // name → chip number, offset
	held    map[string]string // name → consumer holding it elsewhere
	muxed   map[string]bool   // name → its pin is muxed to another function (EINVAL)
	granted map[string]*fakeLine
}

func newFakeDev() *fakeDev {
	return &fakeDev{
		where: map[string][2]int{
			"POWER_OUT": {0, 3}, "RESET_OUT": {0, 4}, "PS_PWROK": {1, 0}, "POST_COMPLETE": {1, 7},
		},
		held:    map[string]string{},
		muxed:   map[string]bool{},
		granted: map[string]*fakeLine{},
	}
}

func (d *fakeDev) find(name string) (string, int, error) {
	w, ok := d.where[name]
	if !ok {
		return "", 0, fmt.Errorf("searched 2 chips: %w", adapters.ErrNoLine)
	}
	return fmt.Sprintf("gpiochip%d", w[0]), w[1], nil
}

func (d *fakeDev) nameOf(chip string, offset int) string {
	for name, w := range d.where {
		if fmt.Sprintf("gpiochip%d", w[0]) == chip && w[1] == offset {
			return name
		}
	}
	return ""
}

func (d *fakeDev) request(r request) (requested, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := d.nameOf(r.chip, r.offset)
	if _, ok := d.held[name]; ok {
		return nil, syscall.EBUSY
	}
	if d.muxed[name] {
		return nil, syscall.EINVAL
	}
	l := &fakeLine{req: r}
	d.granted[name] = l
	return l, nil
}

func (d *fakeDev) consumer(chip string, offset int) string { return d.held[d.nameOf(chip, offset)] }

func (d *fakeDev) chips() ([]chipInfo, error) {
	return []chipInfo{{name: "gpiochip0", label: "1e780000.gpio", lines: 208}, {name: "gpiochip1", label: "1e780800.gpio", lines: 36}}, nil
}

func (d *fakeDev) line(name string) *fakeLine {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.granted[name]
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestOutputRequestAndSet(t *testing.T) {
	ctx := context.Background()
	dev := newFakeDev()
	g := newGPIO(clock.NewVirtual(epoch), "statemgr", dev)
	out, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: adapters.ActiveLow})
	if err != nil {
		t.Fatal(err)
	}
	fl := dev.line("POWER_OUT")
	want := request{chip: "gpiochip0", offset: 3, consumer: "statemgr", output: true, activeLow: true}
	if got := fl.req; got.onEvent != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("request = %+v, want %+v", fl.req, want)
	}
	if err := out.Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	if v, err := out.Read(ctx); err != nil || !v {
		t.Errorf("Read = %v, %v; want asserted", v, err)
	}
	if err := out.Set(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, hist := fl.snapshot(); fmt.Sprint(hist) != "[1 0]" {
		t.Errorf("driven values %v, want [1 0]", hist)
	}

	in, err := g.Input(adapters.LineConfig{Name: "PS_PWROK", Polarity: adapters.ActiveHigh}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := dev.line("PS_PWROK").req; r.output || r.activeLow || r.onEvent != nil || r.chip != "gpiochip1" {
		t.Errorf("input request = %+v", r)
	}
	if v, err := in.Read(ctx); err != nil || v {
		t.Errorf("input Read = %v, %v", v, err)
	}
}

// waitPending waits until the virtual clock has n timers, that is until the
// code under test is blocked on it.
func waitPending(t *testing.T, v *clock.Virtual, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for v.Pending() != n {
		if time.Now().After(deadline) {
			t.Fatalf("clock has %d timers, want %d", v.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPulseUsesClock(t *testing.T) {
	clk := clock.NewVirtual(epoch)
	dev := newFakeDev()
	g := newGPIO(clk, "statemgr", dev)
	out, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: adapters.ActiveLow})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- out.Pulse(context.Background(), 200*time.Millisecond) }()
	waitPending(t, clk, 1)
	if v, _ := dev.line("POWER_OUT").snapshot(); v != 1 {
		t.Fatal("line not asserted during the pulse")
	}
	clk.Advance(199 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("pulse ended after 199 ms: %v", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, hist := dev.line("POWER_OUT").snapshot(); v != 0 || fmt.Sprint(hist) != "[1 0]" {
		t.Errorf("after pulse: value %d history %v", v, hist)
	}
}

func TestPulseCancelledDeasserts(t *testing.T) {
	clk := clock.NewVirtual(epoch)
	dev := newFakeDev()
	g := newGPIO(clk, "statemgr", dev)
	out, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: adapters.ActiveLow})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- out.Pulse(ctx, 4*time.Second) }()
	waitPending(t, clk, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if v, _ := dev.line("POWER_OUT").snapshot(); v != 0 {
		t.Error("line left asserted after a cancelled pulse")
	}
	if clk.Pending() != 0 {
		t.Error("timer not stopped")
	}
	if err := out.Pulse(context.Background(), 0); err == nil {
		t.Error("zero-width pulse accepted")
	}
}

func TestEdgesDeliveredAsLogicalLevels(t *testing.T) {
	clk := clock.NewVirtual(epoch)
	dev := newFakeDev()
	g := newGPIO(clk, "statemgr", dev)
	var edges []adapters.Edge
	_, err := g.Input(adapters.LineConfig{Name: "POST_COMPLETE", Polarity: adapters.ActiveLow}, func(e adapters.Edge) {
		edges = append(edges, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := dev.line("POST_COMPLETE").req
	if !r.activeLow || r.onEvent == nil {
		t.Fatalf("request = %+v, want active-low with edge events", r)
	}
	// The kernel reports edges of the logical (active-low applied) value.
	r.onEvent(lib.LineEvent{Offset: 7, Type: lib.LineEventRisingEdge})
	clk.Advance(time.Second)
	r.onEvent(lib.LineEvent{Offset: 7, Type: lib.LineEventFallingEdge})
	want := []adapters.Edge{
		{Line: "POST_COMPLETE", Asserted: true, Time: epoch},
		{Line: "POST_COMPLETE", Asserted: false, Time: epoch.Add(time.Second)},
	}
	if fmt.Sprint(edges) != fmt.Sprint(want) {
		t.Errorf("edges = %v, want %v", edges, want)
	}
}

func TestRequestErrors(t *testing.T) {
	dev := newFakeDev()
	dev.held["RESET_OUT"] = "x86-power-control"
	g := newGPIO(clock.NewVirtual(epoch), "statemgr", dev)

	_, err := g.Output(adapters.LineConfig{Name: "RESET_OUT", Polarity: adapters.ActiveLow})
	var de *adapters.DeviceError
	if !errors.Is(err, adapters.ErrLineBusy) || !errors.As(err, &de) || de.Device != "RESET_OUT" {
		t.Fatalf("busy line: %v", err)
	}
	if !strings.Contains(err.Error(), `held by "x86-power-control"`) || !strings.Contains(err.Error(), "gpiochip0 offset 4") {
		t.Errorf("busy message %q should name the holder and the line's place", err)
	}
	if de.Transient() {
		t.Error("a busy line is not transient")
	}

	if _, err := g.Input(adapters.LineConfig{Name: "NO_SUCH", Polarity: adapters.ActiveHigh}, nil); !errors.Is(err, adapters.ErrNoLine) {
		t.Errorf("unknown line: %v", err)
	}
	if _, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: "low"}); err == nil ||
		!strings.Contains(err.Error(), `"low"`) {
		t.Errorf("bad polarity: %v", err)
	}
}

// TestRequestOfMuxedPinSaysWhy: the AST2600 EVB muxes GPIOA0 to MDIO3, and
// gpio-aspeed answers the line request with EINVAL; the error must say that
// the pin is taken by another function, not a bare "invalid argument"
// (found by the board harness, issue 14).
func TestRequestOfMuxedPinSaysWhy(t *testing.T) {
	dev := newFakeDev()
	dev.muxed["POWER_OUT"] = true
	g := newGPIO(clock.NewVirtual(epoch), "statemgr", dev)
	_, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: adapters.ActiveLow})
	if !errors.Is(err, adapters.ErrLineRefused) || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("muxed pin: %v, want adapters.ErrLineRefused wrapping EINVAL", err)
	}
	for _, want := range []string{"POWER_OUT", "gpiochip0 offset 3", "muxed", "pinctrl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("muxed pin message %q does not mention %q", err, want)
		}
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	ctx := context.Background()
	dev := newFakeDev()
	g := newGPIO(clock.NewVirtual(epoch), "statemgr", dev)
	out, err := g.Output(adapters.LineConfig{Name: "POWER_OUT", Polarity: adapters.ActiveLow})
	if err != nil {
		t.Fatal(err)
	}
	in, err := g.Input(adapters.LineConfig{Name: "PS_PWROK", Polarity: adapters.ActiveHigh}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"POWER_OUT", "PS_PWROK"} {
		if !dev.line(name).closed {
			t.Errorf("%s not released", name)
		}
	}
	if err := out.Set(ctx, true); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("Set after Close: %v, want ErrClosed", err)
	}
	if _, err := g.Output(adapters.LineConfig{Name: "RESET_OUT", Polarity: adapters.ActiveLow}); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("Output after Close: %v, want ErrClosed", err)
	}
}

// A line given by chip and offset (a board whose device tree names no
// lines) is requested on that chip at that offset, the chip named as the
// kernel names it, by its /dev path or by its label; the name search is
// not used. A chip no one has, or an offset past the chip's lines, fails
// with a typed error naming the chips there are.
func TestLineByChipAndOffset(t *testing.T) {
	for _, chip := range []string{"gpiochip1", "/dev/gpiochip1", "1e780800.gpio"} {
		dev := newFakeDev()
		g := newGPIO(clock.NewVirtual(epoch), "statemgr", dev)
		cfg := adapters.LineConfig{Name: adapters.ChipLineName(chip, 7), Polarity: adapters.ActiveLow, Chip: chip, Offset: 7}
		in, err := g.Input(cfg, nil)
		if err != nil {
			t.Fatalf("chip %q offset 7: %v", chip, err)
		}
		// The fake's line at gpiochip1 offset 7 is POST_COMPLETE.
		fl := dev.line("POST_COMPLETE")
		if fl == nil || fl.req.chip != "gpiochip1" || fl.req.offset != 7 || !fl.req.activeLow || fl.req.output {
			t.Fatalf("chip %q offset 7 requested %+v, want gpiochip1 offset 7, active-low input", chip, fl)
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
	}
	g := newGPIO(clock.NewVirtual(epoch), "statemgr", newFakeDev())
	_, err := g.Output(adapters.LineConfig{Name: "gpiochip9:1", Polarity: adapters.ActiveHigh, Chip: "gpiochip9", Offset: 1})
	var de *adapters.DeviceError
	if !errors.Is(err, adapters.ErrNoDevice) || !errors.As(err, &de) || de.Device != "gpiochip9:1" ||
		!strings.Contains(err.Error(), "gpiochip0 (1e780000.gpio, 208 lines)") {
		t.Fatalf("unknown chip: %v; want ErrNoDevice naming the line and listing the chips", err)
	}
	_, err = g.Output(adapters.LineConfig{Name: "gpiochip1:36", Polarity: adapters.ActiveHigh, Chip: "gpiochip1", Offset: 36})
	if !errors.Is(err, adapters.ErrNoLine) || !strings.Contains(err.Error(), "lines 0..35, not offset 36") {
		t.Fatalf("offset past the chip: %v; want ErrNoLine saying the chip's range", err)
	}
}
