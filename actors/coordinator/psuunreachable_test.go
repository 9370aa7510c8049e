package coordinator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// doDriven is do for a request whose admission itself waits on the clock
// (a PSU read retrying on a silent bus): Submit runs while the clock moves.
func (r *rig) doDriven(req coordinator.Request) (coordinator.Result, error) {
	r.t.Helper()
	var id string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		id, err = r.co.Submit(ctx, req)
	}()
	submitted := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for !submitted() {
		r.driveUntil(time.Second, submitted)
	}
	if id == "" {
		return coordinator.Result{}, err
	}
	return r.wait(id, 30*time.Minute), err
}

// TestUnreadablePSUNeverBlocksPowerOff: with a PSU silent on its bus, a
// graceful off, a force-off and a chassis power-off are admitted and a
// host's off and force-off succeed (they need no PSU read); a power-on is
// refused by the psu_unreachable interlock naming the PSU, which no
// operator may override; once the PSU answers again, power-on is admitted.
// Before, every one of them was refused: "cannot read the components and
// hardware to check interlocks".
func TestUnreadablePSUNeverBlocksPowerOff(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	r.must(hostOn(host0))
	r.must(hostOn(host1))
	r.inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu1"})

	if res, err := r.doDriven(hostOff(host0)); err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("graceful off with psu1 silent = %+v, %v; want it done", res, err)
	}
	force := coordinator.Request{Kind: coordinator.HostForceOff, Target: host1, Requester: "user:alice"}
	if res, err := r.doDriven(force); err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("force-off with psu1 silent = %+v, %v; want it done", res, err)
	}

	res, err := r.doDriven(hostOn(host0))
	var il *coordinator.InterlockError
	if !errors.As(err, &il) || il.Interlock != coordinator.InterlockPSUUnreachable || res.Outcome != saga.Rejected {
		t.Fatalf("host on with psu1 silent = %+v, %v; want refused by %s", res, err, coordinator.InterlockPSUUnreachable)
	}
	if !strings.Contains(il.Reason, "psu1 cannot be read") || !strings.Contains(il.Reason, "bus transaction timed out") || !strings.Contains(il.Clears, "answers on its bus again") {
		t.Fatalf("refusal %q (clears %q): want psu1 named with its error", il.Reason, il.Clears)
	}
	if coordinator.Overridable(coordinator.InterlockPSUUnreachable) {
		t.Fatal("psu_unreachable must not be overridable")
	}
	req := hostOn(host0)
	req.Override, req.Role, req.Requester = []coordinator.Interlock{coordinator.InterlockPSUUnreachable}, coordinator.RoleOperator, "operator:carol"
	var oe *coordinator.OverrideError
	if _, err := r.doDriven(req); !errors.As(err, &oe) || oe.Interlock != coordinator.InterlockPSUUnreachable {
		t.Fatalf("operator override of psu_unreachable = %v, want an OverrideError", err)
	}

	r.clear(simhw.BusTimeout, "psu1")
	if res, err := r.doDriven(hostOn(host0)); err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("host on once psu1 answers = %+v, %v", res, err)
	}

	// A chassis power-off is admitted and acts: the silent PSU cannot be
	// switched off, so the operation fails with an alert naming it, a
	// standing alert until acknowledged.
	r.must(hostOff(host0))
	r.inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu1"})
	off := coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis, Requester: "user:alice"}
	res, err = r.doDriven(off)
	if err != nil || res.Op == "" || res.Outcome == saga.Rejected {
		t.Fatalf("chassis power-off with psu1 silent = %+v, %v; want it admitted", res, err)
	}
	t.Logf("chassis power-off with psu1 silent: %s: %s / %s", res.Outcome, res.Reason, res.Alert)
	if !strings.Contains(res.Reason+res.Alert, "psu1") {
		t.Fatalf("chassis power-off outcome %+v does not name psu1", res)
	}
	alerts, err := r.co.Alerts()
	if err != nil || len(alerts) != 1 || alerts[0].Op != res.Op {
		t.Fatalf("standing alerts %+v, %v; want the power-off's", alerts, err)
	}
}

// reconcileDriven runs Reconcile while the clock moves (a silent PSU's
// reads retry on it).
func (r *rig) reconcileDriven() {
	r.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.co.Reconcile(ctx) // incomplete while a PSU is silent
	}()
	for finished := false; !finished; {
		finished = r.driveUntil(time.Second, func() bool {
			select {
			case <-done:
				return true
			default:
				return false
			}
		})
	}
}

// TestSilentPSURaisesAStandingAlert: a PSU that stops answering raises
// one standing alert (PSUAlerts) naming it, its chassis and the bus
// error, recorded in the coordinator's stream before it is visible; it
// stands across reads and a restart of the daemon while the PSU is
// silent, and clears, recorded, when the PSU answers again. Before, the
// only trace was the refusal of each power-on.
func TestSilentPSURaisesAStandingAlert(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	r.reconcileDriven()
	if alerts, err := r.co.PSUAlerts(); err != nil || len(alerts) != 0 {
		t.Fatalf("PSU alerts with every PSU answering = %+v, %v", alerts, err)
	}
	r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"})
	silentAt := r.clk.Now()
	r.reconcileDriven()
	alerts, err := r.co.PSUAlerts()
	if err != nil || len(alerts) != 1 {
		t.Fatalf("PSU alerts with psu1 silent = %+v, %v; want one", alerts, err)
	}
	a := alerts[0]
	if a.PSU != "psu1" || a.Chassis != chassis || a.Since.Before(silentAt) || !strings.Contains(a.Cause, "psu1 does not answer") || !strings.Contains(a.Cause, "NAK") {
		t.Fatalf("PSU alert %+v: want psu1 of %s since %s with the NAK as cause", a, chassis, silentAt)
	}
	raised := r.records(coordinator.RecPSUUnreachable)
	if len(raised) != 1 || raised[0].PSU != "psu1" || raised[0].Cause != a.Cause {
		t.Fatalf("psu_unreachable records %+v; want the alert's, once", raised)
	}

	r.reconcileDriven() // still silent: the alert stands, nothing new is recorded
	r.stop()
	booted := make(chan struct{})
	go func() { defer close(booted); r.boot() }() // Start reads the PSUs: retries on the clock
	for waiting := true; waiting; {
		select {
		case <-booted:
			waiting = false
		case <-time.After(time.Millisecond):
			r.clk.Advance(50 * time.Millisecond)
		}
	}
	r.ready()
	if again, err := r.co.PSUAlerts(); err != nil || len(again) != 1 || again[0] != a {
		t.Fatalf("PSU alerts after a restart with psu1 silent = %+v, %v; want %+v", again, err, a)
	}
	if n := len(r.records(coordinator.RecPSUUnreachable)); n != 1 {
		t.Fatalf("%d psu_unreachable records after more reads and a restart, want 1", n)
	}

	r.clear(simhw.BusNAK, "psu1")
	r.reconcileDriven()
	if alerts, err := r.co.PSUAlerts(); err != nil || len(alerts) != 0 {
		t.Fatalf("PSU alerts once psu1 answers = %+v, %v; want none", alerts, err)
	}
	if cleared := r.records(coordinator.RecPSUAnswers); len(cleared) != 1 || cleared[0].PSU != "psu1" {
		t.Fatalf("psu_answers records %+v; want psu1's", cleared)
	}
}
