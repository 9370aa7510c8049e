package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// servicePlatform is the default platform plus one supervised service.
// syncSubStates gives service.sync platform-defined sub-states that the
// service sets by its own reports.
const syncSubStates = `
machine "service.sync" {
  state "Syncing" {
    kind = "stable"
  }
  transition {
    from    = "Running"
    trigger = "sync_started"
    to      = "Syncing"
  }
  transition {
    from    = "Syncing"
    trigger = "sync_done"
    to      = "Running"
  }
  transition {
    from    = "Syncing"
    trigger = "Stop"
    to      = "Stopping"
    effects = ["stop_process"]
  }
}
`

func servicePlatform(t testing.TB) *platform.Platform {
	src := string(platform.DefaultSource()) + "\nservice \"sync\" {\n  command = \"/bin/true\"\n}\nservice \"fan\" {\n  command = \"/bin/true\"\n}\n" + syncSubStates
	p, err := platform.Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nextEvent waits for one event on sub.
func nextEvent(t *testing.T, sub *nats.Subscription) (server.Event, *nats.Msg) {
	t.Helper()
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no event on %s: %v", sub.Subject, err)
	}
	var ev server.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev, msg
}

func TestPowerOnThroughNATS(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	nc := env.Connect(t)
	cl := client.New(nc)
	ctx := ctxT(t)

	hostEvents := subscribe(t, nc, server.EventsSubject("host.0"))
	transitions := subscribe(t, nc, server.SubjectEventsTransitions)
	operations := subscribe(t, nc, server.SubjectEventsOperations)

	var reply server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0"}, &reply); err != nil {
		t.Fatal(err)
	}
	if !reply.Accepted || reply.Request != "On" || reply.Kind != "host_power_on" || !strings.HasPrefix(reply.Operation, "op-") || reply.ID != "host.0" {
		t.Fatalf("power on reply = %+v", reply)
	}
	ev, _ := nextEvent(t, operations)
	if ev.Type != "op_accepted" || ev.Operation != reply.Operation || ev.Target != "host.0" || ev.Trigger != "host_power_on:On" || ev.Requester != server.Anonymous {
		t.Fatalf("first operation event = %+v", ev)
	}
	ev, msg := nextEvent(t, hostEvents)
	if ev.From != "Off" || ev.To != "TransitioningToRunning" || !strings.HasPrefix(ev.Operation, reply.Operation+"/") {
		t.Fatalf("first host event = %+v", ev)
	}
	if got := msg.Header.Get(server.HeaderMsgID); got != "host.0/"+itoa(ev.StreamSeq) {
		t.Errorf("Nats-Msg-Id = %q, want host.0/%d", got, ev.StreamSeq)
	}
	if got := msg.Header.Get(server.HeaderSeq); got != itoa(ev.Seq) {
		t.Errorf("Statemgr-Seq = %q, want %d", got, ev.Seq)
	}
	for ev.To != "Running" {
		ev, _ = nextEvent(t, hostEvents)
	}
	if ev.From != "TransitioningToRunning" || ev.State != "Running" {
		t.Fatalf("host event into Running = %+v", ev)
	}
	for _, want := range []string{"TransitioningToRunning", "Running"} {
		if ev, _ := nextEvent(t, transitions); ev.To != want || ev.ID != "host.0" {
			t.Fatalf("transition event = %+v, want to %s", ev, want)
		}
	}
	for ev.Type != "op_finished" {
		ev, _ = nextEvent(t, operations)
	}
	if ev.Operation != reply.Operation || ev.Outcome != server.ResultSucceeded || ev.Error {
		t.Fatalf("operation outcome event = %+v", ev)
	}

	host, err := cl.Get(ctx, "host.0")
	if err != nil {
		t.Fatal(err)
	}
	if host.State != "Running" || host.Kind != "host" || host.Name != "0" || host.Requested == nil || host.Requested.Name != "On" {
		t.Fatalf("host.get = %+v", host)
	}

	var op server.OperationReply
	if err := cl.Request(ctx, server.SubjectOperationGet, server.OperationRequest{Operation: reply.Operation}, &op); err != nil {
		t.Fatal(err)
	}
	if op.ID != "host.0" || op.Outcome.Result != server.ResultSucceeded || op.Outcome.State != "Running" || len(op.Records) < 3 {
		t.Fatalf("operation.get = %+v", op)
	}

	var hist server.HistoryReply
	if err := cl.Request(ctx, server.SubjectHistory, server.HistoryRequest{ID: "host.0"}, &hist); err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, tr := range hist.Transitions {
		path = append(path, tr.To)
	}
	if !strings.HasPrefix(strings.Join(path, ","), "Off,TransitioningToRunning,Running") || hist.Statistics.Entered["Running"] != 1 {
		t.Fatalf("history = %v, statistics %+v", path, hist.Statistics)
	}
	var page server.HistoryReply
	if err := cl.Request(ctx, server.SubjectHistory, server.HistoryRequest{ID: "host.0", Limit: 1, From: 2}, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Transitions) != 1 || page.Transitions[0].To != "TransitioningToRunning" || page.Next != 3 {
		t.Fatalf("history page = %+v", page)
	}

	var status server.SystemStatus
	if err := cl.Request(ctx, server.SubjectSystemStatus, nil, &status); err != nil {
		t.Fatal(err)
	}
	if status.Service != "statemgr" || status.LogHead < 3 || len(status.Components) != len(env.System.IDs()) {
		t.Fatalf("status = %+v", status)
	}
	var hosts server.ComponentList
	if err := cl.Request(ctx, server.SubjectHostsList, nil, &hosts); err != nil {
		t.Fatal(err)
	}
	if len(hosts.Components) < 2 || hosts.Components[0].ID != "host.0" || hosts.Components[1].ID != "host.1" {
		t.Fatalf("hosts.list = %+v", hosts)
	}
	for _, h := range hosts.Components {
		if h.Kind != "host" {
			t.Fatalf("hosts.list returned %s", h.ID)
		}
	}
}

// subscribe subscribes synchronously and makes sure the server knows.
func subscribe(t *testing.T, nc *nats.Conn, subject string) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestControlWaitsForOutcome(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)

	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "5s", Operation: "op-wait"}, &on); err != nil {
		t.Fatal(err)
	}
	if on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded || on.Outcome.State != "Running" {
		t.Fatalf("waited reply = %+v outcome %+v", on, on.Outcome)
	}

	// The OS ignores the graceful shutdown: the wait ends first, and the
	// operation goes on (it escalates to a power-button hold).
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	var off server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Wait: "100ms"}, &off); err != nil {
		t.Fatal(err)
	}
	if off.Request != "GracefulShutdown" || off.Outcome == nil || off.Outcome.Result != server.ResultInProgress || off.Outcome.State != "TransitioningToOff" {
		t.Fatalf("wait that ended first = %+v outcome %+v", off, off.Outcome)
	}

	// Maintenance needs the BMC, which the shutdown holds: busy, naming
	// the shutdown, unless queued.
	enable := true
	var maint server.ControlReply
	err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable}, &maint)
	var apiErr *server.Error
	if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrComponentBusy) || apiErr.Refusal == nil || apiErr.Refusal.InFlight != off.Operation || apiErr.Refusal.Operation == "" {
		t.Fatalf("maintenance during a shutdown: %v (%+v), want busy naming %s", err, apiErr, off.Operation)
	}
	if err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable, Queue: true, Wait: "10s"}, &maint); err != nil {
		t.Fatal(err)
	}
	if maint.State == "" || maint.Outcome == nil || maint.Outcome.Result != server.ResultSucceeded || maint.Outcome.State != "Maintenance" {
		t.Fatalf("queued maintenance reply = %+v outcome %+v", maint, maint.Outcome)
	}
	var offOp server.OperationReply
	if err := cl.Request(ctx, server.SubjectOperationGet, server.OperationRequest{Operation: off.Operation}, &offOp); err != nil {
		t.Fatal(err)
	}
	if offOp.Outcome.Result != server.ResultSucceeded || offOp.Outcome.State != "Off" {
		t.Fatalf("escalated shutdown = %+v", offOp.Outcome)
	}

	// In maintenance, power-ons are refused by an interlock an operator
	// may override.
	var refused server.ControlReply
	err = cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0"}, &refused)
	if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrInterlock) || apiErr.Refusal.Interlock != "maintenance" || !apiErr.Refusal.Overridable {
		t.Fatalf("power on in maintenance: %v (%+v)", err, apiErr)
	}
	var overridden server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Override: []string{"maintenance"}, Wait: "5s"}, &overridden); err != nil {
		t.Fatal(err)
	}
	if overridden.Outcome == nil || overridden.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("overridden power on = %+v", overridden.Outcome)
	}
}

func waitForState(t *testing.T, cl *client.Client, id, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := cl.Get(context.Background(), id)
		if err == nil && c.State == state {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never reached %s", id, state)
}

func TestOperationIsIdempotent(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	req := server.ControlRequest{ID: "chassis.0", Operation: "cycle-1", Wait: "5s"}
	var first, second server.ControlReply
	if err := cl.Request(ctx, server.SubjectChassisPowerOn, req, &first); err != nil {
		t.Fatal(err)
	}
	if err := cl.Request(ctx, server.SubjectChassisPowerOn, req, &second); err != nil {
		t.Fatal(err)
	}
	if first.Outcome == nil || first.Outcome.Result != server.ResultSucceeded || second.Operation != first.Operation ||
		second.Outcome == nil || second.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("first %+v, retry %+v", first, second)
	}
	evs, err := env.Log.ReadStream(ctx, "chassis.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, e := range evs {
		if r, err := actors.DecodeRecord(e); err == nil && r.Event.Type == machine.EventTransition && r.Event.From != r.Event.To {
			path = append(path, r.Event.To)
		}
	}
	if strings.Join(path, ",") != "TransitioningToOn,On" {
		for _, e := range evs {
			r, _ := actors.DecodeRecord(e)
			t.Logf("%d %s %+v op=%s cause=%s", e.StreamSeq, e.Type, r.Event, e.Operation, e.Cause)
		}
		t.Fatalf("chassis.0 went %v after a retried operation, want one power on", path)
	}
}

// errorCase is a request that must fail with a catalogued error.
type errorCase struct {
	name    string
	subject string
	body    string
	want    *server.ErrorKind
}

func TestBadRequestsGetTypedErrors(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.1"})
	nc := env.Connect(t)
	cases := []errorCase{
		{"malformed JSON", server.SubjectHostGet, `{"id":`, server.ErrBadRequest},
		{"not JSON", server.SubjectHostGet, `not json`, server.ErrBadRequest},
		{"not an object", server.SubjectHostGet, `["host.0"]`, server.ErrBadRequest},
		{"trailing data", server.SubjectHostGet, `{"id":"host.0"} {}`, server.ErrBadRequest},
		{"wrong field type", server.SubjectHostGet, `{"id":7}`, server.ErrBadRequest},
		{"unknown field", server.SubjectHostGet, `{"id":"host.0","colour":"red"}`, server.ErrUnknownField},
		{"missing id", server.SubjectHostGet, `{}`, server.ErrBadRequest},
		{"bad id", server.SubjectHostGet, `{"id":"host0"}`, server.ErrBadID},
		{"bad kind", server.SubjectHostGet, `{"id":"fan.0"}`, server.ErrBadID},
		{"unknown component", server.SubjectHostGet, `{"id":"host.9"}`, server.ErrUnknownComponent},
		{"unknown component control", server.SubjectHostPowerOn, `{"id":"host.9"}`, server.ErrUnknownComponent},
		{"wrong kind", server.SubjectHostGet, `{"id":"chassis.0"}`, server.ErrWrongKind},
		{"wrong kind control", server.SubjectHostPowerOn, `{"id":"chassis.0"}`, server.ErrWrongKind},
		{"oversize", server.SubjectHostGet, `{"id":"` + strings.Repeat("x", server.MaxRequestSize) + `"}`, server.ErrPayloadTooLarge},
		{"rejected", server.SubjectServiceStop, `{"id":"service.demo"}`, server.ErrRejected},
		{"chassis off under a host", server.SubjectChassisPowerOff, `{"id":"chassis.0"}`, server.ErrHostsNotOff},
		{"unknown interlock", server.SubjectHostPowerOn, `{"id":"host.0","override":["fans"]}`, server.ErrBadRequest},
		{"power_chassis on a reset", server.SubjectHostReset, `{"id":"host.0","type":"Nmi","power_chassis":true}`, server.ErrBadRequest},
		{"bad schedule time", server.SubjectHostPowerOn, `{"id":"host.0","at":"tomorrow"}`, server.ErrBadRequest},
		{"queue on a service", server.SubjectServiceStart, `{"id":"service.demo","queue":true}`, server.ErrBadRequest},
		{"acknowledge unknown", server.SubjectOperationAck, `{"operation":"op-999999"}`, server.ErrUnknownOperation},
		{"unknown reset type", server.SubjectHostReset, `{"id":"host.0","type":"Reboot"}`, server.ErrUnknownRequest},
		{"reset without type", server.SubjectHostReset, `{"id":"host.0"}`, server.ErrBadRequest},
		{"bad wait", server.SubjectHostPowerOn, `{"id":"host.0","wait":"forever"}`, server.ErrBadRequest},
		{"bad operation", server.SubjectHostPowerOn, `{"id":"host.0","operation":"a b"}`, server.ErrBadRequest},
		{"maintenance without enable", server.SubjectBMCMaintenance, `{"id":"bmc.0"}`, server.ErrBadRequest},
		{"unknown operation", server.SubjectOperationGet, `{"operation":"nope"}`, server.ErrUnknownOperation},
		{"history unknown component", server.SubjectHistory, `{"id":"service.nope"}`, server.ErrUnknownComponent},
		{"replay bad limit", server.SubjectLogReplay, `{"limit":100000}`, server.ErrBadRequest},
		{"replay bad kind", server.SubjectLogReplay, `{"filter":{"kind":"fan"}}`, server.ErrBadRequest},
		{"list wrong kind", server.SubjectHostsList, `{"kind":"bmc"}`, server.ErrWrongKind},
		{"enable unknown service", server.SubjectServiceEnable, `{"id":"service.nope"}`, server.ErrUnknownComponent},
		{"validate empty", server.SubjectValidate, `{}`, server.ErrBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := nc.Request(tc.subject, []byte(tc.body), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// micro's header carries the HTTP-like status, as micro itself
			// uses it; the catalogue code has a header of its own.
			if got := msg.Header.Get(micro.ErrorCodeHeader); got != itoa(uint64(tc.want.Status)) {
				t.Fatalf("Nats-Service-Error-Code = %q (%s), want %d", got, msg.Header.Get(micro.ErrorHeader), tc.want.Status)
			}
			if got := msg.Header.Get(server.HeaderErrorCode); got != itoa(uint64(tc.want.Code)) {
				t.Fatalf("%s = %q, want %d", server.HeaderErrorCode, got, tc.want.Code)
			}
			if msg.Header.Get(micro.ErrorHeader) == "" {
				t.Error("no Nats-Service-Error message")
			}
			var body server.ErrorReply
			if err := json.Unmarshal(msg.Data, &body); err != nil {
				t.Fatalf("error body %q: %v", msg.Data, err)
			}
			if body.Error.Code != tc.want.Code || body.Error.Name != tc.want.Name() || body.Error.Message == "" || body.Error.Hint == "" || body.Error.Status != tc.want.Status {
				t.Fatalf("error body = %+v", body.Error)
			}
			apiErr := client.DecodeError(msg)
			if !errors.Is(apiErr, tc.want) {
				t.Fatalf("DecodeError = %v, want kind %s", apiErr, tc.want.Constant)
			}
			if tc.want == server.ErrRejected && (body.Error.State != "Stopped" || len(body.Error.Allowed) == 0) {
				t.Fatalf("rejection without state and allowed requests: %+v", body.Error)
			}
		})
	}
	// None of them changed a component.
	for _, id := range []string{"host.0", "service.demo"} {
		if head, _ := env.Log.StreamHead(context.Background(), id); head != 1 {
			t.Fatalf("%s stream head = %d after refused requests, want 1", id, head)
		}
	}
}

func TestInterlocksAndOverrides(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	var reply server.ControlReply
	var apiErr *server.Error
	// The chassis is off: power_dependency refuses, and no one may override it.
	err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0"}, &reply)
	if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrInterlock) || apiErr.Refusal.Interlock != "power_dependency" ||
		apiErr.Refusal.Overridable || apiErr.Refusal.Clears == "" || !strings.HasPrefix(apiErr.Refusal.Operation, "op-") {
		t.Fatalf("power on with the chassis off: %v (%+v)", err, apiErr)
	}
	err = cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Override: []string{"power_dependency"}}, &reply)
	if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrOverrideDenied) || apiErr.Refusal.Interlock != "power_dependency" {
		t.Fatalf("override of power_dependency: %v (%+v)", err, apiErr)
	}
	// Asking for the chassis first is the way.
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Wait: "10s"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded || reply.Outcome.State != "Running" {
		t.Fatalf("power on with power_chassis: %+v", reply.Outcome)
	}
	if st, _ := cl.Get(ctx, "chassis.0"); st.State != "On" {
		t.Fatalf("chassis.0 is %s after a power on with power_chassis", st.State)
	}
	// Rejections are durable and published with their outcome.
	var refused server.OperationReply
	if err := cl.Request(ctx, server.SubjectOperationGet, server.OperationRequest{Operation: apiErr.Refusal.Operation}, &refused); err != nil {
		t.Fatal(err)
	}
	if refused.Outcome.Result != server.ResultRejected || !strings.Contains(refused.Outcome.Cause, "power_dependency") {
		t.Fatalf("refused operation = %+v", refused)
	}
}

func TestScheduledPowerOff(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0"})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	at := time.Now().Add(200 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	var reply server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Type: "ForceOff", At: at}, &reply); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reply.Schedule, "sched-") || reply.At.IsZero() || reply.Operation != "" {
		t.Fatalf("schedule reply = %+v", reply)
	}
	waitForState(t, cl, "host.0", "Off")
}

func TestEveryResetType(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	// Each type from a Running host, and where it leaves the host.
	want := map[string]string{
		"On": "Running", "ForceOn": "Running", "GracefulShutdown": "Off", "ForceOff": "Off",
		"GracefulRestart": "Running", "ForceRestart": "Running", "PowerCycle": "Running", "Nmi": "DiagnosticMode",
		"PushPowerButton": "Off",
	}
	for _, typ := range server.RedfishResetTypes {
		switch st, _ := cl.Get(ctx, "host.1"); st.State {
		case "Running":
		case "Off":
			env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.1"})
		default:
			env.Do(t, coordinator.Request{Kind: coordinator.HostForceOff, Target: "host.1"})
			env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.1"})
		}
		var reply server.ControlReply
		if err := cl.Request(ctx, server.SubjectHostReset, server.ControlRequest{ID: "host.1", Type: typ, Wait: "10s"}, &reply); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if reply.Request != typ || reply.Outcome == nil || reply.Outcome.Result != server.ResultSucceeded || reply.Outcome.State != want[typ] {
			t.Errorf("%s from Running: %+v outcome %+v, want succeeded in %s", typ, reply, reply.Outcome, want[typ])
		}
	}
}

func TestServicesAndSelfState(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t)})
	nc := env.Connect(t)
	cl := client.New(nc)
	ctx := ctxT(t)
	var list server.ComponentList
	if err := cl.Request(ctx, server.SubjectServicesList, nil, &list); err != nil {
		t.Fatal(err)
	}
	byID := map[string]server.Component{}
	for _, c := range list.Components {
		if c.Kind != "service" {
			t.Fatalf("services.list returned %s", c.ID)
		}
		byID[c.ID] = c
	}
	if byID["service.fan"].Code != "STOPPED" || byID["service.sync"].State != "Stopped" {
		t.Fatalf("services.list = %+v", list)
	}
	var reply server.ControlReply
	if err := cl.Request(ctx, server.SubjectServiceStart, server.IDRequest{ID: "service.sync"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.State != "Starting" {
		t.Fatalf("start reply = %+v", reply)
	}
	var comp server.Component
	report := func(req server.SelfStateRequest) server.Component {
		t.Helper()
		var c server.Component
		if err := cl.Request(ctx, server.ServiceSelfStateSubject("sync"), req, &c); err != nil {
			t.Fatalf("selfstate %+v: %v", req, err)
		}
		return c
	}
	if comp = report(server.SelfStateRequest{Event: "initialized"}); comp.State != "Running" || comp.Code != "ENABLED" {
		t.Fatalf("after event initialized: %+v", comp)
	}
	// Running with a report publishes the report.
	comp = report(server.SelfStateRequest{State: "ERROR", Status: "upstream unreachable; check the uplink"})
	if comp.State != "Running" || comp.Code != "ERROR" || !strings.Contains(comp.StatusLine, "upstream unreachable; check the uplink") {
		t.Fatalf("after an ERROR report: %+v", comp)
	}
	if comp = report(server.SelfStateRequest{State: "ENABLED"}); comp.Code != "ENABLED" {
		t.Fatalf("after an ENABLED report: %+v", comp)
	}
	// A platform sub-state, set by the service's own report.
	if comp = report(server.SelfStateRequest{Event: "sync_started", Cause: "peer 10.0.0.7 ahead"}); comp.State != "Syncing" {
		t.Fatalf("after sync_started: %+v", comp)
	}
	if comp = report(server.SelfStateRequest{Event: "sync_done"}); comp.State != "Running" {
		t.Fatalf("after sync_done: %+v", comp)
	}
	for _, bad := range []struct {
		req  server.SelfStateRequest
		want error
	}{
		{server.SelfStateRequest{Event: "power_good_asserted"}, server.ErrInvalidInput},
		{server.SelfStateRequest{State: "ERROR"}, server.ErrInvalidInput}, // ERROR needs what failed and how to resolve it
		{server.SelfStateRequest{State: "GREEN"}, server.ErrInvalidInput},
		{server.SelfStateRequest{Event: "self_state"}, server.ErrInvalidInput},
		{server.SelfStateRequest{}, server.ErrBadRequest},
	} {
		if err := cl.Request(ctx, server.ServiceSelfStateSubject("sync"), bad.req, nil); !errors.Is(err, bad.want) {
			t.Fatalf("selfstate %+v: %v, want %v", bad.req, err, bad.want)
		}
	}

	// Enable is forwarded to the service; nobody answers for fan.
	if err := cl.Request(ctx, server.SubjectServiceEnable, server.IDRequest{ID: "service.fan"}, nil); !errors.Is(err, server.ErrUnsupported) {
		t.Fatalf("enable with no service answering: %v, want ErrUnsupported", err)
	}
	if fan, err := cl.Get(ctx, "service.fan"); err != nil || fan.Unsupported == nil || !fan.Unsupported.Enable {
		t.Fatalf("fan after an unanswered enable: %+v, %v; want enable recorded as unsupported", fan, err)
	}
	sub, err := nc.Subscribe(server.ServiceControlSubject("sync"), func(m *nats.Msg) { _ = m.Respond([]byte(`{"ok":true}`)) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := cl.Request(ctx, server.SubjectServiceDisable, server.IDRequest{ID: "service.sync"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Request != "disable" || !reply.Accepted {
		t.Fatalf("disable reply = %+v", reply)
	}
}

func TestValidateSubject(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	var ok server.ValidateReply
	if err := cl.Request(ctx, server.SubjectValidate, server.ValidateRequest{Name: "default.hcl", Source: string(platform.DefaultSource())}, &ok); err != nil {
		t.Fatal(err)
	}
	if !ok.OK || len(ok.Components) == 0 {
		t.Fatalf("default platform: %+v", ok)
	}
	var bad server.ValidateReply
	if err := cl.Request(ctx, server.SubjectValidate, server.ValidateRequest{Name: "bad.hcl", Source: "host \"0\" {\n  chassis = \"9\"\n}\n"}, &bad); err != nil {
		t.Fatal(err)
	}
	if bad.OK || len(bad.Errors) == 0 || !strings.HasPrefix(bad.Errors[0], "bad.hcl:") {
		t.Fatalf("bad platform: %+v", bad)
	}
}

func TestRequesterFromTrustedRequestInfo(t *testing.T) {
	for _, trust := range []bool{false, true} {
		env := servertest.Start(t, servertest.Options{Server: server.Config{TrustRequestInfo: trust}})
		nc := env.Connect(t)
		msg := nats.NewMsg(server.SubjectChassisPowerOn)
		msg.Header.Set("Nats-Request-Info", `{"acc":"CLIENTS","user":"alice"}`)
		msg.Data = []byte(`{"id":"chassis.0","wait":"5s"}`)
		reply, err := nc.RequestMsg(msg, 5*time.Second)
		if err != nil || client.DecodeError(reply) != nil {
			t.Fatal(err, client.DecodeError(reply))
		}
		// The request's record, among the devices' observations.
		evs, err := env.Log.ReadStream(context.Background(), "chassis.0", 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(evs, func(e events.Event) bool {
			r, err := actors.DecodeRecord(e)
			return err == nil && r.Event.Trigger == machine.RequestOn
		})
		if i < 0 {
			t.Fatalf("TrustRequestInfo=%v: no On record in chassis.0's stream", trust)
		}
		want := server.Anonymous
		if trust {
			want = "alice"
		}
		if evs[i].Requester != want {
			t.Errorf("TrustRequestInfo=%v: requester %q, want %q", trust, evs[i].Requester, want)
		}
	}
}

// TestWaitForAnOutcomeEndsOnTheServersClock: a control request's wait is
// timed by the server's clock, so a rig on a virtual clock ends it by
// moving the clock, with the outcome in progress, and not before.
func TestWaitForAnOutcomeEndsOnTheServersClock(t *testing.T) {
	v := clock.NewVirtual(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	env := servertest.Start(t, servertest.Options{Server: server.Config{Clock: v}})
	env.PowerChassis(t, "chassis.0")
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	cl := client.New(env.Connect(t))
	done := make(chan server.ControlReply, 1)
	go func() {
		var reply server.ControlReply
		if err := cl.Request(ctxT(t), server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "1m"}, &reply); err != nil {
			t.Error(err)
		}
		done <- reply
	}()
	waitForState(t, cl, "host.0", "TransitioningToRunning")
	for deadline := time.Now().Add(5 * time.Second); v.Pending() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the wait put no timer on the server's clock")
		}
	}
	v.Advance(59 * time.Second)
	select {
	case reply := <-done:
		t.Fatalf("the wait ended before its minute on the server's clock: %+v", reply.Outcome)
	case <-time.After(50 * time.Millisecond):
	}
	v.Advance(time.Second)
	reply := <-done
	if reply.Outcome == nil || reply.Outcome.Result != server.ResultInProgress || reply.Outcome.State != "TransitioningToRunning" {
		t.Fatalf("outcome after the wait: %+v, want in progress in TransitioningToRunning", reply.Outcome)
	}
}

func TestStopEndsWaitsAndRefusesNewRequests(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	done := make(chan server.ControlReply, 1)
	go func() {
		var reply server.ControlReply
		if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "1m"}, &reply); err != nil {
			t.Error(err)
		}
		done <- reply
	}()
	waitForState(t, cl, "host.0", "TransitioningToRunning")
	start := time.Now()
	if err := env.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	reply := <-done
	if reply.Outcome == nil || reply.Outcome.Result != server.ResultInProgress || time.Since(start) > 5*time.Second {
		t.Fatalf("wait across Stop: %+v after %v", reply.Outcome, time.Since(start))
	}
	if _, err := cl.Get(ctx, "host.0"); !errors.Is(err, client.ErrNoServer) {
		t.Fatalf("get after Stop: %v, want no server", err)
	}
}
