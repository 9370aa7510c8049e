package simhw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// script drives a platform through a mixed run and returns everything
// observable through the adapters plus the ground truth, as text.
func script(t *testing.T) []string {
	r := newRig(t, simhw.Config{})
	var trace []string
	obs := func(format string, args ...any) { trace = append(trace, fmt.Sprintf(format, args...)) }
	l0, l1 := lines("0"), lines("1")
	for _, l := range []simhw.HostLines{l0, l1} {
		r.watch(l.PowerOK)
		r.watch(l.PostComplete)
		r.watch(l.PowerButton)
	}
	p0, p1, reset0 := r.output(l0.PowerOut), r.output(l1.PowerOut), r.output(l0.ResetOut)
	d0, d1 := r.pmbus("psu0"), r.pmbus("psu1")
	snapshot := func() {
		for _, d := range []adapters.PMBus{d0, d1} {
			obs("status=%04x vout=%04x pout=%04x pin=%04x",
				r.word(d, adapters.CmdStatusWord), r.word(d, adapters.CmdReadVout),
				r.word(d, adapters.CmdReadPout), r.word(d, adapters.CmdReadPin))
		}
		obs("zone0=%.12f zone1=%.12f chassis=%v h0=%+v h1=%+v",
			r.temp("zone0"), r.temp("zone1"), r.p.ChassisPowerGood(), r.host("0"), r.host("1"))
		for _, e := range r.takeEdges() {
			obs("edge %s", e)
		}
	}
	r.writeByte(d0, adapters.CmdOperation, adapters.OperationOn)
	r.writeByte(d1, adapters.CmdOperation, adapters.OperationOn)
	r.advance(150 * time.Millisecond)
	snapshot()
	r.advance(100 * time.Millisecond)
	r.press(p0, 200*time.Millisecond)
	if err := r.p.PressPowerButton("1", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.advance(7 * time.Second)
	snapshot()
	r.advance(20 * time.Second)
	r.press(reset0, 500*time.Millisecond)
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUIoutOC, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	snapshot()
	r.advance(30 * time.Second)
	r.press(p1, 150*time.Millisecond)
	if err := r.p.Inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0", Rate: 0.25}); err != nil {
		t.Fatal(err)
	}
	r.advance(11 * time.Second)
	snapshot()
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Second)
	snapshot()
	return trace
}

func TestDeterminism(t *testing.T) {
	a, b := script(t), script(t)
	if len(a) < 20 {
		t.Fatalf("trace too short to mean anything: %d lines", len(a))
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("runs differ at line %d:\n%s\n%s", i, a[i], b[i])
			}
		}
		t.Fatalf("runs differ in length: %d and %d", len(a), len(b))
	}
}

// With a virtual clock the model's next deadline is visible to a driver
// that steps the clock, and moving past it updates the model (and delivers
// edges) even when nobody calls in.
func TestNextDeadlineDrivesModel(t *testing.T) {
	r := newRig(t, simhw.Config{})
	l := lines("0")
	got := make(chan adapters.Edge, 4)
	if _, err := r.gpio.Input(l.PowerOK, func(e adapters.Edge) { got <- e }); err != nil {
		t.Fatal(err)
	}
	r.chassisOn()
	if err := r.p.PressPowerButton("0", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var steps []time.Duration
	for {
		next, ok := r.clk.NextDeadline()
		if !ok || len(steps) > 10 {
			t.Fatalf("deadlines %v, then %v %v", steps, next, ok)
		}
		steps = append(steps, next.Sub(t0))
		r.clk.Set(next)
		if next.Sub(t0) == 1700*time.Millisecond {
			break // power good; the next deadline is POST complete
		}
		// The model reacts to a deadline asynchronously; a driver lets it
		// catch up before asking for the next one.
		r.settle()
	}
	// Nobody calls into the model: the waker delivers the edge.
	select {
	case e := <-got:
		if !e.Asserted || e.Time.Sub(t0) != 1700*time.Millisecond {
			t.Errorf("edge %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no edge without a call into the model")
	}
	// Press release (1.2 s), force-off check cancelled, power good (1.7 s).
	if want := []time.Duration{1200 * time.Millisecond, 1700 * time.Millisecond}; fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("deadlines %v, want %v", steps, want)
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	def := simhw.DefaultConfig()
	if len(def.PSUs) != 2 || len(def.Hosts) != 2 || len(def.Zones) != 2 {
		t.Fatalf("default platform %d PSUs, %d hosts, %d zones", len(def.PSUs), len(def.Hosts), len(def.Zones))
	}
	if def.Hosts[0].ID != "0" || def.Hosts[1].ID != "1" || def.Hosts[0].Lines.PowerOut.Name != "POWER_OUT" ||
		def.Hosts[1].Lines.PowerOut.Name != "POWER_OUT_1" || def.Hosts[0].Lines.PostComplete.Polarity != adapters.ActiveLow {
		t.Errorf("default hosts %+v", def.Hosts)
	}
	clk := clock.NewVirtual(t0)
	p, err := simhw.New(clk, simhw.Config{Hosts: []simhw.HostConfig{{ID: "blade", Watts: 500}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := p.Config()
	if h := cfg.Hosts[0]; h.Lines.PowerOut.Name != "POWER_OUT_blade" || h.BootDelay != 20*time.Second || h.Watts != 500 {
		t.Errorf("filled host %+v", h)
	}
	if z := cfg.Zones; len(z) != 1 || z[0].Name != "zoneblade" || len(z[0].Hosts) != 1 || z[0].Hosts[0] != "blade" {
		t.Errorf("default zones for custom hosts: %+v", z)
	}
	if len(cfg.PSUs) != 2 || cfg.PSUs[0].VoutMode != 0x17 || cfg.Zones[0].TimeConstant != 2*time.Minute {
		t.Errorf("filled config %+v", cfg)
	}
	bad := []simhw.Config{
		{PSUsRequired: 3},
		{PSUs: []simhw.PSUConfig{{Name: "a"}, {Name: "a"}}},
		{PSUs: []simhw.PSUConfig{{Name: "a", Efficiency: 1.5}}},
		{PSUs: []simhw.PSUConfig{{Name: "a", VoutMode: 0x40}}},
		{PSUs: []simhw.PSUConfig{{Name: "a", VoutVolts: 200}}}, // does not fit LINEAR16 at N=-9
		{Hosts: []simhw.HostConfig{{ID: ""}}},
		{Hosts: []simhw.HostConfig{{ID: "a", Lines: simhw.HostLines{PowerOut: adapters.LineConfig{Name: "X"}, ResetOut: adapters.LineConfig{Name: "X"}}}}},
		{Hosts: []simhw.HostConfig{{ID: "a", Lines: simhw.HostLines{PowerOut: adapters.LineConfig{Polarity: "up"}}}}},
		{Zones: []simhw.ZoneConfig{{Name: "z", Hosts: []string{"nobody"}}}},
		{MinPress: 5 * time.Second},
	}
	for i, c := range bad {
		if _, err := simhw.New(clk, c); !errors.Is(err, simhw.ErrInvalidConfig) {
			t.Errorf("bad config %d: err %v, want ErrInvalidConfig", i, err)
		}
	}
	if _, err := simhw.New(nil, simhw.Config{}); !errors.Is(err, simhw.ErrInvalidConfig) {
		t.Errorf("nil clock: err %v", err)
	}
}

func TestInitiallyOnPSUs(t *testing.T) {
	r := newRig(t, simhw.Config{PSUs: []simhw.PSUConfig{{Name: "psu0", InitiallyOn: true}, {Name: "psu1", InitiallyOn: true}}})
	if !r.p.ChassisPowerGood() {
		t.Error("PSUs initially on: chassis power should be good at once")
	}
	if w := r.word(r.pmbus("psu0"), adapters.CmdStatusWord); w != 0 {
		t.Errorf("STATUS_WORD 0x%04x", w)
	}
}

func TestFaultValidation(t *testing.T) {
	r := newRig(t, simhw.Config{})
	for _, f := range []simhw.Fault{
		{Kind: simhw.PSUVinUV, Target: "0"},
		{Kind: simhw.HostPowerGoodDrops, Target: "psu0"},
		{Kind: simhw.LineHeld, Target: "nope"},
		{Kind: simhw.ThermalRunaway, Target: "psu0"},
	} {
		if err := r.p.Inject(f); !errors.Is(err, simhw.ErrUnknownTarget) {
			t.Errorf("Inject(%+v): err %v, want ErrUnknownTarget", f, err)
		}
	}
	if err := r.p.Inject(simhw.Fault{Kind: "gremlins", Target: "0"}); !errors.Is(err, simhw.ErrInvalidArgument) {
		t.Errorf("unknown kind: err %v", err)
	}
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0", Count: -1}); !errors.Is(err, simhw.ErrInvalidArgument) {
		t.Errorf("negative count: err %v", err)
	}
	if err := r.p.Clear(simhw.BusNAK, "psu0"); err != nil {
		t.Errorf("clearing an inactive fault: %v", err)
	}
	// Stuck asserted and deasserted exclude each other.
	for _, k := range []simhw.FaultKind{simhw.ButtonStuckAsserted, simhw.ButtonStuckDeasserted} {
		if err := r.p.Inject(simhw.Fault{Kind: k, Target: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if f := r.p.Faults(); len(f) != 1 || f[0].Kind != simhw.ButtonStuckDeasserted {
		t.Errorf("Faults() = %+v, want only the last stuck state", f)
	}
	if _, err := r.p.Host("7"); !errors.Is(err, simhw.ErrUnknownTarget) {
		t.Errorf("Host(7): err %v", err)
	}
	if _, err := r.p.PSU("psu7"); !errors.Is(err, simhw.ErrUnknownTarget) {
		t.Errorf("PSU(psu7): err %v", err)
	}
	if r.p.HostPowered("7") {
		t.Error("unknown host reported powered")
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	clk := clock.NewVirtual(t0)
	p, err := simhw.New(clk, simhw.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g := p.GPIO()
	o, err := g.Output(lines("0").PowerOut)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Input(lines("0").PowerOK, func(adapters.Edge) {}); err != nil {
		t.Fatal(err)
	}
	d, err := p.PMBus("psu0")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := o.Set(ctx, true); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("Set after Close: err %v", err)
	}
	if _, err := d.ReadWord(ctx, adapters.CmdStatusWord); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("PMBus after Close: err %v", err)
	}
	if _, err := p.GPIO().Output(lines("1").PowerOut); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("GPIO after Close: err %v", err)
	}
	if clk.Pending() != 0 {
		t.Errorf("%d clock timers left after Close", clk.Pending())
	}
}
