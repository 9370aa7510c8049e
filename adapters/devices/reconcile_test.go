package devices

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// reconcile runs the startup reconciliation over the recovered statuses,
// then starts the Hardware.
func (r *rig) reconcile() []Drift {
	r.t.Helper()
	current := map[actors.ID]machine.Status{}
	for _, id := range r.sys.IDs() {
		current[id] = r.status(id)
	}
	drifts, err := r.hw.Reconcile(r.ctx, current)
	if err != nil {
		r.t.Fatalf("Reconcile: %v", err)
	}
	r.run()
	return drifts
}

func findDrift(t *testing.T, drifts []Drift, id actors.ID, trigger string) Drift {
	t.Helper()
	for _, d := range drifts {
		if d.Component == id && d.Input.Trigger == trigger {
			return d
		}
	}
	t.Fatalf("no %s drift for %s in %+v", trigger, id, drifts)
	return Drift{}
}

// Hardware on while the log says Off: the chassis and the host are told,
// with the evidence, and reach On and Running; POST complete follows.
func TestReconcileHardwareOnLogOff(t *testing.T) {
	r := newRig(t, options{noRun: true, prepare: func(r *rig) {
		for _, name := range []string{"psu0", "psu1"} {
			bus, err := r.sim.PMBus(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := bus.WriteByteData(r.ctx, adapters.CmdOperation, adapters.OperationOn); err != nil {
				t.Fatal(err)
			}
		}
		r.clk.Advance(time.Second)
		if err := r.sim.PressPowerButton("0", 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		for range 25 {
			r.clk.Advance(time.Second)
			if err := r.sim.Settle(r.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if hs, _ := r.sim.Host("0"); !hs.PowerGood || !hs.PostComplete {
			t.Fatalf("host 0 did not boot before the test: %+v", hs)
		}
	}})
	drifts := r.reconcile()
	d := findDrift(t, drifts, host0, machine.ObservedPowerGoodAsserted)
	if d.Recorded != machine.StateOff || d.Device != "PS_PWROK" || d.Input.Cause != "reconciliation at startup: PS_PWROK asserted while the log says Off" {
		t.Fatalf("host drift %+v", d)
	}
	findDrift(t, drifts, host0, machine.ObservedPostComplete)
	c := findDrift(t, drifts, chassis, machine.ObservedPowerGoodAsserted)
	if !strings.Contains(c.Input.Cause, "2 of 2 psus have power good, 1 required") {
		t.Fatalf("chassis drift %+v", c)
	}
	st := r.wantState(host0, machine.StateRunning)
	if st.BootProgress != machine.BootProgressOSStart {
		t.Fatalf("boot progress %s", st.BootProgress)
	}
	r.wantState(chassis, machine.StateOn)
	if len(drifts) != 3 {
		t.Fatalf("drifts %+v, want the chassis, the host's power good and POST complete", drifts)
	}
}

// recordedOn returns a log in which the chassis is On and host 0 Running,
// as a BMC that went down with them on leaves it.
func recordedOn(t *testing.T, plat *platform.Platform) *memlog.Log {
	t.Helper()
	log := memlog.New()
	sys, err := protoactor.Start(protoactor.Config{Log: log, Snapshots: memsnap.New(), Clock: clock.NewVirtual(t0)}, components(t, plat))
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	for _, id := range []actors.ID{chassis, host0} {
		if _, err := sys.Request(context.Background(), id, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedPowerGoodAsserted}); err != nil {
			t.Fatal(err)
		}
	}
	return log
}

// The log says On and Running, the hardware is off (an AC loss while the
// BMC was down): both are told and go Off; nothing is actuated.
func TestReconcileLogOnHardwareOff(t *testing.T) {
	r := newRig(t, options{noRun: true, log: recordedOn(t, platform.Default())})
	r.wantState(host0, machine.StateRunning)
	drifts := r.reconcile()
	d := findDrift(t, drifts, host0, machine.ObservedPowerGoodDeasserted)
	if d.Input.Cause != "reconciliation at startup: PS_PWROK deasserted while the log says Running" {
		t.Fatalf("host drift %+v", d)
	}
	c := findDrift(t, drifts, chassis, machine.ObservedPowerGoodDeasserted)
	if !strings.Contains(c.Input.Cause, "0 of 2 psus have power good") || !strings.Contains(c.Input.Cause, "while the log says On") {
		t.Fatalf("chassis drift %+v", c)
	}
	r.wantState(host0, machine.StateOff)
	r.wantState(chassis, machine.StateOff)
	if p := r.psu("psu0"); p.Operation != adapters.OperationImmediateOff {
		t.Fatalf("reconciliation actuated psu0: OPERATION 0x%02X", p.Operation)
	}
}

// A PSU fault present at startup is reported to the chassis.
func TestReconcilePSUFaultAtStartup(t *testing.T) {
	r := newRig(t, options{noRun: true, prepare: func(r *rig) {
		r.inject(simhw.Fault{Kind: simhw.PSUVoutOV, Target: "psu1"})
	}})
	drifts := r.reconcile()
	d := findDrift(t, drifts, chassis, ObservedPSUFault)
	if d.Device != "psu1" || !strings.Contains(d.Input.Cause, "reconciliation at startup: psu1 reports STATUS_WORD") ||
		!strings.Contains(d.Input.Cause, "VOUT.OV_FAULT") || !strings.Contains(d.Input.Cause, "while the log says Off") {
		t.Fatalf("drift %+v", d)
	}
	r.wantCause(chassis, ObservedPSUFault, "psu1", "VOUT.OV_FAULT")
	// Reported once: the periodic reconciler and the polls do not repeat it.
	r.advance(11 * time.Second)
	if n := len(r.causes(chassis, ObservedPSUFault)); n != 1 {
		t.Fatalf("%d psu_fault records, want 1", n)
	}
}

// Nothing differs: no drift, no observation beyond the power status.
func TestReconcileNoDrift(t *testing.T) {
	r := newRig(t, options{noRun: true})
	if drifts := r.reconcile(); len(drifts) != 0 {
		t.Fatalf("drifts %+v", drifts)
	}
	if st := r.status(chassis); st.PowerStatus != machine.PowerStatusGood {
		t.Fatalf("power status %s, want Good", st.PowerStatus)
	}
}

// The running reconciler catches a component whose log disagrees with the
// hardware without any edge to show it.
func TestPeriodicReconciliation(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	r.powerHost()
	// A false observation (no edge) puts the log out of step.
	if _, err := r.sys.Request(r.ctx, host0, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedPowerGoodDeasserted, Cause: "test: false report"}); err != nil {
		t.Fatal(err)
	}
	r.wantState(host0, machine.StateOff)
	r.advance(10 * time.Second)
	st := r.wantState(host0, machine.StateRunning)
	if st.Cause != "periodic reconciliation: PS_PWROK asserted while the log says Off" {
		t.Fatalf("cause %q", st.Cause)
	}
}

// A person pressing the front-panel button is seen and logged, and the
// host's power-on is attributed to it.
func TestOutsideButtonPress(t *testing.T) {
	r := newRig(t, options{})
	r.powerChassis()
	if err := r.sim.PressPowerButton("0", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Second)
	st := r.wantState(host0, machine.StateRunning)
	if st.Cause != "PS_PWROK asserted after a front-panel power button press (outside statemgr)" {
		t.Fatalf("cause %q", st.Cause)
	}
	r.wantCause(host0, ObservedButtonPressed, "front-panel power button pressed (POWER_BUTTON asserted): a change made outside statemgr")
	if !strings.Contains(r.logs.String(), "observed: component=host.0 trigger=button_pressed") {
		t.Fatal("the press was not logged")
	}
	if len(r.causes(host0, ObservedButtonStuck)) != 0 {
		t.Fatal("a short press was reported stuck")
	}
}

// Effects with no device are reported to their component, never dropped.
func TestUnperformableEffectsAreReported(t *testing.T) {
	r := newRig(t, options{})
	r.request(bmc, machine.RequestGracefulRestart)
	r.wantCause(bmc, ObservedEffectFailed, "reboot_bmc failed", "no BMC reset is configured")
	r.hw.Perform(host0, []machine.Effect{{Name: "start_process", Operation: "op-x"}})
	r.settle()
	r.wantCause(host0, ObservedEffectFailed, "start_process failed", "not a host operation")
}

// The BMC reset hook performs reboot_bmc with its force parameter.
func TestRebootBMCHook(t *testing.T) {
	forced := make(chan bool, 1)
	r := newRig(t, options{config: func(c *Config) {
		c.RebootBMC = func(_ context.Context, force bool) error {
			forced <- force
			return nil
		}
	}})
	r.request(bmc, machine.RequestForceRestart)
	if f := <-forced; !f {
		t.Fatal("ForceRestart rebooted without force")
	}
	if causes := r.causes(bmc, ObservedEffectFailed); len(causes) != 0 {
		t.Fatalf("failures %q", causes)
	}
}

// NMI without an nmi_out line fails with ErrNotWired, reported to the host.
func TestNMINotWired(t *testing.T) {
	src := strings.Replace(string(platform.DefaultSource()), `gpio "nmi_out" {
    line     = "NMI_OUT"
    polarity = "active-high"
  }`, "", 1)
	plat, err := platform.Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if plat.Hosts[0].Lines.NMIOut.Name != "" {
		t.Fatal("the edit did not remove nmi_out")
	}
	clk := clock.NewVirtual(t0)
	hw, err := New(Config{Platform: plat, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hw.Close() })
	obs := &recordingObserver{}
	if err := hw.Run(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	hw.Perform(host0, []machine.Effect{{Name: "nmi"}})
	if err := hw.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := obs.inputs()
	if len(got) != 1 || got[0].Trigger != ObservedEffectFailed || !strings.Contains(got[0].Cause, "host 0 nmi_out: nmi: line not wired") {
		t.Fatalf("observations %+v", got)
	}
}

// A PSU on a bus that does not exist fails New with the device and the bus
// named, and releases what was opened.
func TestNewReportsBackEndErrors(t *testing.T) {
	src := strings.Replace(string(platform.DefaultSource()), `backend = "sim"`, `backend = "smbus"`, 1)
	plat, err := platform.Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Platform: plat, Clock: clock.NewVirtual(t0)})
	var de *Error
	if !errors.As(err, &de) || de.Device != "psu psu0 of chassis 0" || !strings.Contains(de.Op, "/dev/i2c-7 address 0x58") {
		t.Fatalf("New: %v", err)
	}
	if _, err := New(Config{Clock: clock.NewVirtual(t0)}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New without a platform: %v", err)
	}
}

// recordingObserver keeps what it is given; its components are all Off.
type recordingObserver struct {
	mu  sync.Mutex
	got []machine.Input
}

func (o *recordingObserver) Observe(_ context.Context, _ actors.ID, in machine.Input) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, in)
	return nil
}

func (o *recordingObserver) Status(context.Context, actors.ID) (machine.Status, error) {
	return machine.Status{State: machine.StateOff}, nil
}

func (o *recordingObserver) inputs() []machine.Input {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]machine.Input(nil), o.got...)
}

// withStandby is the default platform with a host state Standby added,
// entered on a standby_entered observation, whose power is power.
func withStandby(t *testing.T, power string) *platform.Platform {
	t.Helper()
	src := string(platform.DefaultSource()) + `
machine "host" {
  state "Standby" {
    kind  = "stable"
    power = "` + power + `"
  }
  transition {
    from    = "Off"
    trigger = "standby_entered"
    to      = "Standby"
  }
  transition {
    from    = "Standby"
    trigger = "power_good_deasserted"
    to      = "Off"
  }
  transition {
    from    = "Standby"
    trigger = "power_good_asserted"
    to      = "Running"
  }
}
`
	p, err := platform.Parse("standby.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A host recorded in a state the platform added is reconciled by that
// state's power, not its name: Standby with power on and power good off is
// a drift (the host is told and goes Off); with power off it is none.
func TestReconcileAddedStateByItsPower(t *testing.T) {
	for _, tt := range []struct {
		power string
		drift bool
		after string
	}{{"on", true, machine.StateOff}, {"off", false, "Standby"}} {
		t.Run(tt.power, func(t *testing.T) {
			plat := withStandby(t, tt.power)
			log := memlog.New()
			sys, err := protoactor.Start(protoactor.Config{Log: log, Snapshots: memsnap.New(), Clock: clock.NewVirtual(t0)}, components(t, plat))
			if err != nil {
				t.Fatal(err)
			}
			_, err = sys.Request(context.Background(), host0, machine.Input{Kind: machine.KindObservation, Trigger: "standby_entered"})
			sys.Stop()
			if err != nil {
				t.Fatal(err)
			}
			r := newRig(t, options{noRun: true, log: log, platform: plat})
			r.wantState(host0, "Standby")
			drifts := r.reconcile()
			var hostDrifts []Drift
			for _, d := range drifts {
				if d.Component == host0 {
					hostDrifts = append(hostDrifts, d)
				}
			}
			if !tt.drift {
				if len(hostDrifts) != 0 {
					t.Fatalf("Standby (power off) with power good off: drifts %+v, want none", hostDrifts)
				}
			} else {
				d := findDrift(t, drifts, host0, machine.ObservedPowerGoodDeasserted)
				if d.Recorded != "Standby" || d.Input.Cause != "reconciliation at startup: PS_PWROK deasserted while the log says Standby" {
					t.Fatalf("host drift %+v", d)
				}
			}
			r.wantState(host0, tt.after)
		})
	}
}
