package server_test

import (
	"slices"
	"testing"

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
