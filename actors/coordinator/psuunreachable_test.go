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
