package coordinator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// overheat drives zone0 past its critical limit and lets Reconcile see it.
func (r *rig) overheat() string {
	r.t.Helper()
	r.inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0", Rate: 2})
	r.advance(40 * time.Second) // 25 °C + 80 °C > 90 °C
	if err := r.co.Reconcile(ctx); err != nil {
		r.t.Fatal(err)
	}
	recs := r.records(coordinator.RecEmergency)
	if len(recs) != 1 {
		r.t.Fatalf("emergency records %+v", recs)
	}
	return recs[0].Op
}

func TestThermalEmergencyPreemptsAndFollowsPolicy(t *testing.T) {
	for _, action := range []coordinator.EmergencyAction{coordinator.ForceOff, coordinator.GracefulShutdown, coordinator.IsolateComponent} {
		t.Run(string(action), func(t *testing.T) {
			r := newRig(t, withPolicy(func(p *coordinator.Policy) {
				p.Emergency = map[coordinator.EmergencyKind]coordinator.EmergencyAction{coordinator.ThermalCritical: action}
			}))
			r.running(host0, host1)
			// A graceful off the OS ignores is in flight when the emergency comes.
			r.inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"})
			slow, err := r.co.Submit(ctx, hostOff(host0))
			if err != nil {
				t.Fatal(err)
			}
			r.advance(time.Second)
			id := r.overheat()
			if res := r.wait(slow, time.Minute); res.Outcome != saga.Superseded {
				t.Fatalf("graceful off in flight = %+v, want superseded", res)
			}
			if recs := r.records(coordinator.RecEmergency); len(recs[0].Superseded) != 1 || recs[0].Superseded[0] != slow {
				t.Fatalf("emergency record does not name the superseded operation: %+v", recs[0])
			}
			res := r.wait(id, 10*time.Minute)
			if res.Outcome != saga.Succeeded {
				t.Fatalf("emergency = %+v", res)
			}
			if r.powered("0") {
				t.Fatal("host 0 still powered after the emergency")
			}
			if action == coordinator.IsolateComponent {
				if !r.powered("1") || !r.p.ChassisPowerGood() {
					t.Fatal("isolate_component touched more than the affected host")
				}
			} else if r.powered("1") || r.p.ChassisPowerGood() {
				t.Fatal("the chassis was not powered off after its hosts")
			}
			r.checkAgrees()
			checkInvariant(t, r.log)
		})
	}
}

// TestZonesCriticalTogetherMakeOneEmergency: every zone a reconciliation
// finds critical goes into one operation for the hosts of them all, so
// whether a second emergency runs never depends on how fast the first
// one ended.
func TestZonesCriticalTogetherMakeOneEmergency(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) {
		p.Emergency = map[coordinator.EmergencyKind]coordinator.EmergencyAction{coordinator.ThermalCritical: coordinator.IsolateComponent}
	}))
	r.running(host0, host1)
	for _, z := range []string{"zone0", "zone1"} {
		r.inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: z, Rate: 2})
	}
	r.advance(40 * time.Second)
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	recs := r.records(coordinator.RecEmergency)
	if len(recs) != 1 || len(recs[0].Evidence) != 2 || !strings.Contains(recs[0].Cause, "zone0, zone1") {
		t.Fatalf("emergency records %+v, want one naming both zones", recs)
	}
	if res := r.wait(recs[0].Op, 10*time.Minute); res.Outcome != saga.Succeeded {
		t.Fatalf("emergency = %+v", res)
	}
	if r.powered("0") || r.powered("1") {
		t.Fatal("a host of a critical zone is still powered")
	}
	checkInvariant(t, r.log)
}

func TestEmergencyRefusesOtherRequestsMeanwhile(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) {
		p.Emergency = map[coordinator.EmergencyKind]coordinator.EmergencyAction{coordinator.ThermalCritical: coordinator.GracefulShutdown}
	}))
	r.running(host0)
	id, err := r.co.Emergency(ctx, coordinator.ThermalCritical, "zone0", "test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.co.Submit(ctx, hostOn(host1))
	var busy *coordinator.BusyError
	if !errors.As(err, &busy) || busy.InFlight != id || busy.Kind != coordinator.Emergency {
		t.Fatalf("request during an emergency = %v", err)
	}
	if _, err := r.co.Emergency(ctx, coordinator.ThermalCritical, "nowhere", "x"); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("unknown zone = %v", err)
	}
	r.wait(id, 10*time.Minute)
}

func TestPSUInputLossRecordedWithEvidenceAndSupersedes(t *testing.T) {
	r := newRig(t)
	r.running(host0)
	r.inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"})
	slow, err := r.co.Submit(ctx, hostOff(host0))
	if err != nil {
		t.Fatal(err)
	}
	r.advance(time.Second)
	for _, p := range []string{"psu0", "psu1"} {
		r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
	}
	r.settle()
	if _, err := r.co.Emergency(ctx, coordinator.PSUInputLoss, "", "input monitor: AC lost"); err != nil {
		t.Fatal(err)
	}
	if res := r.wait(slow, time.Minute); res.Outcome != saga.Superseded {
		t.Fatalf("operation in flight = %+v, want superseded", res)
	}
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	recs := r.records(coordinator.RecPowerLoss)
	if len(recs) != 1 || recs[0].States[host0] != machine.StateRunning || len(recs[0].Evidence) != 3 || recs[0].Superseded[0] != slow {
		t.Fatalf("power loss records %+v", recs)
	}
	if r.state(host0) != machine.StateOff || r.state(chassis) != machine.StateOff {
		t.Fatalf("after the loss: host %s chassis %s", r.state(host0), r.state(chassis))
	}
	checkInvariant(t, r.log)
}

func TestAutoRebootBudgetThenQuiesced(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.AutoReboot = true }))
	r.running(host0)
	for i := 1; i <= 3; i++ {
		rebooted, err := r.co.HostCrashed(ctx, host0, false)
		if err != nil || !rebooted {
			t.Fatalf("crash %d: rebooted %t, %v", i, rebooted, err)
		}
		r.advance(time.Second)
		if r.state(host0) != machine.StateRunning {
			t.Fatalf("crash %d: host %s after the reboot", i, r.state(host0))
		}
	}
	if st, _ := r.p.Host("0"); st.Resets != 3 {
		t.Fatalf("resets %d, want 3", st.Resets)
	}
	// The budget survives a restart.
	r.restart()
	rebooted, err := r.co.HostCrashed(ctx, host0, true)
	if err != nil || rebooted {
		t.Fatalf("fourth crash: rebooted %t, %v; want Quiesced", rebooted, err)
	}
	if r.state(host0) != machine.StateQuiesced {
		t.Fatalf("host %s, want Quiesced", r.state(host0))
	}
	if recs := r.records(coordinator.RecBootAttempt); len(recs) != 3 || recs[2].Used != 3 {
		t.Fatalf("boot attempt records %+v", recs)
	}
	// A successful operator power-on resets the budget.
	r.must(coordinator.Request{Kind: coordinator.HostForceOff, Target: host0})
	r.must(hostOn(host0))
	if f, _ := r.co.Facts(ctx, host0); !f["auto_reboot"] {
		t.Fatal("budget not reset by a successful power on")
	}
	if _, err := r.co.HostCrashed(ctx, chassis, false); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("HostCrashed(chassis) = %v", err)
	}
}

// A crash reported for a host that is not running uses no boot attempt:
// the host records it as an ignored observation, with who reported it.
func TestCrashOfAHostNotRunningUsesNoBootAttempt(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.AutoReboot = true }))
	rebooted, out, err := r.co.ReportCrash(ctx, host0, coordinator.Crash{Watchdog: true, Requester: "hostwd", Cause: "watchdog daemon"})
	if err != nil || rebooted {
		t.Fatalf("crash of an Off host: rebooted %t, %v", rebooted, err)
	}
	if len(out.Stored) != 1 || r.state(host0) != machine.StateOff {
		t.Fatalf("host %s, records %+v", r.state(host0), out.Stored)
	}
	rec, err := actors.DecodeRecord(out.Stored[0])
	if err != nil || rec.Event.Type != machine.EventIgnored || rec.Event.Requester != "hostwd" || rec.Event.Cause != "watchdog daemon" {
		t.Fatalf("record %+v, %v", rec.Event, err)
	}
	if recs := r.records(coordinator.RecBootAttempt); len(recs) != 0 {
		t.Fatalf("boot attempts %+v", recs)
	}
}

func TestScheduledTransitionSurvivesRestart(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	at := r.clk.Now().Add(time.Hour)
	sid, err := r.co.Schedule(ctx, at, hostOn(host0))
	if err != nil {
		t.Fatal(err)
	}
	r.advance(30 * time.Minute)
	if r.powered("0") {
		t.Fatal("fired early")
	}
	r.restart()
	r.advance(31 * time.Minute)
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("scheduled power on did not happen after a restart (host %s)", r.state(host0))
	}
	fired := r.records(coordinator.RecScheduleFired)
	if len(fired) != 1 || fired[0].Schedule != sid {
		t.Fatalf("fired records %+v", fired)
	}
	// It fires once: another restart does not repeat it.
	r.must(hostOff(host0))
	r.restart()
	r.advance(time.Hour)
	if r.powered("0") {
		t.Fatal("a fired schedule fired again after a restart")
	}
	if _, err := r.co.Schedule(ctx, at, coordinator.Request{Kind: "nope"}); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("bad scheduled request = %v", err)
	}
}

// AlwaysOn after an AC loss powers the hosts on after the policy's delay;
// the pending transition survives a restart during the delay.
func TestPowerRestoreDelaySurvivesRestart(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) {
		p.PowerRestore = coordinator.AlwaysOn
		p.PowerRestoreDelay = 2 * time.Hour
	}))
	r.running(host0)
	for _, p := range []string{"psu0", "psu1"} {
		r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
	}
	r.settle()
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"psu0", "psu1"} {
		r.clear(simhw.PSUVinUV, p)
	}
	r.settle()
	if err := r.co.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour)
	if r.powered("0") || r.powered("1") {
		t.Fatal("powered on before the restore delay")
	}
	r.restart()
	r.advance(2 * time.Hour)
	if !r.powered("0") || !r.powered("1") || r.state(host0) != machine.StateRunning {
		t.Fatalf("AlwaysOn after the delay: host0 %t host1 %t", r.powered("0"), r.powered("1"))
	}
	var applied []coordinator.Record
	for _, d := range r.records(coordinator.RecAPRDecided) {
		if d.Applied {
			applied = append(applied, d)
		}
	}
	if len(applied) != 1 || len(applied[0].Actions) != 2 || applied[0].Policy != coordinator.AlwaysOn {
		t.Fatalf("applied decisions %+v; want one AlwaysOn powering both hosts", applied)
	}
	checkInvariant(t, r.log)
}
