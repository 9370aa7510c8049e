package leds_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
)

func TestDerive(t *testing.T) {
	cases := []struct {
		name string
		kind platform.LEDKind
		f    leds.Facts
		want leds.Pattern
	}{
		{"power on", platform.LEDPower, leds.Facts{State: "On", Kind: machine.Stable, Power: machine.PowerOn}, leds.On},
		{"power running", platform.LEDPower, leds.Facts{State: "Running", Kind: machine.Stable, Power: machine.PowerOn}, leds.On},
		{"power off", platform.LEDPower, leds.Facts{State: "Off", Kind: machine.Stable, Power: machine.PowerOff}, leds.Off},
		{"power transitioning", platform.LEDPower, leds.Facts{State: "TransitioningToOn", Kind: machine.Transitional, Power: machine.PowerOff}, leds.Blink},
		{"power error", platform.LEDPower, leds.Facts{State: "Error", Kind: machine.ErrorKind, Power: machine.PowerAny}, leds.Off},
		// A platform's added states light the LED by their power, whatever
		// their names.
		{"added state powered", platform.LEDPower, leds.Facts{State: "Standby", Kind: machine.Stable, Power: machine.PowerOn}, leds.On},
		{"added state off", platform.LEDPower, leds.Facts{State: "Standby", Kind: machine.Stable, Power: machine.PowerOff}, leds.Off},
		{"added state any", platform.LEDPower, leds.Facts{State: "Standby", Kind: machine.Stable, Power: machine.PowerAny}, leds.Off},
		{"bmc ready", platform.LEDPower, leds.Facts{State: "Ready", Kind: machine.Stable}, leds.On},
		{"service stopped", platform.LEDPower, leds.Facts{State: "Stopped", Kind: machine.Stable}, leds.Off},
		{"power unknown", platform.LEDPower, leds.Facts{}, leds.Off},
		{"fault clear", platform.LEDFault, leds.Facts{State: "On", Kind: machine.Stable}, leds.Off},
		{"fault", platform.LEDFault, leds.Facts{State: "On", Kind: machine.Stable, Faulty: true}, leds.On},
		{"identify off", platform.LEDIdentify, leds.Facts{State: "On"}, leds.Off},
		{"identify on", platform.LEDIdentify, leds.Facts{State: "On", Identify: true}, leds.Blink},
		{"lamp test lights power off", platform.LEDPower, leds.Facts{State: "Off", LampTest: true}, leds.On},
		{"lamp test lights identify", platform.LEDIdentify, leds.Facts{Identify: true, LampTest: true}, leds.On},
	}
	for _, c := range cases {
		if got := leds.Derive(c.kind, c.f); got != c.want {
			t.Errorf("%s: Derive(%s, %+v) = %s, want %s", c.name, c.kind, c.f, got, c.want)
		}
	}
}

// fakeLEDClass lays out dir like /sys/class/leds/<name> after the timer
// trigger was loaded: brightness, max_brightness, trigger, delay_on,
// delay_off.
func fakeLEDClass(t *testing.T, name string, max string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, v := range map[string]string{"brightness": "0\n", "max_brightness": max, "trigger": "[none] timer heartbeat\n", "delay_on": "0\n", "delay_off": "0\n"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSysfsWriter(t *testing.T) {
	dir := fakeLEDClass(t, "pca955x:blue:identify", "255\n")
	w, err := leds.OpenSysfs(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		p                                      leds.Pattern
		trigger, brightness, delayOn, delayOff string
	}{
		{leds.On, "none", "255", "0\n", "0\n"},
		{leds.Blink, "timer", "255", "500", "500"},
		{leds.Off, "none", "0", "500", "500"},
	}
	for _, s := range steps {
		if err := w.Set(ctx, s.p); err != nil {
			t.Fatalf("Set(%s): %v", s.p, err)
		}
		if got := read(t, dir, "trigger"); got != s.trigger {
			t.Errorf("after %s trigger = %q, want %q", s.p, got, s.trigger)
		}
		if got := read(t, dir, "brightness"); got != s.brightness {
			t.Errorf("after %s brightness = %q, want %q", s.p, got, s.brightness)
		}
		if got := read(t, dir, "delay_on"); got != s.delayOn {
			t.Errorf("after %s delay_on = %q, want %q", s.p, got, s.delayOn)
		}
		if got := read(t, dir, "delay_off"); got != s.delayOff {
			t.Errorf("after %s delay_off = %q, want %q", s.p, got, s.delayOff)
		}
	}
}

func TestSysfsWriterErrors(t *testing.T) {
	_, err := leds.OpenSysfs(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, adapters.ErrNoDevice) || !strings.Contains(err.Error(), "absent") {
		t.Errorf("opening a missing LED: %v, want ErrNoDevice naming it", err)
	}
	// An LED whose kernel has no timer trigger: writing "timer" fails
	// (here: the attribute is missing, as delay_on is until the trigger
	// is set).
	dir := fakeLEDClass(t, "gpio-led", "1")
	if err := os.Remove(filepath.Join(dir, "delay_on")); err != nil {
		t.Fatal(err)
	}
	w, err := leds.OpenSysfs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set(context.Background(), leds.Blink); !errors.Is(err, adapters.ErrNoDevice) || !strings.Contains(err.Error(), "delay_on") {
		t.Errorf("blinking without delay_on: %v, want an error naming delay_on", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "delay_on")); err == nil {
		t.Error("the writer created delay_on; it must only write attributes the kernel has")
	}
}

// rig is a controller over a panel with one host and its chassis.
type rig struct {
	t     *testing.T
	clk   *clock.Virtual
	log   events.Log
	panel *leds.Panel
	c     *leds.Controller
	locs  []platform.LEDLocation
}

func hostLEDs() []platform.LEDLocation {
	return []platform.LEDLocation{
		{ID: "chassis.0", Covers: []actors.ID{"chassis.0", "host.0"}, LEDs: []platform.LED{{Kind: platform.LEDFault, Sysfs: "chassis-fault"}}},
		{ID: "host.0", Covers: []actors.ID{"host.0"}, LEDs: []platform.LED{
			{Kind: platform.LEDPower, Line: adapters.LineConfig{Name: "LED_POWER", Polarity: adapters.ActiveHigh}},
			{Kind: platform.LEDFault, Sysfs: "host0-fault"},
			{Kind: platform.LEDIdentify, Sysfs: "host0-identify"},
		}},
	}
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, clk: clock.NewVirtual(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)), log: memlog.New(), panel: leds.NewPanel(), locs: hostLEDs()}
	r.start()
	return r
}

func (r *rig) start() {
	r.t.Helper()
	c, err := leds.New(context.Background(), leds.Config{Locations: r.locs, Board: r.panel, Log: r.log, Clock: r.clk})
	if err != nil {
		r.t.Fatal(err)
	}
	r.c = c
	r.t.Cleanup(func() { _ = c.Close() })
	r.sync()
}

func (r *rig) restart() {
	r.t.Helper()
	if err := r.c.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.start()
}

func (r *rig) sync() {
	r.t.Helper()
	if err := r.c.Sync(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) want(where string, p leds.Pattern) {
	r.t.Helper()
	if got := r.panel.Shows(where); got != p {
		r.t.Errorf("%s shows %s, want %s", where, got, p)
	}
}

func TestIdentifyForEndsOnTheClockAcrossARestart(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	v, err := r.c.Identify(ctx, "host.0", true, 5*time.Minute, "operator:alice")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Identify || v.IdentifyUntil == nil || !v.IdentifyUntil.Equal(r.clk.Now().Add(5*time.Minute)) {
		t.Fatalf("identify view %+v, want active until now+5m", v)
	}
	r.want("/sys/class/leds/host0-identify", leds.Blink)
	r.clk.Advance(2 * time.Minute)
	r.restart()
	r.want("/sys/class/leds/host0-identify", leds.Blink)
	r.clk.Advance(3 * time.Minute)
	r.sync()
	r.want("/sys/class/leds/host0-identify", leds.Off)
	if loc := r.c.View().Locations[1]; loc.Identify {
		t.Errorf("after 5m host.0 is still identified: %+v", loc)
	}
	// The end is on record: a restart does not light it again.
	r.restart()
	r.want("/sys/class/leds/host0-identify", leds.Off)
	evs, err := r.log.ReadStream(ctx, leds.Stream, 1, 0)
	if err != nil || len(evs) != 2 || evs[1].Cause != "identify timed out" || evs[0].Requester != "operator:alice" {
		t.Fatalf("identify records %+v (%v), want the request and its timeout", evs, err)
	}
}

func TestIdentifyEndedWhileStopped(t *testing.T) {
	r := newRig(t)
	if _, err := r.c.Identify(context.Background(), "host.0", true, time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Close(); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Hour)
	r.start()
	r.want("/sys/class/leds/host0-identify", leds.Off)
}

func TestIdentifyUntilTurnedOff(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.c.Identify(ctx, "host.0", true, 0, ""); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(48 * time.Hour)
	r.restart()
	r.want("/sys/class/leds/host0-identify", leds.Blink)
	if _, err := r.c.Identify(ctx, "host.0", false, 0, ""); err != nil {
		t.Fatal(err)
	}
	r.want("/sys/class/leds/host0-identify", leds.Off)
}

func TestIdentifyRefusals(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.c.Identify(ctx, "chassis.0", true, 0, ""); !errors.Is(err, leds.ErrNoIdentifyLED) {
		t.Errorf("identify of a location without an identify LED: %v", err)
	}
	for _, d := range []time.Duration{-time.Second, 25 * time.Hour} {
		if _, err := r.c.Identify(ctx, "host.0", true, d, ""); !errors.Is(err, leds.ErrBadDuration) {
			t.Errorf("identify for %v: %v, want ErrBadDuration", d, err)
		}
	}
	if _, err := r.c.Identify(ctx, "host.0", false, time.Minute, ""); !errors.Is(err, leds.ErrBadDuration) {
		t.Errorf("identify off for a minute: %v, want ErrBadDuration", err)
	}
	if _, err := r.c.LampTest(ctx, time.Hour); !errors.Is(err, leds.ErrBadDuration) {
		t.Errorf("lamp test for an hour: %v, want ErrBadDuration", err)
	}
}

func TestLampTest(t *testing.T) {
	r := newRig(t)
	r.c.Observe("host.0", "Off", machine.Stable, machine.PowerOff, 0)
	r.sync()
	if _, err := r.c.LampTest(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"gpio LED_POWER", "/sys/class/leds/host0-fault", "/sys/class/leds/host0-identify", "/sys/class/leds/chassis-fault"} {
		r.want(w, leds.On)
	}
	r.clk.Advance(leds.DefaultLampTest)
	r.sync()
	for _, w := range []string{"gpio LED_POWER", "/sys/class/leds/host0-fault", "/sys/class/leds/host0-identify", "/sys/class/leds/chassis-fault"} {
		r.want(w, leds.Off)
	}
}

func TestFailedWriteIsRetriedAndReported(t *testing.T) {
	r := newRig(t)
	broken := errors.New("i2c NAK")
	r.panel.FailSet("/sys/class/leds/host0-fault", broken)
	r.c.Observe("host.0", "Error", machine.ErrorKind, machine.PowerAny, 0)
	r.sync()
	r.want("/sys/class/leds/host0-fault", leds.Off)
	r.want("/sys/class/leds/chassis-fault", leds.On)
	if led := r.c.View().Locations[1].LEDs[1]; led.Error != broken.Error() || led.Shows != leds.Off {
		t.Errorf("failing LED reported as %+v", led)
	}
	r.panel.FailSet("/sys/class/leds/host0-fault", nil)
	r.c.Observe("host.0", "Error", machine.ErrorKind, machine.PowerAny, 1)
	r.sync()
	r.want("/sys/class/leds/host0-fault", leds.On)
	if led := r.c.View().Locations[1].LEDs[1]; led.Error != "" {
		t.Errorf("repaired LED still reports %q", led.Error)
	}
}

func TestOpenFailureNamesTheLED(t *testing.T) {
	panel := leds.NewPanel()
	panel.FailOpen("/sys/class/leds/host0-identify", adapters.ErrNoDevice)
	_, err := leds.New(context.Background(), leds.Config{Locations: hostLEDs(), Board: panel, Log: memlog.New(), Clock: clock.Real{}})
	if !errors.Is(err, leds.ErrOpen) || !errors.Is(err, adapters.ErrNoDevice) || !strings.Contains(err.Error(), "host.0 led identify") {
		t.Errorf("New with an LED that cannot be opened: %v", err)
	}
}
