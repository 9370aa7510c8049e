package simhw_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

func TestThermalHeatsAndCools(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	sensor, err := r.p.Thermal("zone0")
	if err != nil {
		t.Fatal(err)
	}
	read := func() float64 {
		t.Helper()
		c, err := sensor.ReadCelsius(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := read(); c != 25 {
		t.Fatalf("idle zone0 %v, want ambient 25", c)
	}
	r.hostOn(r.output(lines("0").PowerOut)) // power good 500 ms after the press
	// From power good, one time constant (2 min) reaches 1-1/e of the 30 °C rise.
	r.advance(2*time.Minute - time.Second + 500*time.Millisecond)
	if c, want := read(), 25+30*(1-math.Exp(-1)); !near(c, want, 1e-9) {
		t.Errorf("after one time constant: %v, want %v", c, want)
	}
	if c := r.temp("zone1"); c != 25 {
		t.Errorf("zone1 heated by host 0: %v", c)
	}
	r.advance(time.Hour)
	if c := read(); !near(c, 55, 1e-6) {
		t.Errorf("steady state %v, want 55", c)
	}
	if err := r.p.PressPowerButton("0", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	r.advance(4 * time.Second) // forced off at 4 s
	hot := read()
	r.advance(2 * time.Minute)
	if c, want := read(), 25+(hot-25)*math.Exp(-1); !near(c, want, 1e-9) {
		t.Errorf("cooling: %v, want %v", c, want)
	}
}

func TestThermalRunaway(t *testing.T) {
	r := newRig(t, simhw.Config{})
	if err := r.p.Inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone1", Rate: 0.5}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Minute)
	if c := r.temp("zone1"); !near(c, 55, 1e-9) {
		t.Errorf("runaway with no load: %v, want 25 + 0.5·60 = 55", c)
	}
	if err := r.p.Clear(simhw.ThermalRunaway, "zone1"); err != nil {
		t.Fatal(err)
	}
	if c := r.temp("zone1"); !near(c, 55, 1e-9) {
		t.Errorf("clearing must not jump: %v", c)
	}
	r.advance(2 * time.Minute)
	if c, want := r.temp("zone1"), 25+30*math.Exp(-1); !near(c, want, 1e-9) {
		t.Errorf("after runaway: %v, want relaxing to ambient (%v)", c, want)
	}
	if err := r.p.Inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0"}); err != nil {
		t.Fatal(err)
	}
	r.advance(10 * time.Second)
	if c := r.temp("zone0"); !near(c, 35, 1e-9) {
		t.Errorf("default rate: %v, want 25 + 1·10", c)
	}
}

// Reading more or less often must not change the numbers.
func TestThermalIndependentOfSampling(t *testing.T) {
	a, b := newRig(t, simhw.Config{}), newRig(t, simhw.Config{})
	for _, r := range []*rig{a, b} {
		r.chassisOn()
		r.hostOn(r.output(lines("0").PowerOut))
	}
	for range 600 {
		a.advance(100 * time.Millisecond)
		a.temp("zone0")
	}
	b.advance(time.Minute)
	if x, y := a.temp("zone0"), b.temp("zone0"); x != y {
		t.Errorf("sampled every 100 ms: %v; once: %v", x, y)
	}
}

func TestThermalErrors(t *testing.T) {
	r := newRig(t, simhw.Config{})
	if _, err := r.p.Thermal("zone9"); !errors.Is(err, adapters.ErrNoDevice) {
		t.Errorf("unknown zone: err %v", err)
	}
	if _, err := r.p.Temperature("zone9"); !errors.Is(err, simhw.ErrUnknownTarget) {
		t.Errorf("unknown zone: err %v", err)
	}
	s, err := r.p.Thermal("zone0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextCanceled(r)
	defer cancel()
	if _, err := s.ReadCelsius(ctx); !errors.Is(err, errCanceled) {
		t.Errorf("cancelled: err %v", err)
	}
}
