package server_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestAllowedFollowsGuardFacts checks that "allowed" in list and get is
// what the server accepts now, evaluated with the guard facts a control
// request gets: it changes when another component does (a chassis powering
// on lets its hosts power on; a host running keeps its chassis on), and a
// listed request is accepted.
func TestAllowedFollowsGuardFacts(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	allowed := func() map[string][]string {
		t.Helper()
		var list server.ComponentList
		if err := cl.Request(ctx, server.SubjectComponentsList, nil, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, c := range list.Components {
			got, err := cl.Get(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Allowed, c.Allowed) {
				t.Errorf("%s: get says allowed %v, list %v", c.ID, got.Allowed, c.Allowed)
			}
			out[c.ID] = c.Allowed
		}
		return out
	}
	expect := func(when string, got map[string][]string, want map[string][]string) {
		t.Helper()
		for id, w := range want {
			if !slices.Equal(got[id], w) {
				t.Errorf("%s: %s allowed %q, want %q", when, id, got[id], w)
			}
		}
	}
	hostOff := []string{"ForceOn", "On", "PushPowerButton"}
	expect("chassis Off", allowed(), map[string][]string{"chassis.0": {"On"}, "host.0": {}, "host.1": {}})

	env.PowerChassis(t, "chassis.0")
	expect("chassis On, hosts Off", allowed(), map[string][]string{"chassis.0": {"Off", "PowerCycle"}, "host.0": hostOff, "host.1": hostOff})

	var reply server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "5s"}, &reply); err != nil {
		t.Fatalf("host.power.on, listed as allowed: %v", err)
	}
	if reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("host.power.on outcome = %+v", reply.Outcome)
	}
	env.WaitPublished(t)
	expect("host.0 Running", allowed(), map[string][]string{"chassis.0": {}, "host.1": hostOff})
}

// TestAllowedLeavesOutWhatAnOperationHolds checks that a status lists no
// request an operation in flight would refuse busy: during a chassis
// power cycle that waits for host.0 to shut down, the chassis is On and
// host.1 Off, so the guards allow host.1 On, but the cycle holds both
// hosts; "allowed" leaves it out and "busy" names the cycle. Once the
// cycle is over, host.1 On is allowed again.
func TestAllowedLeavesOutWhatAnOperationHolds(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Policy: coordinator.Policy{ChassisOff: coordinator.ShutdownHostsFirst}})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", Requester: "test"})
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]server.Component {
		t.Helper()
		var st server.SystemStatus
		if err := cl.Request(ctx, server.SubjectSystemStatus, nil, &st); err != nil {
			t.Fatal(err)
		}
		out := map[string]server.Component{}
		for _, c := range st.Components {
			out[c.ID] = c
		}
		return out
	}
	if h1 := status()["host.1"]; !slices.Contains(h1.Allowed, "On") || len(h1.Busy) != 0 {
		t.Fatalf("before the cycle: host.1 allowed %v, busy %+v; want On allowed", h1.Allowed, h1.Busy)
	}

	var cycle server.ControlReply
	if err := cl.Request(ctx, server.SubjectChassisCycle, server.ControlRequest{ID: "chassis.0"}, &cycle); err != nil {
		t.Fatal(err)
	}
	during := status()
	if ch := during["chassis.0"]; ch.State != "On" {
		t.Fatalf("chassis.0 is %s during the hosts' shutdown, want On", ch.State)
	}
	h1 := during["host.1"]
	if slices.Contains(h1.Allowed, "On") {
		t.Errorf("during %s: host.1 allowed %v lists On, which is refused busy", cycle.Operation, h1.Allowed)
	}
	want := server.BusyRequest{Request: "On", Operation: cycle.Operation, Kind: "chassis_power_cycle", Component: "chassis.0"}
	if !slices.Contains(h1.Busy, want) {
		t.Errorf("during %s: host.1 busy %+v, want %+v among them", cycle.Operation, h1.Busy, want)
	}
	// What busy says is what a request gets.
	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.1"}, &on); !errors.Is(err, server.ErrComponentBusy) {
		t.Errorf("host.1 On during the cycle: %v, want busy", err)
	}

	wctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	if res, err := env.Coordinator.Wait(wctx, cycle.Operation); err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("cycle: %+v, %v", res, err)
	}
	env.WaitPublished(t)
	if h1 := status()["host.1"]; !slices.Contains(h1.Allowed, "On") || len(h1.Busy) != 0 {
		t.Fatalf("after the cycle: host.1 allowed %v, busy %+v; want On allowed", h1.Allowed, h1.Busy)
	}
}
