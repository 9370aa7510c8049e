package coordinator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// TestInterlocksAndOverrides checks each interlock's refusal (typed, naming
// the interlock and what clears it) and its override: refused without the
// operator role, refused for the interlocks that cannot be overridden,
// accepted and logged with the requester otherwise.
func TestInterlocksAndOverrides(t *testing.T) {
	cases := []struct {
		il          coordinator.Interlock
		setup       func(r *rig)
		overridable bool
		clears      string
	}{
		{coordinator.InterlockThermal, func(r *rig) {
			r.inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0", Rate: 1})
			r.advance(60 * time.Second) // 25 °C -> past the 75 °C warning, below 90 °C critical
			r.clear(simhw.ThermalRunaway, "zone0")
		}, true, "cool below"},
		{coordinator.InterlockHealth, func(r *rig) {
			r.inject(simhw.Fault{Kind: simhw.PSUIoutOC, Target: "psu1"})
			r.settle()
			r.clear(simhw.PSUIoutOC, "psu1") // the latched fault stays until cleared
		}, true, "PSUs report no faults"},
		{coordinator.InterlockBMCNotReady, func(r *rig) {
			if _, err := r.sys.Request(ctx, bmc, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedBooted, Value: machine.RebootCauseSoftware}); err != nil {
				t.Fatal(err)
			}
		}, true, "services ready"},
		{coordinator.InterlockFirmwareUpdate, func(r *rig) {
			if _, err := r.sys.Request(ctx, bmc, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedUpdateStarted}); err != nil {
				t.Fatal(err)
			}
		}, false, "update finishes"},
		{coordinator.InterlockMaintenance, func(r *rig) {
			r.must(coordinator.Request{Kind: coordinator.BMCEnterMaintenance})
		}, true, "exits maintenance"},
		{coordinator.InterlockPowerDependency, func(r *rig) {
			r.must(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
		}, false, "powered on"},
	}
	for _, tc := range cases {
		t.Run(string(tc.il), func(t *testing.T) {
			r := newRig(t)
			r.must(chassisOn())
			tc.setup(r)
			res, err := r.do(hostOn(host0))
			var il *coordinator.InterlockError
			if !errors.As(err, &il) || il.Interlock != tc.il || !strings.Contains(il.Clears, tc.clears) || res.Outcome != saga.Rejected || res.Op == "" {
				t.Fatalf("host on = %+v, %v; want rejected by %s (clears: %q)", res, err, tc.il, tc.clears)
			}
			if !errors.Is(err, coordinator.ErrInterlock) {
				t.Fatalf("%v does not wrap ErrInterlock", err)
			}
			req := hostOn(host0)
			req.Override = []coordinator.Interlock{tc.il}
			if _, err := r.do(req); !errors.Is(err, coordinator.ErrOverrideDenied) {
				t.Fatalf("override by a user = %v, want ErrOverrideDenied", err)
			}
			req.Role, req.Requester = coordinator.RoleOperator, "operator:carol"
			res, err = r.do(req)
			if !tc.overridable {
				var oe *coordinator.OverrideError
				if !errors.As(err, &oe) || oe.Interlock != tc.il {
					t.Fatalf("override of %s = %+v, %v; want an OverrideError", tc.il, res, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("operator override of %s: %v", tc.il, err)
			}
			if tc.il != coordinator.InterlockBMCNotReady && tc.il != coordinator.InterlockMaintenance && res.Outcome != saga.Succeeded {
				t.Fatalf("overridden power on = %+v", res)
			}
			recs := r.records(coordinator.RecOverride)
			if len(recs) != 1 || recs[0].Interlock != tc.il || recs[0].Requester != "operator:carol" || recs[0].Op != res.Op {
				t.Fatalf("override records %+v", recs)
			}
		})
	}
}

func TestConflictsAndIdempotency(t *testing.T) {
	r := newRig(t)
	r.must(chassisOn())
	first, err := r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostPowerOn, Target: host0, IdempotencyKey: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostGracefulOff, Target: host0})
	var busy *coordinator.BusyError
	if !errors.As(err, &busy) || busy.InFlight != first || busy.Component != host0 || !strings.Contains(err.Error(), first) {
		t.Fatalf("conflicting request = %v, want busy naming %s", err, first)
	}
	queued, err := r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostGracefulOff, Target: host0, Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostPowerOn, Target: host0, IdempotencyKey: "req-1"})
	if err != nil || again != first {
		t.Fatalf("same idempotency key = %s, %v; want %s", again, err, first)
	}
	if res := r.wait(first, time.Minute); res.Outcome != saga.Succeeded {
		t.Fatalf("first = %+v", res)
	}
	if res := r.wait(queued, 10*time.Minute); res.Outcome != saga.Succeeded || r.powered("0") {
		t.Fatalf("queued graceful off = %+v, powered %t", res, r.powered("0"))
	}
	// The key survives a restart, with the first outcome.
	r.restart()
	again, err = r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostPowerOn, Target: host0, IdempotencyKey: "req-1"})
	if err != nil || again != first {
		t.Fatalf("same key after restart = %s, %v", again, err)
	}
	if res := r.wait(again, time.Second); res.Outcome != saga.Succeeded {
		t.Fatalf("first outcome after restart = %+v", res)
	}
	if r.powered("0") {
		t.Fatal("a repeated request acted again")
	}
	if _, err := r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostPowerOn, Target: chassis}); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("host power on of a chassis = %v", err)
	}
	if _, err := r.co.Submit(ctx, coordinator.Request{Kind: coordinator.HostReset, Target: host0, ResetType: "Explode"}); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("bad reset type = %v", err)
	}
	if _, err := r.co.Submit(ctx, coordinator.Request{Kind: "launch", Target: host0}); !errors.Is(err, coordinator.ErrInvalidRequest) {
		t.Fatalf("unknown kind = %v", err)
	}
}

func TestFactsFromComponentStates(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.AutoReboot = true }))
	f, err := r.co.Facts(ctx, host0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"chassis_on": false, "bmc_ready": true, "hosts_off": true, "firmware_update_in_progress": false, "auto_reboot": true, "power_status_good": true}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("fact %s = %t, want %t", k, f[k], v)
		}
	}
	r.must(chassisOn())
	r.must(hostOn(host1))
	if f, _ = r.co.Facts(ctx, host0); !f["chassis_on"] || f["hosts_off"] {
		t.Fatalf("facts after power on: %v", f)
	}
}

// A host power-on sent while its chassis is being powered on waits for
// that operation (queue) or is refused busy naming it, not refused for a
// missing power dependency that is on its way.
func TestHostPowerOnDuringChassisPowerOn(t *testing.T) {
	r := newRig(t)
	chassisOp, err := r.co.Submit(ctx, chassisOn())
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.co.Submit(ctx, hostOn(host0))
	var busy *coordinator.BusyError
	if !errors.As(err, &busy) || busy.InFlight != chassisOp || busy.Component != chassis {
		t.Fatalf("host power on during chassis power on = %v, want busy naming %s", err, chassisOp)
	}
	req := hostOn(host0)
	req.Queue = true
	queued, err := r.co.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res := r.wait(queued, time.Minute); res.Outcome != saga.Succeeded || !r.powered("0") {
		t.Fatalf("queued host power on = %+v, powered %t", res, r.powered("0"))
	}
	// With nothing powering the chassis, a missing chassis is the power
	// dependency it always was.
	r.must(coordinator.Request{Kind: coordinator.HostForceOff, Target: host0})
	r.must(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
	var lock *coordinator.InterlockError
	if _, err := r.co.Submit(ctx, hostOn(host0)); !errors.As(err, &lock) || lock.Interlock != coordinator.InterlockPowerDependency {
		t.Fatalf("host power on with the chassis off = %v, want power_dependency", err)
	}
}
