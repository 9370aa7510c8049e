package coordinator_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
)

func TestChassisAndHostPowerOnAndOff(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	if !r.p.ChassisPowerGood() || r.state(chassis) != machine.StateOn {
		t.Fatalf("chassis: power good %t, state %s", r.p.ChassisPowerGood(), r.state(chassis))
	}
	for _, psu := range []string{"psu0", "psu1"} {
		if st, _ := r.p.PSU(psu); !st.PowerGood {
			t.Fatalf("%s not on after chassis power on", psu)
		}
	}
	r.must(hostOn(host0))
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("host 0: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	r.must(hostOff(host0))
	if r.powered("0") || r.state(host0) != machine.StateOff {
		t.Fatalf("host 0 after graceful off: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	r.must(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
	if r.p.ChassisPowerGood() || r.state(chassis) != machine.StateOff {
		t.Fatalf("chassis after power off: power good %t, state %s", r.p.ChassisPowerGood(), r.state(chassis))
	}
	r.checkAgrees()
	checkInvariant(t, r.log)
}

// undoOrder returns the steps whose compensation was issued, in order.
func undoOrder(t *testing.T, r *rig, op string) []string {
	t.Helper()
	st, err := saga.Load(ctx, r.log, op)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := r.log.ReadStream(ctx, saga.Stream(op), 1, 0)
	var out []string
	for _, e := range evs {
		if e.Type == saga.RecCompIssued {
			i := strings.Index(string(e.Payload), `"step":`)
			var n int
			for _, ch := range string(e.Payload)[i+7:] {
				if ch < '0' || ch > '9' {
					break
				}
				n = n*10 + int(ch-'0')
			}
			out = append(out, st.Plan.Steps[n].Name)
		}
	}
	return out
}

func TestChassisPowerOnFailureAtEveryStepCompensatesInReverse(t *testing.T) {
	t.Run("psu0 never reaches power good", func(t *testing.T) {
		r := newRig(t)
		r.inject(simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu0"})
		res, err := r.do(chassisOn())
		if err != nil || res.Outcome != saga.TimedOut || !strings.Contains(res.Reason, "psu psu0 power good") {
			t.Fatalf("chassis on = %+v, %v; want timed_out naming psu0", res, err)
		}
		if got, want := undoOrder(t, r, res.Op), []string{"psu psu0 on", "chassis on request"}; !slices.Equal(got, want) {
			t.Fatalf("compensations %v, want %v", got, want)
		}
		if st, _ := r.p.PSU("psu1"); st.Operation != 0 && st.OutputOn {
			t.Fatalf("psu1 switched on after psu0 failed: %+v", st)
		}
		r.checkAgrees()
	})
	t.Run("psu1 never reaches power good", func(t *testing.T) {
		r := newRig(t)
		r.inject(simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu1"})
		res, err := r.do(chassisOn())
		if err != nil || res.Outcome != saga.TimedOut {
			t.Fatalf("chassis on = %+v, %v", res, err)
		}
		if got, want := undoOrder(t, r, res.Op), []string{"psu psu1 on", "psu psu0 on", "chassis on request"}; !slices.Equal(got, want) {
			t.Fatalf("compensations %v, want %v (reverse order)", got, want)
		}
		if st, _ := r.p.PSU("psu0"); st.OutputOn {
			t.Fatal("psu0 left on after the chassis power on failed")
		}
		if r.state(chassis) != machine.StateOff {
			t.Fatalf("chassis component %s, want Off", r.state(chassis))
		}
		r.checkAgrees()
	})
	t.Run("the chassis refuses the request", func(t *testing.T) {
		r := newRig(t)
		if _, err := r.sys.Request(ctx, chassis, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedPowerStatus, Value: machine.PowerStatusBrownOut}); err != nil {
			t.Fatal(err)
		}
		req := chassisOn()
		req.Role, req.Override = coordinator.RoleOperator, []coordinator.Interlock{coordinator.InterlockHealth}
		res, err := r.do(req)
		if err != nil || res.Outcome != saga.Compensated || !strings.Contains(res.Reason, "power_status_good") {
			t.Fatalf("chassis on = %+v, %v; want compensated by the machine's guard", res, err)
		}
		if r.p.ChassisPowerGood() {
			t.Fatal("PSUs switched on although the first step failed")
		}
	})
}

func TestHostPowerOn(t *testing.T) {
	t.Run("power good never rises: forced off, timed out with cause", func(t *testing.T) {
		r := newRig(t)
		r.must(chassisOn())
		r.inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"})
		res, err := r.do(hostOn(host0))
		if err != nil || res.Outcome != saga.TimedOut || !strings.Contains(res.Reason, "host host.0 power good") {
			t.Fatalf("host on = %+v, %v", res, err)
		}
		if r.state(host0) != machine.StateOff || r.powered("0") {
			t.Fatalf("host after failed power on: %s, powered %t", r.state(host0), r.powered("0"))
		}
		r.checkAgrees()
	})
	t.Run("chassis not On: refused under reject", func(t *testing.T) {
		r := newRig(t)
		_, err := r.do(hostOn(host0))
		var il *coordinator.InterlockError
		if !errors.As(err, &il) || il.Interlock != coordinator.InterlockPowerDependency || !strings.Contains(err.Error(), "chassis_power_on") {
			t.Fatalf("host on with chassis off = %v, want a power_dependency interlock", err)
		}
	})
	t.Run("chassis not On: powered first under power_chassis", func(t *testing.T) {
		r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.HostOn = coordinator.PowerChassisOn }))
		r.must(hostOn(host0))
		if r.state(chassis) != machine.StateOn || r.state(host0) != machine.StateRunning {
			t.Fatalf("chassis %s host %s", r.state(chassis), r.state(host0))
		}
		checkInvariant(t, r.log)
	})
	t.Run("at most MaxConcurrentPowerOns at once", func(t *testing.T) {
		r := newRig(t)
		r.must(chassisOn())
		a, err := r.co.Submit(ctx, hostOn(host0))
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.co.Submit(ctx, hostOn(host1))
		if err != nil {
			t.Fatal(err)
		}
		ra, rb := r.wait(a, time.Minute), r.wait(b, time.Minute)
		if ra.Outcome != saga.Succeeded || rb.Outcome != saga.Succeeded {
			t.Fatalf("%+v %+v", ra, rb)
		}
		first, _ := r.log.ReadStream(ctx, saga.Stream(a), 1, 0)
		second, _ := r.log.ReadStream(ctx, saga.Stream(b), 1, 0)
		if second[0].Time.Before(first[len(first)-1].Time) {
			t.Fatalf("second power-on started at %v before the first ended at %v", second[0].Time, first[len(first)-1].Time)
		}
	})
}

func TestChassisPowerOffPolicies(t *testing.T) {
	t.Run("reject lists the hosts not Off", func(t *testing.T) {
		r := newRig(t)
		r.must(chassisOn())
		r.must(hostOn(host1))
		res, err := r.do(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
		var e *coordinator.HostsNotOffError
		if !errors.As(err, &e) || !slices.Equal(e.Hosts, []actors.ID{host1}) || res.Outcome != saga.Rejected || !strings.Contains(err.Error(), "host.1 (Running)") {
			t.Fatalf("chassis off = %+v, %v", res, err)
		}
		if !r.p.ChassisPowerGood() || !r.powered("1") {
			t.Fatal("a rejected chassis power off changed the hardware")
		}
	})
	t.Run("shutdown_hosts shuts every host down first", func(t *testing.T) {
		r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.ChassisOff = coordinator.ShutdownHostsFirst }))
		r.must(chassisOn())
		r.must(hostOn(host0))
		r.must(hostOn(host1))
		r.inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "1"}) // escalates
		r.must(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
		if r.p.ChassisPowerGood() || r.powered("0") || r.powered("1") {
			t.Fatal("power left on")
		}
		r.checkAgrees()
		checkInvariant(t, r.log)
	})
}

func TestChassisPowerCycle(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.ChassisOff = coordinator.ShutdownHostsFirst }))
	r.must(chassisOn())
	r.must(hostOn(host0))
	start := r.clk.Now()
	res := r.must(coordinator.Request{Kind: coordinator.ChassisPowerCycle, Target: chassis})
	if r.state(chassis) != machine.StateOn || !r.p.ChassisPowerGood() {
		t.Fatalf("chassis after cycle: %s", r.state(chassis))
	}
	if r.state(host0) != machine.StateOff {
		t.Fatalf("host after a chassis cycle: %s, want Off (it was shut down first)", r.state(host0))
	}
	if d := r.clk.Now().Sub(start); d < 5*time.Second {
		t.Fatalf("cycle took %v, less than its off time", d)
	}
	evs, _ := r.log.ReadStream(ctx, string(chassis), 1, 0)
	hist, _ := actors.HistoryOf(evs)
	var path []string
	for _, h := range hist {
		if h.Operation != "" && strings.HasPrefix(h.Operation, res.Op) {
			path = append(path, h.To)
		}
	}
	if !slices.Contains(path, machine.StateTransitioningToOff) || path[len(path)-1] != machine.StateTransitioningToOn {
		t.Fatalf("chassis transitions of the cycle: %v", path)
	}
	checkInvariant(t, r.log)
}

func TestHostResetTypes(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	r.must(hostOn(host0))
	reset := func(typ string) coordinator.Result {
		t.Helper()
		return r.must(coordinator.Request{Kind: coordinator.HostReset, Target: host0, ResetType: typ})
	}
	before, _ := r.p.Host("0")
	reset(machine.RequestForceRestart)
	if st, _ := r.p.Host("0"); st.Resets != before.Resets+1 || r.state(host0) != machine.StateRunning {
		t.Fatalf("ForceRestart: resets %d -> %d, state %s", before.Resets, st.Resets, r.state(host0))
	}
	reset(machine.RequestGracefulRestart)
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("GracefulRestart: powered %t state %s", r.powered("0"), r.state(host0))
	}
	reset(machine.RequestPowerCycle)
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("PowerCycle: powered %t state %s", r.powered("0"), r.state(host0))
	}
	reset(machine.RequestNmi)
	if st, _ := r.p.Host("0"); st.NMIs != 1 || r.state(host0) != machine.StateDiagnosticMode {
		t.Fatalf("Nmi: NMIs %d, state %s", st.NMIs, r.state(host0))
	}
	r.must(coordinator.Request{Kind: coordinator.HostForceOff, Target: host0})
	if r.powered("0") || r.state(host0) != machine.StateOff {
		t.Fatalf("ForceOff: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	reset(machine.RequestPushPowerButton)
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("PushPowerButton from Off: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	reset(machine.RequestPushPowerButton)
	if r.powered("0") || r.state(host0) != machine.StateOff {
		t.Fatalf("PushPowerButton from Running: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	reset(machine.RequestForceOn)
	if !r.powered("0") || r.state(host0) != machine.StateRunning {
		t.Fatalf("ForceOn: powered %t, state %s", r.powered("0"), r.state(host0))
	}
	r.checkAgrees()
	checkInvariant(t, r.log)
}

func TestEscalationLadder(t *testing.T) {
	t.Run("rail off when the button does nothing", func(t *testing.T) {
		r := newRig(t)
		r.must(chassisOn())
		r.must(hostOn(host0))
		r.inject(simhw.Fault{Kind: simhw.ButtonStuckDeasserted, Target: "0"})
		res := r.must(hostOff(host0))
		if r.powered("0") || r.state(host0) != machine.StateOff {
			t.Fatalf("host after ladder: powered %t state %s", r.powered("0"), r.state(host0))
		}
		recs := sagaRecords(t, r.log, res.Op)
		if n := strings.Count(strings.Join(recs, " "), saga.RecStepFailed); n != 2 {
			t.Fatalf("want graceful and override failed before rail off, records %v", recs)
		}
		r.checkAgrees()
		checkInvariant(t, r.log)
	})
	t.Run("exhausted: failed with an alert, never back to Running", func(t *testing.T) {
		r := newRig(t)
		r.must(chassisOn())
		r.must(hostOn(host0))
		r.must(hostOn(host1)) // the rail is shared: cannot cut it
		r.inject(simhw.Fault{Kind: simhw.ButtonStuckDeasserted, Target: "0"})
		res, err := r.do(hostOff(host0))
		if err != nil || res.Outcome != saga.Failed || res.Alert == "" {
			t.Fatalf("host off = %+v, %v; want failed with an alert", res, err)
		}
		r.advance(10 * time.Minute)
		if st := r.state(host0); st != machine.StateError {
			t.Fatalf("host component %s, want Error", st)
		}
		// A parked operation blocks power-ons until acknowledged.
		_, err = r.do(hostOn(host0))
		var il *coordinator.InterlockError
		if !errors.As(err, &il) || il.Interlock != coordinator.InterlockBlockingError {
			t.Fatalf("power on after a parked failure = %v, want blocking_error", err)
		}
		if err := r.co.Acknowledge(ctx, res.Op, "operator:bob", coordinator.RoleUser); !errors.Is(err, coordinator.ErrOverrideDenied) {
			t.Fatalf("acknowledge by a user = %v", err)
		}
		evs, _ := r.log.ReadStream(ctx, string(host0), 1, 0)
		hist, _ := actors.HistoryOf(evs)
		off := slices.IndexFunc(hist, func(h actors.Transition) bool { return h.To == machine.StateTransitioningToOff })
		if slices.ContainsFunc(hist[off:], func(h actors.Transition) bool { return h.To == machine.StateRunning }) {
			t.Fatalf("host went back to Running after the graceful off: %+v", hist[off:])
		}
		// It stands, across a restart, until acknowledged (the restart's
		// reconciliation then finds the host powered: the button is stuck).
		r.restart()
		if alerts, err := r.co.Alerts(); err != nil || len(alerts) != 1 || alerts[0].Op != res.Op || alerts[0].Target != host0 || alerts[0].Alert != res.Alert {
			t.Fatalf("standing alerts after a restart = %+v, %v; want %s's alert on %s", alerts, err, res.Op, host0)
		}
		if err := r.co.Acknowledge(ctx, res.Op, "operator:bob", coordinator.RoleOperator); err != nil {
			t.Fatal(err)
		}
		if alerts, err := r.co.Alerts(); err != nil || len(alerts) != 0 {
			t.Fatalf("standing alerts after the acknowledgement = %+v, %v; want none", alerts, err)
		}
		if recs := r.records(coordinator.RecAcknowledged); len(recs) != 1 || recs[0].Requester != "operator:bob" {
			t.Fatalf("acknowledgements %+v", recs)
		}
		checkInvariant(t, r.log)
	})
}

func TestBMCMaintenance(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	r.must(coordinator.Request{Kind: coordinator.BMCEnterMaintenance, Requester: "operator:bob"})
	if r.state(bmc) != machine.StateMaintenance {
		t.Fatalf("bmc %s", r.state(bmc))
	}
	_, err := r.do(hostOn(host0))
	var il *coordinator.InterlockError
	if !errors.As(err, &il) || il.Interlock != coordinator.InterlockMaintenance {
		t.Fatalf("host on in maintenance = %v", err)
	}
	r.must(coordinator.Request{Kind: coordinator.BMCExitMaintenance})
	// Do submits and waits; on the virtual clock something must drive time.
	done := make(chan struct{})
	var res coordinator.Result
	go func() {
		defer close(done)
		res, err = r.co.Do(ctx, hostOn(host0))
	}()
	finished := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for !r.driveUntil(time.Minute, finished) {
	}
	if err != nil || res.Outcome != saga.Succeeded || r.state(host0) != machine.StateRunning {
		t.Fatalf("Do(host on) after maintenance = %+v, %v", res, err)
	}
}

// A reset type the host's machine refuses where the host stands (a
// GracefulRestart of a host that is Off) fails plainly: nothing was
// applied, so nothing is parked and the next request is taken.
func TestRefusedResetDoesNotParkTheHost(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	res, err := r.do(coordinator.Request{Kind: coordinator.HostReset, Target: host0, ResetType: machine.RequestGracefulRestart})
	if err != nil || res.Outcome != saga.Failed || res.Alert != "" || !strings.Contains(res.Reason, "rejected in state Off") {
		t.Fatalf("GracefulRestart of an Off host = %+v, %v; want failed without an alert", res, err)
	}
	r.must(hostOn(host0))
}
