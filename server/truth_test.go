package server_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// Issue 22 item 1: an operation id is bound to the request that first used
// it; another request under it is refused, never answered with the first
// one's outcome.
func TestIdempotencyKeyIsBoundToItsRequest(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Operation: "k6", Wait: "5s"}, &on); err != nil {
		t.Fatal(err)
	}
	if on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("power on = %+v", on.Outcome)
	}
	for _, tc := range []struct {
		name    string
		subject string
		req     server.ControlRequest
	}{
		{"another request, same target", server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Type: "ForceOff", Operation: "k6", Wait: "5s"}},
		{"same request, another target", server.SubjectHostPowerOn, server.ControlRequest{ID: "host.1", Operation: "k6", Wait: "5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reply server.ControlReply
			err := cl.Request(ctx, tc.subject, tc.req, &reply)
			var apiErr *server.Error
			if !errors.Is(err, server.ErrIdempotencyConflict) || !errors.As(err, &apiErr) || apiErr.Refusal == nil || apiErr.Refusal.Operation != on.Operation {
				t.Fatalf("reused key: reply %+v, error %v (%+v), want idempotency_conflict naming %s", reply, err, apiErr, on.Operation)
			}
		})
	}
	for id, want := range map[string]string{"host.0": "Running", "host.1": "Off"} {
		if c, err := cl.Get(ctx, id); err != nil || c.State != want {
			t.Fatalf("%s = %+v (%v), want %s", id, c, err, want)
		}
	}
	// The same request again is a retry: the first answer.
	var again server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Operation: "k6", Wait: "5s"}, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Operation != on.Operation || again.Outcome == nil || again.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("retry = %+v outcome %+v, want the first (%s) marked duplicate", again, again.Outcome, on.Operation)
	}
}

// Issue 22 item 2: a retried refusal is the refusal again, marked duplicate.
func TestRetriedRefusalIsRefusedAgain(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	enable := true
	var maint server.ControlReply
	if err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable, Wait: "5s"}, &maint); err != nil {
		t.Fatal(err)
	}
	req := server.ControlRequest{ID: "chassis.0", Operation: "dupk2"}
	var first *server.Error
	for attempt := range 2 {
		var reply server.ControlReply
		err := cl.Request(ctx, server.SubjectChassisPowerOn, req, &reply)
		var apiErr *server.Error
		if !errors.Is(err, server.ErrInterlock) || !errors.As(err, &apiErr) || apiErr.Refusal == nil || apiErr.Refusal.Interlock != "maintenance" {
			t.Fatalf("attempt %d in maintenance: reply %+v, error %v, want the maintenance interlock", attempt, reply, err)
		}
		if attempt == 0 {
			first = apiErr
			continue
		}
		if !apiErr.Refusal.Duplicate || apiErr.Refusal.Operation != first.Refusal.Operation || apiErr.Message != first.Message {
			t.Fatalf("retried refusal = %+v %+v, want %+v %+v marked duplicate", apiErr, apiErr.Refusal, first, first.Refusal)
		}
	}
	if c, err := cl.Get(ctx, "chassis.0"); err != nil || c.State != "Off" {
		t.Fatalf("chassis.0 = %+v (%v), want Off", c, err)
	}
}

// Issue 22 item 3: a request for the state a component is in does nothing
// and says so; a second "enter maintenance" must not leave maintenance.
func TestRedundantRequestIsNoop(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	enable := true
	for attempt := range 2 {
		var reply server.ControlReply
		if err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable, Wait: "5s"}, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded || reply.Outcome.State != "Maintenance" || reply.Noop != (attempt == 1) {
			t.Fatalf("enter maintenance #%d = %+v outcome %+v", attempt+1, reply, reply.Outcome)
		}
	}
	var off server.ControlReply
	if err := cl.Request(ctx, server.SubjectChassisPowerOff, server.ControlRequest{ID: "chassis.0", Wait: "5s"}, &off); err != nil {
		t.Fatal(err)
	}
	if !off.Noop || off.Outcome == nil || off.Outcome.Result != server.ResultSucceeded || off.Outcome.State != "Off" {
		t.Fatalf("chassis off when Off = %+v outcome %+v", off, off.Outcome)
	}
}

// Issue 22 item 5: a replay from past the head reports the log's head.
func TestReplayPastHeadReportsHead(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	head, err := env.Log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reply server.ReplayReply
	if err := cl.Request(ctx, server.SubjectLogReplay, server.ReplayRequest{From: head + 5000}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Head < head || reply.Head >= head+5000 || len(reply.Events) != 0 {
		t.Fatalf("replay from %d: head %d, %d events; the log head is %d", head+5000, reply.Head, len(reply.Events), head)
	}
}

// Issue 22 item 1, for requests that go to the component alone: the id is
// bound to the component and the request, across kinds of request too.
func TestComponentOperationIDIsBoundToItsRequest(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t)})
	env.PowerChassis(t, "chassis.0")
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	var first server.ControlReply
	if err := cl.Request(ctx, server.SubjectServiceStart, server.ControlRequest{ID: "service.sync", Operation: "s1"}, &first); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		subject string
		req     server.ControlRequest
	}{
		{"another request, same component", server.SubjectServiceStop, server.ControlRequest{ID: "service.sync", Operation: "s1"}},
		{"same request, another component", server.SubjectServiceStart, server.ControlRequest{ID: "service.fan", Operation: "s1"}},
		{"a coordinator operation", server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Operation: "s1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reply server.ControlReply
			err := cl.Request(ctx, tc.subject, tc.req, &reply)
			var apiErr *server.Error
			if !errors.Is(err, server.ErrIdempotencyConflict) || !errors.As(err, &apiErr) || apiErr.Refusal == nil || apiErr.Refusal.Operation != "s1" {
				t.Fatalf("reused id: reply %+v, error %v, want idempotency_conflict naming s1", reply, err)
			}
		})
	}
	var again server.ControlReply
	if err := cl.Request(ctx, server.SubjectServiceStart, server.ControlRequest{ID: "service.sync", Operation: "s1"}, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Operation != "s1" {
		t.Fatalf("retry = %+v, want the first marked duplicate", again)
	}
	if c, err := cl.Get(ctx, "host.0"); err != nil || c.State != "Off" {
		t.Fatalf("host.0 = %+v (%v), want Off", c, err)
	}
}

// The binding of an id to its request is in the log: it holds after a
// restart of the daemon, for a retried refusal as for a conflict.
func TestIdempotencyBindingSurvivesRestart(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { _ = log.Close() })
	enable := true
	var refused *server.Error
	t.Run("first daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log})
		cl := client.New(env.Connect(t))
		ctx := ctxT(t)
		var maint server.ControlReply
		if err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable, Operation: "m1", Wait: "5s"}, &maint); err != nil {
			t.Fatal(err)
		}
		err := cl.Request(ctx, server.SubjectChassisPowerOn, server.ControlRequest{ID: "chassis.0", Operation: "c1"}, nil)
		if !errors.As(err, &refused) || !errors.Is(err, server.ErrInterlock) {
			t.Fatalf("power on in maintenance: %v", err)
		}
		env.WaitPublished(t)
	})
	t.Run("restarted daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log})
		cl := client.New(env.Connect(t))
		ctx := ctxT(t)
		err := cl.Request(ctx, server.SubjectChassisPowerOn, server.ControlRequest{ID: "chassis.0", Operation: "c1"}, nil)
		var apiErr *server.Error
		if !errors.As(err, &apiErr) || refused == nil || apiErr.Refusal == nil || !apiErr.Refusal.Duplicate || apiErr.Refusal.Operation != refused.Refusal.Operation {
			t.Fatalf("retried refusal after a restart: %v (%+v), want the refusal of %+v marked duplicate", err, apiErr, refused)
		}
		err = cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: new(bool), Operation: "m1"}, nil)
		if !errors.Is(err, server.ErrIdempotencyConflict) {
			t.Fatalf("leaving maintenance under the id that entered it: %v, want idempotency_conflict", err)
		}
	})
}

// A retried coordinator operation answers the outcome it ended with, its
// state included, not the state its target has come to since (found by
// TestAPIProperty: a retried power on said "succeeded, state Off" once
// the host had been powered off). The outcome is in the log: it holds
// after a restart.
func TestRetryAnswersTheStateTheOperationEndedIn(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { _ = log.Close() })
	on := server.ControlRequest{ID: "host.0", Operation: "on1", Wait: "5s"}
	retry := func(t *testing.T, cl *client.Client) {
		var again server.ControlReply
		if err := cl.Request(ctxT(t), server.SubjectHostPowerOn, on, &again); err != nil {
			t.Fatal(err)
		}
		if !again.Duplicate || again.Outcome == nil || again.Outcome.Result != server.ResultSucceeded || again.Outcome.State != "Running" {
			t.Fatalf("retried power on = %+v outcome %+v, want its first outcome: succeeded in Running", again, again.Outcome)
		}
	}
	t.Run("first daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log})
		env.PowerChassis(t, "chassis.0")
		cl := client.New(env.Connect(t))
		ctx := ctxT(t)
		var first server.ControlReply
		if err := cl.Request(ctx, server.SubjectHostPowerOn, on, &first); err != nil || first.Outcome == nil || first.Outcome.State != "Running" {
			t.Fatalf("power on = %+v (%v)", first, err)
		}
		var off server.ControlReply
		if err := cl.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Type: "ForceOff", Wait: "5s"}, &off); err != nil || off.Outcome == nil || off.Outcome.State != "Off" {
			t.Fatalf("power off = %+v (%v)", off, err)
		}
		retry(t, cl)
		env.WaitPublished(t)
	})
	t.Run("restarted daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log})
		retry(t, client.New(env.Connect(t)))
	})
}

// A request to a component that its machine refuses binds its operation id
// as a coordinator refusal does: a retry gets the refusal again, marked
// duplicate, even once the component would take the request; another
// request under the id is idempotency_conflict (found by TestAPIProperty:
// a refused restart retried by another operator was refused afresh, not as
// a conflict). The binding is in the log: it holds after a restart.
func TestRefusedComponentRequestBindsItsID(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { _ = log.Close() })
	stop := server.ControlRequest{ID: "service.sync", Operation: "r1"}
	var first *server.Error
	retry := func(t *testing.T, cl *client.Client) {
		t.Helper()
		var reply server.ControlReply
		err := cl.Request(ctxT(t), server.SubjectServiceStop, stop, &reply)
		var apiErr *server.Error
		if !errors.As(err, &apiErr) || first == nil || apiErr.Kind != first.Kind || apiErr.Message != first.Message || apiErr.State != first.State ||
			!slices.Equal(apiErr.Allowed, first.Allowed) || apiErr.Refusal == nil || !apiErr.Refusal.Duplicate || apiErr.Refusal.Operation != "r1" {
			t.Fatalf("retried refused stop: reply %+v, error %v (%+v), want the first refusal %+v marked duplicate", reply, err, apiErr, first)
		}
		for _, tc := range []struct {
			subject string
			req     server.ControlRequest
		}{
			{server.SubjectServiceRestart, server.ControlRequest{ID: "service.sync", Operation: "r1"}},
			{server.SubjectServiceStop, server.ControlRequest{ID: "service.fan", Operation: "r1"}},
			{server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Operation: "r1"}},
		} {
			err := cl.Request(ctxT(t), tc.subject, tc.req, nil)
			if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrIdempotencyConflict || apiErr.Refusal == nil || apiErr.Refusal.Operation != "r1" {
				t.Fatalf("%s %s under the refused stop's id: %v, want idempotency_conflict naming r1", tc.subject, tc.req.ID, err)
			}
		}
	}
	t.Run("first daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log, Platform: servicePlatform(t)})
		cl := client.New(env.Connect(t))
		err := cl.Request(ctxT(t), server.SubjectServiceStop, stop, nil)
		if !errors.As(err, &first) || first.Kind != server.ErrRejected || first.Refusal == nil || first.Refusal.Operation != "r1" || first.Refusal.Duplicate {
			t.Fatalf("stop of a Stopped service: %v (%+v), want rejected, naming operation r1", err, first)
		}
		// Now Starting, where Stop is allowed: a retry is still the refusal.
		if err := cl.Request(ctxT(t), server.SubjectServiceStart, server.ControlRequest{ID: "service.sync"}, nil); err != nil {
			t.Fatal(err)
		}
		retry(t, cl)
		var op server.OperationReply
		if err := cl.Request(ctxT(t), server.SubjectOperationGet, server.OperationRequest{Operation: "r1"}, &op); err != nil ||
			op.Outcome.Result != server.ResultRejected || op.Outcome.State != "Stopped" || op.Request != "Stop" {
			t.Fatalf("operation.get r1 = %+v (%v), want Stop rejected in Stopped", op, err)
		}
		if c, err := cl.Get(ctxT(t), "service.sync"); err != nil || c.State != "Starting" {
			t.Fatalf("service.sync = %+v (%v), want Starting", c, err)
		}
		env.WaitPublished(t)
	})
	t.Run("restarted daemon", func(t *testing.T) {
		env := servertest.Start(t, servertest.Options{Log: log, Platform: servicePlatform(t)})
		retry(t, client.New(env.Connect(t)))
	})
}

// A power on of a host that is powered but not Running (DiagnosticMode
// after an NMI) cannot bring it to Running: it is refused, naming the
// state, rather than answered "succeeded" with the host still in
// DiagnosticMode (found by TestAPIProperty).
func TestPowerOnOfADiagnosedHostIsRefused(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	for _, step := range []struct {
		subject string
		req     server.ControlRequest
		state   string
	}{
		{server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "5s"}, "Running"},
		{server.SubjectHostReset, server.ControlRequest{ID: "host.0", Type: "Nmi", Wait: "5s"}, "DiagnosticMode"},
	} {
		var reply server.ControlReply
		if err := cl.Request(ctx, step.subject, step.req, &reply); err != nil || reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded || reply.Outcome.State != step.state {
			t.Fatalf("%s %s = %+v (%v), want succeeded in %s", step.subject, step.req.Type, reply.Outcome, err, step.state)
		}
	}
	var reply server.ControlReply
	err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "5s"}, &reply)
	var apiErr *server.Error
	if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrRejected || apiErr.State != "DiagnosticMode" || apiErr.Refusal == nil || apiErr.Refusal.Operation == "" {
		t.Fatalf("power on in DiagnosticMode: reply %+v outcome %+v, error %v, want rejected naming the state", reply, reply.Outcome, err)
	}
	if c, err := cl.Get(ctx, "host.0"); err != nil || c.State != "DiagnosticMode" {
		t.Fatalf("host.0 = %+v (%v), want DiagnosticMode", c, err)
	}
}
