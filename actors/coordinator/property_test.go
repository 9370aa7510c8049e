package coordinator_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// TestPropertyNoHostRunningWithoutChassisAndEverySagaEnds: for any
// interleaving of requests, injected hardware faults, AC losses, reconciles
// and time, no host component is ever Running while its chassis is not On,
// and every operation reaches its one outcome within bounded virtual time.
func TestPropertyNoHostRunningWithoutChassisAndEverySagaEnds(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		shutdown := rapid.Bool().Draw(rt, "shutdown_hosts")
		powerChassis := rapid.Bool().Draw(rt, "power_chassis")
		r := newRig(t, withPolicy(func(p *coordinator.Policy) {
			if shutdown {
				p.ChassisOff = coordinator.ShutdownHostsFirst
			}
			if powerChassis {
				p.HostOn = coordinator.PowerChassisOn
			}
			p.PowerRestore = coordinator.LastState
			p.MaxConcurrentPowerOns = 2
		}))
		defer r.close()
		hosts := []actors.ID{host0, host1}
		var ops []string
		requests := []func(h actors.ID) coordinator.Request{
			func(actors.ID) coordinator.Request { return chassisOn() },
			func(actors.ID) coordinator.Request {
				return coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis}
			},
			func(actors.ID) coordinator.Request {
				return coordinator.Request{Kind: coordinator.ChassisPowerCycle, Target: chassis}
			},
			hostOn,
			hostOff,
			func(h actors.ID) coordinator.Request {
				return coordinator.Request{Kind: coordinator.HostForceOff, Target: h}
			},
			func(h actors.ID) coordinator.Request {
				return coordinator.Request{Kind: coordinator.HostReset, Target: h, ResetType: machine.RequestPowerCycle}
			},
			func(h actors.ID) coordinator.Request {
				return coordinator.Request{Kind: coordinator.HostReset, Target: h, ResetType: machine.RequestGracefulRestart}
			},
		}
		faults := []func(h string) simhw.Fault{
			func(h string) simhw.Fault { return simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: h} },
			func(h string) simhw.Fault { return simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: h} },
			func(h string) simhw.Fault {
				return simhw.Fault{Kind: simhw.HostPowerGoodDrops, Target: h, After: 3 * time.Second}
			},
			func(h string) simhw.Fault { return simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu" + h} },
		}
		var injected []simhw.Fault
		n := rapid.IntRange(1, 12).Draw(rt, "actions")
		for i := range n {
			h := hosts[rapid.IntRange(0, 1).Draw(rt, fmt.Sprint("host", i))]
			switch rapid.IntRange(0, 5).Draw(rt, fmt.Sprint("action", i)) {
			case 0, 1:
				req := requests[rapid.IntRange(0, len(requests)-1).Draw(rt, fmt.Sprint("request", i))](h)
				req.Queue = rapid.Bool().Draw(rt, fmt.Sprint("queue", i))
				if id, _ := r.co.Submit(ctx, req); id != "" {
					ops = append(ops, id)
				}
			case 2:
				f := faults[rapid.IntRange(0, len(faults)-1).Draw(rt, fmt.Sprint("fault", i))](h.Name())
				r.inject(f)
				injected = append(injected, f)
			case 3:
				for _, f := range injected {
					r.clear(f.Kind, f.Target)
				}
				injected = nil
			case 4:
				lost := rapid.Bool().Draw(rt, fmt.Sprint("ac", i))
				for _, p := range []string{"psu0", "psu1"} {
					if lost {
						r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
					} else if err := r.p.Clear(simhw.PSUVinUV, p); err != nil {
						continue
					}
				}
				r.settle()
				_ = r.co.Reconcile(ctx)
			case 5:
				r.advance(time.Duration(rapid.IntRange(1, 600).Draw(rt, fmt.Sprint("seconds", i))) * time.Second)
			}
		}
		// Bounded: the longest saga is a chassis cycle shutting two hosts
		// down through the whole ladder, well under an hour.
		for _, id := range ops {
			res := r.wait(id, time.Hour)
			if res.Outcome == "" {
				rt.Fatalf("operation %s without an outcome", id)
			}
		}
		checkInvariant(t, r.log)
	})
}
