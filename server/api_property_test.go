package server_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestAPIProperty is the model-based test of the whole request API (issue
// 22): rapid draws sequences of requests across the control subjects, from
// two operators, with operation ids reused, repeated, conflicting, refused
// and redundant, sends them to a real server (embedded nats-server, the
// coordinator on the simulated platform, services that start and stop at
// once) and checks every reply against apiModel: what the request must
// have done to every component, what a retry and a reused id must get, and
// that every error is a catalogued one.
func TestAPIProperty(t *testing.T) {
	seen := map[string]int{} // answers by kind, over every check
	// Each check starts a whole server: 10 checks (2 with -short).
	withRapidChecks(t, 10, func() {
		rapid.Check(t, func(rt *rapid.T) { newAPIModel(t, rt, seen).run(rt) })
	})
	t.Logf("answers checked: %v", seen)
	if !testing.Short() {
		for _, kind := range []string{"duplicate", "conflict", "noop", "refused", "invalid", server.ResultSucceeded} {
			if seen[kind] == 0 {
				t.Errorf("no %s answer was drawn: the property test no longer exercises it", kind)
			}
		}
	}
}

// withRapidChecks runs f with rapid's number of checks set to n, unless
// the command line chose it: a run costs a whole server.
func withRapidChecks(t *testing.T, n int, f func()) {
	chosen := false
	flag.Visit(func(fl *flag.Flag) { chosen = chosen || fl.Name == "rapid.checks" })
	if !chosen {
		old := flag.Lookup("rapid.checks").Value.String()
		if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = flag.Set("rapid.checks", old) }()
	}
	f()
}

// propertyTB is the testing.TB a rapid check gives servertest: failures and
// logs go to the check, cleanups run when the check ends (so each check's
// server stops before the next starts).
type propertyTB struct {
	testing.TB
	rt *rapid.T
}

func (p propertyTB) Helper()                    {}
func (p propertyTB) Cleanup(f func())           { p.rt.Cleanup(f) }
func (p propertyTB) Log(args ...any)            { p.rt.Log(args...) }
func (p propertyTB) Logf(f string, args ...any) { p.rt.Logf(f, args...) }
func (p propertyTB) Error(args ...any)          { p.rt.Error(args...) }
func (p propertyTB) Errorf(f string, a ...any)  { p.rt.Errorf(f, a...) }
func (p propertyTB) Fatal(args ...any)          { p.rt.Fatal(args...) }
func (p propertyTB) Fatalf(f string, a ...any)  { p.rt.Fatalf(f, a...) }
func (p propertyTB) FailNow()                   { p.rt.FailNow() }
func (p propertyTB) Fail()                      { p.rt.Fail() }
func (p propertyTB) Failed() bool               { return p.rt.Failed() }

// The platform's components, as servicePlatform declares them.
var (
	modelHosts    = []string{"host.0", "host.1"}
	modelServices = []string{"service.sync", "service.fan", "service.demo"}
	modelChassis  = "chassis.0"
	modelBMC      = "bmc.0"
)

// apiRequest is one drawn request.
type apiRequest struct {
	subject string
	target  string
	typ     string // the request type sent ("" for the subject's default); for bmc.maintenance "enter" or "exit"
	key     string // operation id; "" for none
	sender  int    // which operator sends it
	// Coordinator options, part of the request a key is bound to.
	powerChassis bool
	queue        bool
	override     []string
	// invalid sends a type the subject does not take: refused before
	// anything binds the key.
	invalid bool
}

// effective is the request type the server carries out.
func (r apiRequest) effective() string {
	if r.typ != "" || r.subject == server.SubjectBMCMaintenance {
		return r.typ
	}
	return map[string]string{
		server.SubjectHostPowerOn: machine.RequestOn, server.SubjectHostPowerOff: machine.RequestGracefulShutdown,
		server.SubjectChassisPowerOn: machine.RequestOn, server.SubjectChassisPowerOff: machine.RequestOff,
		server.SubjectChassisCycle: machine.RequestPowerCycle, server.SubjectServiceStart: machine.RequestStart,
		server.SubjectServiceStop: machine.RequestStop, server.SubjectServiceRestart: machine.RequestRestart,
		server.SubjectServiceReset: machine.RequestReset,
	}[r.subject]
}

// binding is what an operation id is bound to: everything but the wait.
// Host power on and off are host.reset's On, ForceOn, GracefulShutdown
// and ForceOff by another subject, the same operation: the same binding.
func (r apiRequest) binding() string {
	subject := r.subject
	if subject == server.SubjectHostPowerOn || subject == server.SubjectHostPowerOff {
		subject = server.SubjectHostReset
	}
	return fmt.Sprintf("%d %s %s %s %t %t %v", r.sender, subject, r.target, r.effective(), r.powerChassis, r.queue, r.override)
}

func (r apiRequest) String() string {
	s := fmt.Sprintf("op%d %s %s", r.sender, strings.TrimPrefix(r.subject, "statemgr."), r.target)
	for _, f := range []struct{ name, v string }{{"type", r.typ}, {"key", r.key}} {
		if f.v != "" {
			s += " " + f.name + "=" + f.v
		}
	}
	if r.powerChassis {
		s += " power_chassis"
	}
	if r.queue {
		s += " queue"
	}
	if len(r.override) > 0 {
		s += fmt.Sprintf(" override=%v", r.override)
	}
	if r.invalid {
		s += " (invalid)"
	}
	return s
}

// forwarded says whether the request goes to the service's own control
// subject (enable, disable): no service of the test answers it.
func (r apiRequest) forwarded() bool {
	return r.subject == server.SubjectServiceEnable || r.subject == server.SubjectServiceDisable
}

func (r apiRequest) coordinated() bool {
	return !strings.HasPrefix(r.subject, "statemgr.service.")
}

// body is the JSON request.
func (r apiRequest) body() any {
	const wait = "30s" // far beyond any operation of the fast simulation
	if r.subject == server.SubjectBMCMaintenance {
		enable := r.typ == "enter"
		return server.MaintenanceRequest{ID: r.target, Enable: &enable, Operation: r.key, Wait: wait, Queue: r.queue}
	}
	if r.forwarded() {
		return server.ControlRequest{ID: r.target} // takes no wait
	}
	return server.ControlRequest{ID: r.target, Type: r.typ, Operation: r.key, Wait: wait,
		Override: r.override, Queue: r.queue, PowerChassis: r.powerChassis}
}

// answer is what a request got: a reply or a catalogued error.
type answer struct {
	reply server.ControlReply
	err   *server.Error
}

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("error %s (%d): %s refusal %+v", a.err.Kind.Name(), a.err.Kind.Code, a.err.Message, a.err.Refusal)
	}
	o := "no outcome"
	if a.reply.Outcome != nil {
		o = fmt.Sprintf("%+v", *a.reply.Outcome)
	}
	return fmt.Sprintf("op %s noop=%t duplicate=%t outcome %s", a.reply.Operation, a.reply.Noop, a.reply.Duplicate, o)
}

// kind classifies an answer to req for the tally of what was checked.
func (a answer) kind(req apiRequest) string {
	switch {
	case req.invalid:
		return "invalid"
	case a.err != nil && a.err.Kind == server.ErrIdempotencyConflict:
		return "conflict"
	case a.err != nil && a.err.Refusal != nil && a.err.Refusal.Duplicate, a.err == nil && a.reply.Duplicate:
		return "duplicate"
	case a.err != nil:
		return "refused"
	case a.reply.Noop:
		return "noop"
	case a.reply.Outcome != nil:
		return a.reply.Outcome.Result
	}
	return "accepted"
}

// operation is the operation an answer names: the one carried out, or the
// refused one.
func (a answer) operation() string {
	if a.err != nil {
		if a.err.Refusal != nil {
			return a.err.Refusal.Operation
		}
		return ""
	}
	return a.reply.Operation
}

// bound is an operation id's first request and its answer.
type bound struct {
	req    apiRequest
	answer answer
}

// apiModel is what must be true of the server's answers.
type apiModel struct {
	env     *servertest.Env
	clients []*client.Client
	policy  coordinator.Policy
	states  map[string]string // every component's state, as last read
	keys    map[string]bound  // operation ids bound to their first request
	sent    []apiRequest      // requests sent with an id, for retries
	seen    map[string]int    // answers checked, by kind (answer.kind)
	// alerted is set once an operation parked with an alert: its
	// blocking_error interlock then joins the refusals the model
	// predicts no more.
	alerted bool
}

func newAPIModel(t *testing.T, rt *rapid.T, seen map[string]int) *apiModel {
	policy := coordinator.Policy{
		ChassisOff: rapid.SampledFrom([]coordinator.ChassisOffPolicy{coordinator.RejectWhileHostsOn, coordinator.ShutdownHostsFirst}).Draw(rt, "chassis_off_policy"),
		HostOn:     rapid.SampledFrom([]coordinator.HostOnPolicy{coordinator.RequireChassisOn, coordinator.PowerChassisOn}).Draw(rt, "host_on_policy"),
	}
	tb := propertyTB{TB: t, rt: rt}
	procs := &instantProcesses{}
	env := servertest.Start(tb, servertest.Options{Platform: servicePlatform(tb), Policy: policy, Services: procs, Users: []server.User{
		{Name: "otto", Password: "otto-pw", Role: server.RoleOperator},
		{Name: "olga", Password: "olga-pw", Role: server.RoleOperator},
	}})
	procs.sys.Store(env.System)
	m := &apiModel{env: env, policy: policy, keys: map[string]bound{}, seen: seen}
	for _, u := range []string{"otto", "olga"} {
		m.clients = append(m.clients, client.New(env.Connect(tb, client.UserInfo(u, u+"-pw"))))
	}
	m.states = m.read(rt)
	return m
}

// read returns every component's state once the server has published
// everything in the log.
func (m *apiModel) read(rt *rapid.T) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	head, err := m.env.Log.Head(ctx)
	if err != nil {
		rt.Fatal(err)
	}
	for m.env.Server.Published() < head {
		if ctx.Err() != nil {
			rt.Fatalf("record %d never published", head)
		}
		time.Sleep(time.Millisecond)
	}
	var list server.ComponentList
	if err := m.clients[0].Request(ctx, server.SubjectComponentsList, server.ListRequest{}, &list); err != nil {
		rt.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range list.Components {
		states[c.ID] = c.State
	}
	return states
}

// run sends requests, as many as rapid's -rapid.steps says on average
// (half with -short), checking each.
func (m *apiModel) run(rt *rapid.T) {
	step := 0
	rt.Repeat(map[string]func(*rapid.T){"request": func(rt *rapid.T) {
		req := m.draw(rt)
		rt.Logf("step %d: %s", step, req)
		step++
		a := m.send(rt, req)
		m.check(rt, req, a)
		m.seen[a.kind(req)]++
	}})
}

// draw picks the next request: a retry of one sent before, or a new one
// under an id drawn from a small pool (so ids get reused for other
// requests), or none.
func (m *apiModel) draw(rt *rapid.T) apiRequest {
	if len(m.sent) > 0 && rapid.IntRange(0, 4).Draw(rt, "retry") == 0 {
		return rapid.SampledFrom(m.sent).Draw(rt, "retried")
	}
	r := apiRequest{sender: rapid.IntRange(0, 1).Draw(rt, "sender"),
		key: rapid.SampledFrom([]string{"", "", "k1", "k2", "k3", "k4"}).Draw(rt, "key")}
	hostTypes := map[string][]string{
		server.SubjectHostPowerOn:  {"", machine.RequestOn, machine.RequestForceOn},
		server.SubjectHostPowerOff: {"", machine.RequestGracefulShutdown, machine.RequestForceOff},
		server.SubjectHostReset: {machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle,
			machine.RequestNmi, machine.RequestPushPowerButton, machine.RequestForceOn},
	}
	r.subject = rapid.SampledFrom([]string{
		server.SubjectHostPowerOn, server.SubjectHostPowerOn, server.SubjectHostPowerOff, server.SubjectHostReset,
		server.SubjectChassisPowerOn, server.SubjectChassisPowerOn, server.SubjectChassisPowerOff, server.SubjectChassisCycle,
		server.SubjectBMCMaintenance, server.SubjectServiceStart, server.SubjectServiceStop, server.SubjectServiceRestart,
		server.SubjectServiceReset, server.SubjectServiceEnable, server.SubjectServiceDisable,
	}).Draw(rt, "subject")
	switch {
	case hostTypes[r.subject] != nil:
		r.target = rapid.SampledFrom(modelHosts).Draw(rt, "host")
		r.typ = rapid.SampledFrom(hostTypes[r.subject]).Draw(rt, "type")
		r.powerChassis = r.subject == server.SubjectHostPowerOn && rapid.IntRange(0, 3).Draw(rt, "power_chassis") == 0
	case r.subject == server.SubjectBMCMaintenance:
		r.target, r.typ = modelBMC, rapid.SampledFrom([]string{"enter", "exit"}).Draw(rt, "maintenance")
	case r.coordinated():
		r.target = modelChassis
	default:
		r.target = rapid.SampledFrom(modelServices).Draw(rt, "service")
	}
	if r.coordinated() {
		r.queue = rapid.IntRange(0, 5).Draw(rt, "queue") == 0
		if r.subject != server.SubjectBMCMaintenance && rapid.IntRange(0, 5).Draw(rt, "override") == 0 {
			r.override = []string{string(coordinator.InterlockMaintenance)}
		}
	}
	if r.forwarded() {
		r.key = "" // forwarded to the service, which would deduplicate: statemgr binds no id
		return r
	}
	if r.subject != server.SubjectBMCMaintenance && rapid.IntRange(0, 11).Draw(rt, "invalid") == 0 {
		r.typ, r.invalid = "Sideways", true
	}
	return r
}

// send sends req and returns its answer; anything but a reply or a
// catalogued error fails the check.
func (m *apiModel) send(rt *rapid.T, req apiRequest) answer {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var a answer
	err := m.clients[req.sender].Request(ctx, req.subject, req.body(), &a.reply)
	if err == nil {
		return a
	}
	if !errors.As(err, &a.err) {
		rt.Fatalf("%s: %v, want a reply or a catalogued error", req, err)
	}
	if k, ok := server.LookupError(a.err.Kind.Code); !ok || k != a.err.Kind {
		rt.Fatalf("%s: error code %d is not in the catalogue: %v", req, a.err.Kind.Code, err)
	}
	if a.err.Kind == server.ErrInternal || a.err.Kind == server.ErrUnavailable || a.err.Kind == server.ErrLogFailed {
		rt.Fatalf("%s: %s", req, a)
	}
	return a
}

// check compares req's answer a, and the components after it, with the
// model, then moves the model on.
func (m *apiModel) check(rt *rapid.T, req apiRequest, a answer) {
	before := m.states
	after := m.read(rt)
	m.states = after
	rt.Logf("  -> %s; states %v", a, after)
	if req.key != "" && !req.invalid {
		m.sent = append(m.sent, req)
	}
	unchanged := func(what string) {
		if !maps.Equal(before, after) {
			rt.Fatalf("%s: %s changed components: %v -> %v", req, what, before, after)
		}
	}
	if req.forwarded() {
		if a.err == nil || a.err.Kind != server.ErrUnsupported {
			rt.Fatalf("%s: %s, want unsupported (no service answers its control subject)", req, a)
		}
		unchanged("an unsupported request")
		return
	}
	if req.invalid {
		if a.err == nil || a.err.Kind != server.ErrUnknownRequest {
			rt.Fatalf("%s: %s, want unknown_request", req, a)
		}
		unchanged("an invalid request")
		return
	}
	first, reused := m.keys[req.key]
	switch {
	case reused && first.req.binding() == req.binding():
		m.checkRetry(rt, req, first.answer, a)
		unchanged("a retry")
		return
	case reused:
		if a.err == nil || a.err.Kind != server.ErrIdempotencyConflict || a.err.Refusal == nil || a.err.Refusal.Operation != first.answer.operation() {
			rt.Fatalf("%s: %s, want idempotency_conflict naming %q (the id's first request, %s: %s)", req, a, first.answer.operation(), first.req, first.answer)
		}
		unchanged("a request refused idempotency_conflict")
		return
	}
	if a.err != nil && a.err.Kind == server.ErrIdempotencyConflict {
		rt.Fatalf("%s: %s, but the id was never used", req, a)
	}
	if a.err == nil && a.reply.Duplicate {
		rt.Fatalf("%s: %s: a first request marked duplicate", req, a)
	}
	if req.key != "" {
		m.keys[req.key] = bound{req: req, answer: a}
	}
	if want, ok := m.refusal(req, before); ok {
		if a.err == nil || a.err.Kind != want.kind || (want.interlock != "" && (a.err.Refusal == nil || a.err.Refusal.Interlock != want.interlock)) {
			rt.Fatalf("%s: %s, want %s %s", req, a, want.kind.Name(), want.interlock)
		}
	}
	if a.err != nil {
		unchanged("a refused request")
		return
	}
	m.checkDone(rt, req, a.reply, before, after)
}

// checkRetry checks a retry's answer: exactly the first one, marked
// duplicate.
func (m *apiModel) checkRetry(rt *rapid.T, req apiRequest, first, a answer) {
	if first.err != nil {
		if a.err == nil || a.err.Kind != first.err.Kind || a.err.Message != first.err.Message || a.operation() != first.operation() ||
			(first.err.Refusal != nil && (a.err.Refusal == nil || !a.err.Refusal.Duplicate)) {
			rt.Fatalf("%s: retry answered %s, want the first refusal %s marked duplicate", req, a, first)
		}
		return
	}
	if a.err != nil || !a.reply.Duplicate || a.reply.Operation != first.reply.Operation || a.reply.ID != first.reply.ID ||
		a.reply.Request != first.reply.Request || a.reply.Kind != first.reply.Kind || a.reply.Noop != first.reply.Noop ||
		!sameOutcome(a.reply.Outcome, first.reply.Outcome) {
		rt.Fatalf("%s: retry answered %s, want the first reply %s marked duplicate", req, a, first)
	}
}

func sameOutcome(a, b *server.Outcome) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Result == b.Result && a.State == b.State && a.Cause == b.Cause && a.Alert == b.Alert && a.Seq == b.Seq
}

// expectedRefusal is a refusal the documented rules predict.
type expectedRefusal struct {
	kind      *server.ErrorKind
	interlock string
}

// refusal predicts the refusal of a new request from the components'
// states before it, if the rules say it must be refused.
func (m *apiModel) refusal(req apiRequest, before map[string]string) (expectedRefusal, bool) {
	target := before[req.target]
	if !req.coordinated() {
		allowed := map[string]string{machine.StateStopped: machine.RequestStart, machine.StateRunning: machine.RequestStop + " " + machine.RequestRestart,
			machine.StateError: machine.RequestReset}[target]
		if !slices.Contains(strings.Fields(allowed), req.effective()) {
			return expectedRefusal{kind: server.ErrRejected}, true
		}
		return expectedRefusal{}, false
	}
	if goal, ok := goal(req); ok && goal == target {
		return expectedRefusal{}, false // a no-op
	} else if ok && goal == machine.StateRunning && (target == machine.StateDiagnosticMode || target == machine.StateQuiesced) {
		return expectedRefusal{kind: server.ErrRejected}, true // powered, but no power on makes it Running
	}
	if req.subject == server.SubjectBMCMaintenance || m.alerted {
		return expectedRefusal{}, false
	}
	if before[modelBMC] == machine.StateMaintenance && !slices.Contains(req.override, string(coordinator.InterlockMaintenance)) {
		return expectedRefusal{server.ErrInterlock, string(coordinator.InterlockMaintenance)}, true
	}
	powersOn := req.subject == server.SubjectHostPowerOn ||
		(req.subject == server.SubjectHostReset && req.typ != machine.RequestNmi && req.typ != machine.RequestForceRestart)
	if powersOn && before[modelChassis] != machine.StateOn && !req.powerChassis && m.policy.HostOn == coordinator.RequireChassisOn {
		return expectedRefusal{server.ErrInterlock, string(coordinator.InterlockPowerDependency)}, true
	}
	if (req.subject == server.SubjectChassisPowerOff || req.subject == server.SubjectChassisCycle) && m.policy.ChassisOff == coordinator.RejectWhileHostsOn &&
		slices.ContainsFunc(modelHosts, func(h string) bool { return before[h] != machine.StateOff }) {
		return expectedRefusal{kind: server.ErrHostsNotOff}, true
	}
	return expectedRefusal{}, false
}

// goal is the stable state a request asks its target for, where it has
// one (a request for the state its target is in is a no-op).
func goal(req apiRequest) (string, bool) {
	reset := req.subject == server.SubjectHostReset
	switch {
	case req.subject == server.SubjectHostPowerOn, reset && (req.typ == machine.RequestOn || req.typ == machine.RequestForceOn):
		return machine.StateRunning, true // host.reset On and ForceOn are power ons
	case req.subject == server.SubjectHostPowerOff, req.subject == server.SubjectChassisPowerOff,
		reset && (req.typ == machine.RequestGracefulShutdown || req.typ == machine.RequestForceOff):
		return machine.StateOff, true
	case req.subject == server.SubjectChassisPowerOn:
		return machine.StateOn, true
	case req.subject == server.SubjectBMCMaintenance && req.typ == "enter":
		return machine.StateMaintenance, true
	case req.subject == server.SubjectBMCMaintenance:
		return machine.StateReady, true
	}
	return "", false
}

// expected returns the states a request that succeeded leaves: its
// target's and those of the components it may change on the way (a
// host's chassis it powers, a chassis' hosts), and which components it
// may change at all.
func (m *apiModel) expected(req apiRequest, before map[string]string) (want map[string]string, footprint []string) {
	want = map[string]string{}
	footprint = []string{req.target}
	if req.subject == server.SubjectHostReset && req.typ == machine.RequestForceOn {
		req.subject = server.SubjectHostPowerOn // the server runs it as one
	}
	switch req.subject {
	case server.SubjectHostPowerOn:
		want[req.target] = machine.StateRunning
		if before[modelChassis] != machine.StateOn && (req.powerChassis || m.policy.HostOn == coordinator.PowerChassisOn) {
			want[modelChassis], footprint = machine.StateOn, append(footprint, modelChassis)
		}
	case server.SubjectHostPowerOff:
		want[req.target] = machine.StateOff
	case server.SubjectHostReset:
		switch req.typ {
		case machine.RequestNmi:
			want[req.target] = machine.StateDiagnosticMode
		case machine.RequestPushPowerButton:
			want[req.target] = map[bool]string{true: machine.StateRunning, false: machine.StateOff}[before[req.target] == machine.StateOff]
		default:
			want[req.target] = machine.StateRunning
		}
	case server.SubjectChassisPowerOn, server.SubjectChassisPowerOff, server.SubjectChassisCycle:
		want[req.target] = map[bool]string{true: machine.StateOff, false: machine.StateOn}[req.subject == server.SubjectChassisPowerOff]
		for _, h := range modelHosts {
			footprint = append(footprint, h)
			if req.subject != server.SubjectChassisPowerOn {
				want[h] = machine.StateOff // chassis power off takes its hosts off first
			} else {
				want[h] = before[h]
			}
		}
	case server.SubjectBMCMaintenance:
		want[req.target], _ = goal(req)
	default:
		want[req.target] = map[string]string{machine.RequestStart: machine.StateRunning, machine.RequestRestart: machine.StateRunning,
			machine.RequestStop: machine.StateStopped, machine.RequestReset: machine.StateStopped}[req.effective()]
	}
	return want, footprint
}

// checkDone checks an accepted request's reply against the components
// before and after it.
func (m *apiModel) checkDone(rt *rapid.T, req apiRequest, reply server.ControlReply, before, after map[string]string) {
	out := reply.Outcome
	if out == nil {
		rt.Fatalf("%s: a waited request replied without an outcome: %+v", req, reply)
	}
	if out.Alert != "" {
		m.alerted = true
	}
	want, footprint := m.expected(req, before)
	for id := range before {
		if !slices.Contains(footprint, id) && after[id] != before[id] {
			rt.Fatalf("%s changed %s, which it does not name: %s -> %s", req, id, before[id], after[id])
		}
	}
	if g, ok := goal(req); ok && req.coordinated() && g == before[req.target] {
		if !reply.Noop || out.Result != server.ResultSucceeded || !maps.Equal(before, after) {
			rt.Fatalf("%s: %s is already %s: replied noop=%t %+v, states %v -> %v; want a no-op that changes nothing", req, req.target, g, reply.Noop, *out, before, after)
		}
		return
	}
	if reply.Noop {
		rt.Fatalf("%s: a no-op, but %s was %s", req, req.target, before[req.target])
	}
	switch out.Result {
	case server.ResultSucceeded:
		for id, st := range want {
			if after[id] != st {
				rt.Fatalf("%s succeeded, but %s is %s, want %s (states %v -> %v)", req, id, after[id], st, before, after)
			}
		}
		if out.State != want[req.target] {
			rt.Fatalf("%s succeeded in state %s, want %s", req, out.State, want[req.target])
		}
	case server.ResultCompensated:
		for _, id := range footprint {
			if after[id] != before[id] {
				rt.Fatalf("%s compensated, but %s went %s -> %s", req, id, before[id], after[id])
			}
		}
	case server.ResultInProgress:
		rt.Fatalf("%s: still in progress after its wait: %+v", req, *out)
	}
}
