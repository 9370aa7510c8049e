package coordinator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// TestBlockersAgreeWithAdmission: for random component states, interlocks,
// parked failures, operations in flight and policies, the first blocker
// Blockers lists for a request is exactly the refusal admission then
// gives it, and a request with no blocker is admitted.
func TestBlockersAgreeWithAdmission(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rejectHostsOn := rapid.Bool().Draw(rt, "reject_while_hosts_on")
		requireChassis := rapid.Bool().Draw(rt, "require_chassis_on")
		r := newRig(t, withPolicy(func(p *coordinator.Policy) {
			p.ChassisOff = coordinator.ShutdownHostsFirst
			if rejectHostsOn {
				p.ChassisOff = coordinator.RejectWhileHostsOn
			}
			p.HostOn = coordinator.PowerChassisOn
			if requireChassis {
				p.HostOn = coordinator.RequireChassisOn
			}
			p.MaxConcurrentPowerOns = 1
		}))
		defer r.close()
		observe := func(trigger string) {
			if _, err := r.sys.Request(ctx, bmc, machine.Input{Kind: machine.KindObservation, Trigger: trigger, Value: machine.RebootCauseSoftware}); err != nil {
				rt.Fatal(err)
			}
		}
		if rapid.Bool().Draw(rt, "chassis_on") {
			r.must(chassisOn())
			for _, h := range []actors.ID{host0, host1} {
				switch rapid.IntRange(0, 3).Draw(rt, "host "+string(h)) {
				case 1:
					r.must(hostOn(h))
				case 2: // powered, not Running
					r.must(hostOn(h))
					if _, err := r.co.HostCrashed(ctx, h, false); err != nil {
						rt.Fatal(err)
					}
				case 3: // a failed power on, parked with an alert
					r.inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: h.Name()})
					_, _ = r.do(hostOn(h))
					r.clear(simhw.HostPowerGoodNeverRises, h.Name())
				}
			}
		}
		if rapid.Bool().Draw(rt, "psu_fault") {
			r.inject(simhw.Fault{Kind: simhw.PSUIoutOC, Target: "psu1"})
			r.settle()
			r.clear(simhw.PSUIoutOC, "psu1") // latched until cleared
		}
		if rapid.Bool().Draw(rt, "hot") {
			r.inject(simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone1", Rate: 1})
			r.advance(60 * time.Second)
			r.clear(simhw.ThermalRunaway, "zone1")
		}
		switch rapid.IntRange(0, 3).Draw(rt, "bmc") {
		case 1:
			r.must(coordinator.Request{Kind: coordinator.BMCEnterMaintenance})
		case 2:
			observe(machine.ObservedBooted)
		case 3:
			observe(machine.ObservedUpdateStarted)
		}
		for i := range rapid.IntRange(1, 4).Draw(rt, "requests") {
			r.settle()
			all, err := r.co.BlockersNow(ctx)
			if err != nil {
				rt.Fatal(err)
			}
			rb := all[rapid.IntRange(0, len(all)-1).Draw(rt, fmt.Sprint("request", i))]
			req := coordinator.Request{Kind: rb.Kind, Target: rb.Component, ResetType: rb.ResetType, Requester: "user:prop"}
			id, err := r.co.Submit(ctx, req)
			if id == "" {
				rt.Fatalf("%s %s: no operation (%v)", rb.Component, rb.Request, err)
			}
			if len(rb.Blockers) == 0 {
				if err != nil {
					rt.Fatalf("%s %s: no blocker listed, refused %v", rb.Component, rb.Request, err)
				}
				continue
			}
			got, ok := coordinator.BlockerOf(err)
			if !ok || got != rb.Blockers[0] {
				rt.Fatalf("%s %s: first blocker %+v (of %+v), admission's refusal %v", rb.Component, rb.Request, rb.Blockers[0], rb.Blockers, err)
			}
		}
	})
}

// countingHardware counts the PSU reads.
type countingHardware struct {
	coordinator.Hardware
	reads atomic.Int64
}

func (h *countingHardware) PSUStatus(ctx context.Context, psu string) (coordinator.PSUStatus, error) {
	h.reads.Add(1)
	return h.Hardware.PSUStatus(ctx, psu)
}

// TestBlockersReadHardwareOncePerMaxAge: asked many times within
// BlockersMaxAge, Blockers reads each PSU once; once the last read is
// BlockersMaxAge old, the next question reads again.
func TestBlockersReadHardwareOncePerMaxAge(t *testing.T) {
	hw := &countingHardware{}
	r := newRig(t, func(r *rig) {
		hw.Hardware = r.cfg.Hardware
		r.cfg.Hardware = hw
	})
	psus := int64(len(r.cfg.Topology.Chassis[0].PSUs))
	start := r.clk.Now()
	before := hw.reads.Load()
	for i := range 50 {
		if i == 25 {
			r.clk.Set(start.Add(coordinator.BlockersMaxAge - time.Millisecond))
		}
		if _, err := r.co.Blockers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := hw.reads.Load() - before; n != psus {
		t.Fatalf("50 questions within %s read the PSUs %d times, want %d (each once)", coordinator.BlockersMaxAge, n, psus)
	}
	r.clk.Set(start.Add(coordinator.BlockersMaxAge))
	if _, err := r.co.Blockers(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hw.reads.Load() - before; n != 2*psus {
		t.Fatalf("after %s the PSUs were read %d times in all, want %d (a second read)", coordinator.BlockersMaxAge, n, 2*psus)
	}
}

// blockersDriven is Blockers while the clock moves (a silent PSU's reads
// retry on it).
func (r *rig) blockersDriven() []coordinator.RequestBlockers {
	r.t.Helper()
	var out []coordinator.RequestBlockers
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err = r.co.Blockers(ctx)
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
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func blockersOf(all []coordinator.RequestBlockers, id actors.ID, request string) []coordinator.Blocker {
	i := slices.IndexFunc(all, func(rb coordinator.RequestBlockers) bool { return rb.Component == id && rb.Request == request })
	if i < 0 {
		return nil
	}
	return all[i].Blockers
}

func checks(bs []coordinator.Blocker) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Check
	}
	return out
}

// TestBlockersNameASilentPSU: with psu1 silent on its bus, a power on of
// the Off host and a chassis power cycle list psu_unreachable naming
// psu1 (not overridable), the cycle then hosts_not_off for the Running
// host, in admission's order; powering the Running host off is blocked
// by nothing, and its power on is a no-op, blocked by nothing either.
func TestBlockersNameASilentPSU(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) { p.ChassisOff = coordinator.RejectWhileHostsOn }))
	r.must(chassisOn())
	r.must(hostOn(host0))
	r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"})
	r.clk.Set(r.clk.Now().Add(coordinator.BlockersMaxAge))
	all := r.blockersDriven()

	on := blockersOf(all, host1, machine.RequestOn)
	if len(on) != 1 || on[0].Check != string(coordinator.InterlockPSUUnreachable) || on[0].Overridable ||
		!strings.Contains(on[0].Reason, "psu1 cannot be read") || !strings.Contains(on[0].Clears, "answers on its bus again") {
		t.Fatalf("host.1 On blockers %+v: want psu_unreachable naming psu1, not overridable", on)
	}
	cycle := blockersOf(all, chassis, machine.RequestPowerCycle)
	if got := checks(cycle); !slices.Equal(got, []string{string(coordinator.InterlockPSUUnreachable), coordinator.CheckHostsNotOff}) {
		t.Fatalf("chassis PowerCycle blockers %v, want psu_unreachable then hosts_not_off", got)
	}
	if !strings.Contains(cycle[1].Reason, "host.0 is Running") {
		t.Fatalf("hosts_not_off %+v does not name host.0", cycle[1])
	}
	for _, req := range []string{machine.RequestGracefulShutdown, machine.RequestForceOff, machine.RequestOn} {
		if bs := blockersOf(all, host0, req); len(bs) != 0 {
			t.Fatalf("host.0 %s blockers %+v, want none", req, bs)
		}
	}
	if n := len(all); n != 2+3+2*9 {
		t.Fatalf("%d requests listed, want the BMC's 2, the chassis' 3 and 9 per host", n)
	}
}
