package devices

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// Power good never rising, or a press that never reaches the host: the
// host machine times out to Error.
func TestFaultHostPowerGoodNeverRises(t *testing.T) {
	for _, kind := range []simhw.FaultKind{simhw.HostPowerGoodNeverRises, simhw.ButtonStuckDeasserted} {
		t.Run(string(kind), func(t *testing.T) {
			r := newRig(t, options{})
			r.powerChassis()
			r.inject(simhw.Fault{Kind: kind, Target: "0"})
			r.request(host0, machine.RequestOn)
			r.advance(12 * time.Second)
			r.wantState(host0, machine.StateTransitioningToRunning)
			r.advance(2 * time.Second)
			st := r.wantState(host0, machine.StateError)
			if !strings.Contains(st.Cause, "timeout in TransitioningToRunning") || r.sim.HostPowered("0") {
				t.Fatalf("cause %q, powered %v", st.Cause, r.sim.HostPowered("0"))
			}
		})
	}
}

// Power good dropping while Running takes the host to Off, with the edge
// as the cause.
func TestFaultHostPowerGoodDrops(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.inject(simhw.Fault{Kind: simhw.HostPowerGoodDrops, Target: "0", After: 2 * time.Second})
	r.advance(3 * time.Second)
	st := r.wantState(host0, machine.StateOff)
	if !strings.Contains(st.Cause, "PS_PWROK deasserted with no request from statemgr") {
		t.Fatalf("cause %q", st.Cause)
	}
}

// Each PSU fault reaches the chassis as a psu_fault observation naming the
// STATUS bits; the other PSU keeps the chassis On.
func TestFaultPSUStatusBits(t *testing.T) {
	cases := []struct {
		kind simhw.FaultKind
		flag string
	}{
		{simhw.PSUVinUV, "INPUT.VIN_UV_FAULT"},
		{simhw.PSUVoutOV, "VOUT.OV_FAULT"},
		{simhw.PSUIoutOC, "IOUT.OC_FAULT"},
		{simhw.PSUOverTemp, "TEMPERATURE.OT_FAULT"},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			r := newRig(t, options{})
			r.powerChassis()
			r.inject(simhw.Fault{Kind: c.kind, Target: "psu0"})
			r.advance(2 * time.Second)
			r.wantCause(chassis, ObservedPSUFault, "psu0 reports", c.flag)
			r.wantState(chassis, machine.StateOn)
			if st := r.status(chassis); st.PowerStatus != machine.PowerStatusGood {
				t.Fatalf("power status %s with one psu faulted of two, want Good", st.PowerStatus)
			}
		})
	}
}

// Input lost on both PSUs: the chassis records BrownOut and loses power
// good, and the host loses power with it.
func TestFaultBrownOutOnEveryPSU(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"})
	r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu1"})
	r.advance(2 * time.Second)
	st := r.wantState(chassis, machine.StateOff)
	if st.PowerStatus != machine.PowerStatusBrownOut {
		t.Fatalf("power status %s, want BrownOut", st.PowerStatus)
	}
	r.wantCause(chassis, machine.ObservedPowerGoodDeasserted, "chassis power good lost with no sequence from statemgr", "0 of 2 psus have power good")
	r.wantState(host0, machine.StateOff)
	// The hosts were told before the chassis: in the log's global order no
	// host is ever up under a chassis that is not On.
	evs, err := r.log.ReadAll(r.ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, e := range evs {
		rec, err := actors.DecodeRecord(e)
		if err != nil {
			continue
		}
		state[e.Stream] = rec.Status.State
		if h := state[string(host0)]; (h == machine.StateRunning || h == machine.StateTransitioningToRunning) && state[string(chassis)] != machine.StateOn {
			t.Fatalf("global seq %d: host.0 %s while chassis.0 is %s", e.GlobalSeq, h, state[string(chassis)])
		}
	}
	r.wantCause(host0, machine.ObservedChassisPowerLost, "chassis power good lost")
}

// A PSU that never reaches power good stops the sequence; the failure is
// reported to the chassis, which then times out to Error.
func TestFaultPSUNeverReachesPowerGood(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu0"})
	r.request(chassis, machine.RequestOn)
	r.advance(time.Second)
	r.wantCause(chassis, ObservedEffectFailed, "sequence_power_on failed", "stopped at psu0", "VOUT.TON_MAX_FAULT")
	if r.psu("psu1").OutputOn {
		t.Fatal("psu1 was switched on after psu0 failed")
	}
	r.advance(15 * time.Second)
	// The timeout takes the chassis to Error and powers it off, which
	// completes with both PSUs off.
	r.wantCause(chassis, "timeout", "timeout in TransitioningToOn")
	st := r.wantState(chassis, machine.StateOff)
	if st.Cause != "power-off sequence complete: psu1, psu0 off" {
		t.Fatalf("cause %q", st.Cause)
	}
}

// A stuck power button forces the host off and is reported as pressed,
// then stuck.
func TestFaultButtonStuck(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.inject(simhw.Fault{Kind: simhw.ButtonStuckAsserted, Target: "0"})
	r.advance(5 * time.Second)
	r.wantState(host0, machine.StateOff)
	r.wantCause(host0, ObservedButtonPressed, "front-panel power button pressed (POWER_BUTTON asserted)")
	r.wantCause(host0, ObservedButtonStuck, "POWER_BUTTON", "stuck")
}

// An OS ignoring the graceful shutdown: the host times out to Error, the
// machine's hold effect forces it off, and it ends Off.
func TestFaultOSIgnoresShutdown(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"})
	r.request(host0, machine.RequestGracefulShutdown)
	r.advance(299 * time.Second)
	r.wantState(host0, machine.StateTransitioningToOff)
	r.advance(2 * time.Second)
	r.wantState(host0, machine.StateError)
	r.advance(5 * time.Second)
	st := r.wantState(host0, machine.StateOff)
	if hs, _ := r.sim.Host("0"); hs.IgnoredShutdowns != 1 || hs.PowerGood {
		t.Fatalf("simulated host: %+v", hs)
	}
	if !strings.Contains(st.Cause, "hold_power_button(duration=4s)") {
		t.Fatalf("cause %q", st.Cause)
	}
}

// NAKs are retried and the sequence succeeds.
func TestFaultNAKRetried(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0", Count: 2})
	r.powerChassis()
	if causes := r.causes(chassis, ObservedEffectFailed); len(causes) != 0 {
		t.Fatalf("failures reported: %q", causes)
	}
	if !strings.Contains(r.logs.String(), "hardware call succeeded after retries: device=psu0") {
		t.Fatal("the retries were not logged")
	}
}

// A bus timeout that outlasts the retries fails the sequence, reported to
// the chassis with the attempts made; the PSU is reported unreachable.
func TestFaultBusTimeoutExhaustsRetries(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu0"})
	r.request(chassis, machine.RequestOn)
	r.advance(2 * time.Second)
	r.wantCause(chassis, ObservedEffectFailed, "stopped at psu0", "gave up after 4 attempts", "bus transaction timed out")
	r.wantCause(chassis, ObservedPSUUnreachable, "psu0")
	r.advance(15 * time.Second)
	r.wantCause(chassis, "timeout", "timeout in TransitioningToOn")
	// psu0 cannot be switched off either: the chassis stays in Error.
	r.wantState(chassis, machine.StateError)
}

// A line another process holds fails New with a typed error naming the
// host, the role and the line.
func TestFaultLineHeldAtStartup(t *testing.T) {
	clk := clock.NewVirtual(t0)
	plat := platform.Default()
	sim, err := simhw.New(clk, SimConfig(plat, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	if err := sim.Inject(simhw.Fault{Kind: simhw.LineHeld, Target: "PS_PWROK_1"}); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Platform: plat, Clock: clk, Sim: sim})
	if !errors.Is(err, adapters.ErrLineBusy) {
		t.Fatalf("New: %v, want adapters.ErrLineBusy", err)
	}
	var de *Error
	if !errors.As(err, &de) || de.Device != "host 1 power_good (PS_PWROK_1)" || de.Op != "request input line" {
		t.Fatalf("New: %#v", err)
	}
	if !strings.Contains(err.Error(), "stop that process or release the line") {
		t.Fatalf("error %q says nothing about what to do", err)
	}
}

// Thermal runaway raises the zone to warning, then critical, reported
// through OnThermal.
func TestFaultThermalRunaway(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0", Rate: 1})
	r.advance(80 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	var levels []string
	for _, e := range r.thermal {
		if e.Zone == "zone0" {
			levels = append(levels, string(e.Level))
		}
	}
	if strings.Join(levels, ",") != "normal,warning,critical" {
		t.Fatalf("zone0 levels %v, want normal, warning, critical", levels)
	}
	last := r.thermal[len(r.thermal)-1]
	if last.Zone != "zone0" || last.Celsius <= 90 || last.Critical != 90 {
		t.Fatalf("last thermal event %+v", last)
	}
}

// A PSU the platform file names where no device answers (absent at boot):
// New does not hang or fail on it, the startup reconciliation reports it
// as an *UnreachablePSU naming the PSU, its chassis, back-end, bus and
// address and wrapping the bus error, the chassis records psu_unreachable
// with the error as evidence, and the PSU that answers is still read.
func TestAbsentPSUAtStartup(t *testing.T) {
	r := newRig(t, options{noRun: true, prepare: func(r *rig) {
		r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"})
	}})
	current := map[actors.ID]machine.Status{}
	for _, id := range r.sys.IDs() {
		current[id] = r.status(id)
	}
	var drifts []Drift
	var err error
	r.during(func() { drifts, err = r.hw.Reconcile(r.ctx, current) })
	if err != nil {
		t.Fatalf("Reconcile with psu1 absent: %v", err)
	}
	r.run()
	d := findDrift(t, drifts, chassis, ObservedPSUUnreachable)
	var absent *UnreachablePSU
	if !errors.As(d.Err, &absent) {
		t.Fatalf("drift %+v: Err %v, want an *UnreachablePSU", d, d.Err)
	}
	if absent.PSU != "psu1" || absent.Chassis != "0" || absent.Bus != 7 || absent.Address != 0x59 || absent.Backend != platform.BackendSim {
		t.Fatalf("startup report %+v, want psu1 of chassis 0, sim bus 7 address 0x59", absent)
	}
	if !errors.Is(d.Err, adapters.ErrNAK) || !errors.Is(d.Err, ErrRetriesExhausted) {
		t.Fatalf("startup report %v, want the NAK that outlasted the retries", d.Err)
	}
	for _, want := range []string{"psu psu1 of chassis 0", "bus 7 address 0x59", "does not answer", "check that it is seated"} {
		if !strings.Contains(d.Err.Error(), want) {
			t.Errorf("startup report %q does not say %q", d.Err, want)
		}
	}
	r.wantCause(chassis, ObservedPSUUnreachable, "reconciliation at startup", "psu1", "NAK")
	r.during(func() { _, err = r.hw.PSUStatus(r.ctx, "psu0") })
	if err != nil {
		t.Fatalf("psu0 with psu1 absent: %v", err)
	}
}
