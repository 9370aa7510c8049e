package coordinator_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// running powers the chassis and the given hosts on.
func (r *rig) running(hosts ...actors.ID) {
	r.t.Helper()
	r.must(chassisOn())
	for _, h := range hosts {
		r.must(hostOn(h))
	}
}

// acLoss cuts the input of every PSU, lets the coordinator see it, and
// restores it.
func (r *rig) acLoss() {
	r.t.Helper()
	for _, p := range []string{"psu0", "psu1"} {
		r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
	}
	r.settle()
	if err := r.co.Reconcile(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.advance(time.Minute)
	for _, p := range []string{"psu0", "psu1"} {
		r.clear(simhw.PSUVinUV, p)
	}
	r.advance(time.Second)
	if err := r.co.Reconcile(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.advance(10 * time.Minute)
}

func (r *rig) lastDecision() coordinator.Record {
	r.t.Helper()
	recs := r.records(coordinator.RecAPRDecided)
	if len(recs) == 0 {
		r.t.Fatal("no power-restore decision logged")
	}
	return recs[len(recs)-1]
}

// openbmc#3031: a BMC (or daemon) reboot must not apply the power-restore
// policy; only an AC power loss does.
func TestFieldBug_APRNotOnBMCReboot_openbmc3031(t *testing.T) {
	for _, policy := range []coordinator.RestorePolicy{coordinator.AlwaysOff, coordinator.AlwaysOn} {
		t.Run(string(policy), func(t *testing.T) {
			r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.PowerRestore = policy }))
			r.running(host0) // host 1 stays off
			r.restart()
			r.advance(10 * time.Minute)
			if !r.powered("0") || r.powered("1") {
				t.Fatalf("after a BMC reboot under %s: host0 powered %t, host1 powered %t; want unchanged", policy, r.powered("0"), r.powered("1"))
			}
			d := r.lastDecision()
			if d.Applied || !strings.Contains(d.Cause, "no AC power loss") || len(d.Evidence) == 0 {
				t.Fatalf("decision %+v; want not applied, with evidence", d)
			}
			r.checkAgrees()
		})
	}
}

// openbmc#2454: LastState restores the last observed state, not the last
// requested one.
func TestFieldBug_LastStateIsLastObserved_openbmc2454(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.PowerRestore = coordinator.LastState }))
	r.running(host0, host1)
	// Host 0 loses power by itself: requested On, observed Off.
	r.inject(simhw.Fault{Kind: simhw.HostPowerGoodDrops, Target: "0"})
	r.advance(time.Second)
	r.clear(simhw.HostPowerGoodDrops, "0")
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := r.sys.Get(ctx, host0)
	if v.Status.State != machine.StateOff || v.Status.Requested == nil || v.Status.Requested.Name != machine.RequestOn {
		t.Fatalf("host0 %s, requested %+v; want Off with On requested", v.Status.State, v.Status.Requested)
	}
	r.acLoss()
	if r.powered("0") || !r.powered("1") {
		t.Fatalf("after restore: host0 powered %t (last observed Off), host1 powered %t (last observed Running)", r.powered("0"), r.powered("1"))
	}
	d := r.lastDecision()
	if !d.Applied || d.Policy != coordinator.LastState || d.States[host0] != machine.StateOff || d.States[host1] != machine.StateRunning {
		t.Fatalf("decision %+v", d)
	}
	r.checkAgrees()
	checkInvariant(t, r.log)
}

// openbmc#2035: failing to restore persisted state must never become an
// unexpected power-off.
func TestFieldBug_FailedRestoreNoUnexpectedPowerOff_openbmc2035(t *testing.T) {
	t.Run("coordinator log unreadable", func(t *testing.T) {
		r := newRig(t)
		r.running(host0)
		evs, _ := r.log.ReadStream(ctx, coordinator.Stream, 1, 0)
		r.store.Corrupt(evs[0].GlobalSeq)
		r.stop()
		cfg := r.cfg
		cfg.Log = memlogOpen(r)
		sys := r.startSystem(cfg.Log)
		defer sys.Stop()
		cfg.Components = sys
		co, err := coordinator.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := co.Start(ctx); !errors.Is(err, coordinator.ErrRecovery) {
			t.Fatalf("Start over a corrupt log = %v, want ErrRecovery", err)
		}
		r.clk.Advance(10 * time.Minute)
		r.settle2()
		if !r.powered("0") || !r.p.ChassisPowerGood() {
			t.Fatal("a failed recovery powered the host off")
		}
	})
	t.Run("state lost entirely", func(t *testing.T) {
		r := newRig(t)
		r.running(host0)
		r.stop()
		r.store = freshStore()
		r.boot()
		r.ready()
		r.advance(10 * time.Minute)
		if !r.powered("0") {
			t.Fatal("host powered off after the state was lost")
		}
		if err := r.co.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if r.state(chassis) != machine.StateOn || r.state(host0) != machine.StateRunning {
			t.Fatalf("components after reconcile: chassis %s host %s; want the hardware's On/Running", r.state(chassis), r.state(host0))
		}
		checkInvariant(t, r.log)
	})
}

// openbmc#1933: a chassis must never read Off while a host reads Running.
func TestFieldBug_ChassisOffWhileHostRunning_openbmc1933(t *testing.T) {
	r := newRig(t)
	r.running(host0, host1)
	if _, err := r.do(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis}); !errors.Is(err, coordinator.ErrHostsNotOff) {
		t.Fatalf("chassis hard off under running hosts = %v", err)
	}
	// The chassis loses power by itself: hosts are recorded Off first.
	for _, p := range []string{"psu0", "psu1"} {
		r.inject(simhw.Fault{Kind: simhw.PSUOverTemp, Target: p})
	}
	r.settle()
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if r.state(chassis) != machine.StateOff || r.state(host0) != machine.StateOff || r.state(host1) != machine.StateOff {
		t.Fatalf("after chassis power loss: chassis %s, hosts %s %s", r.state(chassis), r.state(host0), r.state(host1))
	}
	checkInvariant(t, r.log)
}

// x86-power-control gives up a timed-out graceful off and reports the host
// on again; ours escalates and never reverts to Running.
func TestFieldBug_GracefulOffTimeoutEscalatesNeverReverts_x86pc(t *testing.T) {
	r := newRig(t)
	r.running(host0)
	r.inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"})
	start := r.clk.Now()
	res := r.must(hostOff(host0))
	if d := r.clk.Now().Sub(start); d < 300*time.Second {
		t.Fatalf("escalated after %v, before the 300 s graceful timeout", d)
	}
	if r.powered("0") || r.state(host0) != machine.StateOff {
		t.Fatalf("host after escalation: powered %t, %s", r.powered("0"), r.state(host0))
	}
	if st, _ := r.p.Host("0"); st.IgnoredShutdowns == 0 {
		t.Fatal("the graceful press was never tried")
	}
	st, err := saga.Load(ctx, r.log, res.Op)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps[1] != saga.StepFailed || st.Steps[2] != saga.StepSucceeded || st.Steps[3] != saga.StepSkipped {
		t.Fatalf("ladder %v: want graceful failed, override succeeded, rail skipped", st.Steps)
	}
	evs, _ := r.log.ReadStream(ctx, string(host0), 1, 0)
	hist, _ := actors.HistoryOf(evs)
	i := slices.IndexFunc(hist, func(h actors.Transition) bool { return h.To == machine.StateTransitioningToOff })
	for _, h := range hist[i:] {
		if h.To == machine.StateRunning {
			t.Fatalf("reverted to Running: %+v", hist[i:])
		}
	}
}

// failingComponents makes every component request and read fail, as when
// the orchestration itself is broken.
type failingComponents struct {
	coordinator.Components
	fail bool
}

func (f *failingComponents) Request(ctx context.Context, id actors.ID, in machine.Input) (*protoactor.Outcome, error) {
	if f.fail {
		return nil, actors.ErrUnavailable
	}
	return f.Components.Request(ctx, id, in)
}

func (f *failingComponents) Get(ctx context.Context, id actors.ID) (*protoactor.View, error) {
	if f.fail {
		return nil, actors.ErrUnavailable
	}
	return f.Components.Get(ctx, id)
}

// openbmc#2657: in an emergency, power-off must happen even when the
// orchestration around it fails.
func TestFieldBug_EmergencyPowerOffMustHappen_openbmc2657(t *testing.T) {
	fc := &failingComponents{}
	r := newRig(t, func(r *rig) {
		r.components = func(c coordinator.Components) coordinator.Components { fc.Components = c; return fc }
	})
	r.running(host0, host1)
	fc.fail = true
	id, err := r.co.Emergency(ctx, coordinator.ThermalCritical, "zone0", "zone0 at 95 °C (test)")
	if err != nil {
		t.Fatal(err)
	}
	res := r.wait(id, 10*time.Minute)
	if r.powered("0") || r.p.ChassisPowerGood() {
		t.Fatalf("emergency %+v left power on: host0 %t chassis %t", res, r.powered("0"), r.p.ChassisPowerGood())
	}
	recs := r.records(coordinator.RecEmergency)
	if len(recs) != 1 || recs[0].Action != coordinator.ForceOff || recs[0].Evidence[0] != "zone0 at 95 °C (test)" {
		t.Fatalf("emergency records %+v", recs)
	}
}

// ibm-openbmc/dev#3595: an operation reports success only once it has
// happened, as read back from the hardware.
func TestFieldBug_SuccessOnlyAfterCompletion_ibm3595(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	id, err := r.co.Submit(ctx, hostOn(host0))
	if err != nil {
		t.Fatal(err)
	}
	if _, done, _ := r.co.Operation(id); done {
		t.Fatal("outcome before anything happened")
	}
	var sawDoneBeforePower bool
	r.driveUntil(time.Minute, func() bool {
		res, done, _ := r.co.Operation(id)
		if done && res.Outcome == saga.Succeeded && !r.powered("0") {
			sawDoneBeforePower = true
		}
		return done
	})
	if sawDoneBeforePower {
		t.Fatal("succeeded before the host had power good")
	}
	// bmclib#211: a reset of a host that is off must not report success.
	r.must(hostOff(host0))
	res, err := r.do(coordinator.Request{Kind: coordinator.HostReset, Target: host0, ResetType: machine.RequestForceRestart})
	if err != nil || res.Outcome == saga.Succeeded {
		t.Fatalf("ForceRestart of an Off host = %+v, %v; want a failure", res, err)
	}
}

// x86-power-control#13, openbmc#2186: AlwaysOff is the default; after an AC
// loss it keeps everything off even when the PSUs restart by themselves,
// and a BMC restart leaves a running host alone.
func TestFieldBug_AlwaysOffSemantics_x86pc13_openbmc2186(t *testing.T) {
	r := newRig(t)
	r.running(host0)
	r.acLoss()
	if r.powered("0") || r.p.ChassisPowerGood() {
		t.Fatalf("AlwaysOff after AC loss: host %t chassis %t", r.powered("0"), r.p.ChassisPowerGood())
	}
	if d := r.lastDecision(); !d.Applied || d.Policy != coordinator.AlwaysOff {
		t.Fatalf("decision %+v; want AlwaysOff applied", d)
	}
	losses := r.records(coordinator.RecPowerLoss)
	if len(losses) != 1 || !strings.Contains(strings.Join(losses[0].Evidence, ";"), "input_lost=true") {
		t.Fatalf("power loss records %+v", losses)
	}
	r.checkAgrees()
	r.running(host0)
	r.restart()
	r.advance(10 * time.Minute)
	if !r.powered("0") {
		t.Fatal("AlwaysOff powered a running host off after a BMC restart")
	}
}
