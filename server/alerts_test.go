package server_test

import (
	"errors"
	"testing"

	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestStandingAlertsAreListed: an operation parked in failure is listed by
// statemgr.alerts.list, to a viewer too, until an operator acknowledges
// it. The page used to learn of alerts only from the last 500 events.
func TestStandingAlertsAreListed(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users})
	ctx := ctxT(t)
	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw")))
	standing := func() server.AlertList {
		t.Helper()
		var list server.AlertList
		if err := viewer.Request(ctx, server.SubjectAlertsList, server.AlertsRequest{}, &list); err != nil {
			t.Fatalf("viewer's alerts.list: %v", err)
		}
		return list
	}
	if list := standing(); len(list.Alerts) != 0 {
		t.Fatalf("standing alerts before any failure: %+v", list)
	}
	env.PowerChassis(t, "chassis.0")
	for _, host := range []string{"host.0", "host.1"} {
		var reply server.ControlReply
		if err := operator.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: host, Wait: "30s"}, &reply); err != nil || reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded {
			t.Fatalf("%s on: %+v, %v", host, reply, err)
		}
	}
	// host.0's button does nothing and the rail is shared with host.1:
	// the off ladder runs out and parks the operation with an alert.
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.ButtonStuckDeasserted, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	var off server.ControlReply
	if err := operator.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Wait: "1m"}, &off); err != nil || off.Outcome == nil || off.Outcome.Alert == "" {
		t.Fatalf("host.0 off with a dead button: %+v, %v; want an outcome with an alert", off, err)
	}
	list := standing()
	if len(list.Alerts) != 1 || list.More {
		t.Fatalf("standing alerts: %+v, want host.0's one", list)
	}
	if a := list.Alerts[0]; a.Operation != off.Operation || a.ID != "host.0" || a.Alert != off.Outcome.Alert || a.Kind != "host_graceful_off" {
		t.Fatalf("standing alert %+v, want operation %s on host.0 with alert %q", a, off.Operation, off.Outcome.Alert)
	}
	if err := viewer.Request(ctx, server.SubjectAlertsList, server.AlertsRequest{From: "op-999999"}, nil); !errors.Is(err, server.ErrBadRequest) {
		t.Fatalf("alerts.list from an unknown operation: %v, want %s", err, server.ErrBadRequest.Constant)
	}
	if err := operator.Request(ctx, server.SubjectOperationAck, server.OperationRequest{Operation: off.Operation}, nil); err != nil {
		t.Fatal(err)
	}
	if list := standing(); len(list.Alerts) != 0 {
		t.Fatalf("standing alerts after the acknowledgement: %+v", list)
	}
}
