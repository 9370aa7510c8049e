package coordinator_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/platform"
)

// standbyPlatform is the default platform with a stable host state
// Standby, entered from Off on a standby_entered observation, whose power
// is power.
func standbyPlatform(t *testing.T, power string) *platform.Platform {
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
}
`
	p, err := platform.Parse("standby.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A host in a state the platform added is powered, or off, to the
// coordinator as its power says, whatever its name: with power on it
// keeps its chassis on under the reject policy (admission and the
// hosts_off fact); with power off it does not.
func TestAddedHostStateIsPoweredByItsPower(t *testing.T) {
	for _, tt := range []struct {
		power   string
		powered bool
	}{{"on", true}, {"off", false}} {
		t.Run(tt.power, func(t *testing.T) {
			r := newRigOn(t, standbyPlatform(t, tt.power))
			r.must(chassisOn())
			if _, err := r.sys.Request(ctx, host1, machine.Input{Kind: machine.KindObservation, Trigger: "standby_entered"}); err != nil {
				t.Fatal(err)
			}
			if st := r.state(host1); st != "Standby" {
				t.Fatalf("host.1 is %s, want Standby", st)
			}
			statuses := map[actors.ID]machine.Status{}
			for _, id := range []actors.ID{bmc, chassis, host0, host1} {
				v, err := r.sys.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				statuses[id] = v.Status
			}
			if f := coordinator.Facts(r.cfg.Topology, statuses, chassis, false); f["hosts_off"] == tt.powered {
				t.Errorf("hosts_off = %t with host.1 in Standby (power %s)", f["hosts_off"], tt.power)
			}
			res, err := r.do(coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis})
			var e *coordinator.HostsNotOffError
			if !tt.powered {
				if err != nil || res.Outcome != saga.Succeeded || r.p.ChassisPowerGood() {
					t.Fatalf("chassis off with host.1 in Standby (power off) = %+v, %v", res, err)
				}
				return
			}
			if !errors.As(err, &e) || !slices.Equal(e.Hosts, []actors.ID{host1}) || !slices.Equal(e.States, []string{"Standby"}) || res.Outcome != saga.Rejected {
				t.Fatalf("chassis off with host.1 in Standby (power on) = %+v, %v; want HostsNotOffError naming host.1", res, err)
			}
			if !r.p.ChassisPowerGood() {
				t.Fatal("a rejected chassis power off changed the hardware")
			}
		})
	}
}
