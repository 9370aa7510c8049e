package devices

import (
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// The chassis powers its PSUs on in the configured order, each waiting for
// power good, and off in reverse; host 0 then powers on through a button
// pulse, reaches Running on the power good edge and records POST complete.
func TestPowerOnSequenceAndHostBoot(t *testing.T) {
	r := newRig(t, options{})
	r.request(chassis, machine.RequestOn)
	r.wantState(chassis, machine.StateTransitioningToOn)
	if p0, p1 := r.psu("psu0"), r.psu("psu1"); !p0.OutputOn || p1.OutputOn {
		t.Fatalf("first step of the sequence: psu0 output on %v, psu1 %v; want psu0 alone", p0.OutputOn, p1.OutputOn)
	}
	r.advance(300 * time.Millisecond)
	if p0, p1 := r.psu("psu0"), r.psu("psu1"); !p0.PowerGood || !p1.OutputOn || p1.PowerGood {
		t.Fatalf("second step: psu0 power good %v, psu1 on %v good %v; want psu0 good and psu1 ramping", p0.PowerGood, p1.OutputOn, p1.PowerGood)
	}
	r.wantState(chassis, machine.StateTransitioningToOn)
	r.advance(300 * time.Millisecond)
	st := r.wantState(chassis, machine.StateOn)
	if !strings.Contains(st.Cause, "power-on sequence complete: psu0, psu1 power good") || !r.sim.ChassisPowerGood() {
		t.Fatalf("chassis On with cause %q, chassis power good %v", st.Cause, r.sim.ChassisPowerGood())
	}
	if st.PowerStatus != machine.PowerStatusGood {
		t.Errorf("power status %s, want Good", st.PowerStatus)
	}

	r.request(host0, machine.RequestOn)
	r.wantState(host0, machine.StateTransitioningToRunning)
	r.advance(time.Second)
	st = r.wantState(host0, machine.StateRunning)
	if !r.sim.HostPowered("0") || !strings.Contains(st.Cause, "PS_PWROK asserted after press_power_button(duration=200ms)") {
		t.Fatalf("host Running with cause %q, powered %v", st.Cause, r.sim.HostPowered("0"))
	}
	r.advance(20 * time.Second)
	if st := r.status(host0); st.BootProgress != machine.BootProgressOSStart {
		t.Fatalf("boot progress %s after POST complete, want OSStart", st.BootProgress)
	}
	r.wantCause(host0, machine.ObservedPostComplete, "POST_COMPLETE asserted")

	// Hosts off first, then the chassis: reverse order.
	r.request(host0, machine.RequestForceOff)
	r.advance(5 * time.Second)
	r.wantState(host0, machine.StateOff)
	r.request(chassis, machine.RequestOff)
	if p0, p1 := r.psu("psu0"), r.psu("psu1"); p1.Operation != adapters.OperationSoftOff || p0.Operation != adapters.OperationOn {
		t.Fatalf("first step of power off: psu0 OPERATION 0x%02X, psu1 0x%02X; want psu1 off first", p0.Operation, p1.Operation)
	}
	r.advance(time.Second)
	r.wantState(chassis, machine.StateOff)
	if r.sim.ChassisPowerGood() {
		t.Fatal("chassis power good after the power-off sequence")
	}
}

func TestGracefulShutdown(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.request(host0, machine.RequestGracefulShutdown)
	r.wantState(host0, machine.StateTransitioningToOff)
	r.advance(300 * time.Millisecond)
	if hs, _ := r.sim.Host("0"); hs.Power != simhw.PowerShuttingDown {
		t.Fatalf("simulated host is %s after the press, want shutting-down", hs.Power)
	}
	r.advance(10 * time.Second)
	st := r.wantState(host0, machine.StateOff)
	if !strings.Contains(st.Cause, "PS_PWROK deasserted after press_power_button") {
		t.Fatalf("cause %q", st.Cause)
	}
}

func TestForceOffHoldsTheButton(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.request(host0, machine.RequestForceOff)
	r.advance(3900 * time.Millisecond)
	if hs, _ := r.sim.Host("0"); !hs.ButtonAsserted || !hs.PowerGood {
		t.Fatalf("3.9 s into the hold: button asserted %v, power good %v; want held and still on", hs.ButtonAsserted, hs.PowerGood)
	}
	r.advance(200 * time.Millisecond)
	st := r.wantState(host0, machine.StateOff)
	if hs, _ := r.sim.Host("0"); hs.ButtonAsserted || hs.PowerGood {
		t.Fatalf("after the hold: button asserted %v, power good %v", hs.ButtonAsserted, hs.PowerGood)
	}
	if !strings.Contains(st.Cause, "hold_power_button(duration=4s)") {
		t.Fatalf("cause %q", st.Cause)
	}
}

// A host power cycle holds the button, waits out the off time of the
// press's delay parameter, then presses it again.
func TestHostPowerCycle(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	r.request(host0, machine.RequestPowerCycle)
	r.advance(4100 * time.Millisecond)
	r.wantState(host0, machine.StateTransitioningToRunning)
	r.advance(4 * time.Second)
	if r.sim.HostPowered("0") {
		t.Fatal("host powered before the cycle's off time")
	}
	r.advance(2 * time.Second)
	st := r.wantState(host0, machine.StateRunning)
	if !strings.Contains(st.Cause, "PS_PWROK asserted after press_power_button(duration=200ms)") {
		t.Fatalf("cause %q", st.Cause)
	}
}

// A chassis power cycle runs the power-off sequence, then the power-on
// sequence after the off time.
func TestChassisPowerCycle(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.request(chassis, machine.RequestPowerCycle)
	r.advance(time.Second)
	r.wantState(chassis, machine.StateTransitioningToOn)
	if r.sim.ChassisPowerGood() {
		t.Fatal("chassis power good during the cycle's off time")
	}
	r.advance(5 * time.Second)
	st := r.wantState(chassis, machine.StateOn)
	if st.Cause != "power-on sequence complete: psu0, psu1 power good" || !r.sim.ChassisPowerGood() {
		t.Fatalf("cause %q, chassis power good %v", st.Cause, r.sim.ChassisPowerGood())
	}
}

// Perform performs every effect it is given, whatever its operation id
// looks like: which effects reach it is the component shell's decision
// (machine.Effect.PerformedBy, protoactor), never the spelling of an id.
func TestPerformIgnoresTheOperationsSpelling(t *testing.T) {
	r := newRig(t, options{})
	r.hw.Perform(chassis, []machine.Effect{{Name: "sequence_power_on", Operation: "op-000001/0"}})
	r.advance(time.Second)
	if st := r.psu("psu0"); !st.OutputOn {
		t.Fatalf("psu0 not switched on by an effect handed to the devices: %+v", st)
	}
}

// The PSU and thermal polls run at the platform file's periods (issue 16
// item 3): each poll wakes the daemon, so a board sets them as long as its
// hardware allows.
func TestPollsRunAtThePlatformPeriods(t *testing.T) {
	r := newRig(t, options{
		prepare: func(r *rig) { r.plat.Polls = platform.Polls{PSU: 5 * time.Second, Thermal: 3 * time.Second} },
		config:  func(c *Config) { c.PollInterval = 0 },
	})
	r.hw.track.mu.Lock()
	due := map[time.Duration]int{}
	for _, at := range r.hw.track.waiters {
		due[at.Sub(t0)]++
	}
	r.hw.track.mu.Unlock()
	psus, zones := len(r.plat.Chassis[0].PSUs), len(r.plat.Thermal)
	if due[5*time.Second] != psus || due[3*time.Second] != zones || due[time.Second] != 0 {
		t.Fatalf("waits due after %v, want %d PSU polls at 5s and %d zone polls at 3s", due, psus, zones)
	}
	// The override still wins, for tests that poll fast.
	r2 := newRig(t, options{config: func(c *Config) { c.PollInterval = 300 * time.Millisecond }})
	if psu, thermal := r2.hw.pollPeriods(); psu != 300*time.Millisecond || thermal != 300*time.Millisecond {
		t.Errorf("with PollInterval 300ms: polls every %v and %v", psu, thermal)
	}
}
