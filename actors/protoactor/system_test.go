package protoactor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/snapshots"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// recorder is an Effector that remembers what it was asked to do.
type recorder struct {
	mu      sync.Mutex
	effects map[actors.ID][]string
}

func (r *recorder) Perform(id actors.ID, effects []machine.Effect) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.effects == nil {
		r.effects = map[actors.ID][]string{}
	}
	for _, e := range effects {
		r.effects[id] = append(r.effects[id], e.Name)
	}
}

func (r *recorder) names(id actors.ID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.effects[id]...)
}

func compiled(t testing.TB, m *machine.Machine) *machine.Compiled {
	t.Helper()
	c, err := machine.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func components(t testing.TB) map[actors.ID]*machine.Compiled {
	return map[actors.ID]*machine.Compiled{
		"host.0":       compiled(t, machine.Host(machine.DefaultHostConfig())),
		"chassis.0":    compiled(t, machine.Chassis(machine.DefaultChassisConfig())),
		"bmc.0":        compiled(t, machine.BMC(machine.DefaultBMCConfig())),
		"service.sync": compiled(t, machine.Service(machine.DefaultServiceConfig())),
	}
}

type env struct {
	log   *memlog.Log
	snaps *memsnap.Store
	clock *clock.Virtual
	fx    *recorder
	sys   *protoactor.System
	esc   chan protoactor.Escalation
}

func (e *env) config(t testing.TB) protoactor.Config {
	return protoactor.Config{
		Log: e.log, Snapshots: e.snaps, SnapshotPolicy: snapshots.Policy{EveryEvents: 3, Keep: 2},
		Clock: e.clock, Logger: hclog.NewNullLogger(), Effects: e.fx, Seed: 1,
		Backoff: protoactor.Backoff{Initial: time.Second, Max: 8 * time.Second, Multiplier: 2, Jitter: 0.1, Budget: 2, Window: time.Minute},
		OnEscalate: func(x protoactor.Escalation) {
			select { // OnEscalate must not block the supervisor
			case e.esc <- x:
			default:
			}
		},
	}
}

func start(t testing.TB) *env {
	e := &env{log: memlog.New(), snaps: memsnap.New(), clock: clock.NewVirtual(t0), fx: &recorder{}, esc: make(chan protoactor.Escalation, 16)}
	e.restart(t)
	t.Cleanup(func() { e.sys.Stop() })
	return e
}

// restart stops the system (if running) and starts a new one over the same
// log and snapshots, as a daemon restart does.
func (e *env) restart(t testing.TB) {
	t.Helper()
	if e.sys != nil {
		e.sys.Stop()
	}
	sys, err := protoactor.Start(e.config(t), components(t))
	if err != nil {
		t.Fatal(err)
	}
	e.sys = sys
}

// awaitRestart moves the virtual clock past the longest backoff, which
// fires the restart of a component whose failure has been handled.
func (e *env) awaitRestart(t interface{ Fatalf(string, ...any) }, id actors.ID) {
	e.clock.Advance(10 * time.Second)
	if _, err := e.sys.Get(ctx, id); err != nil {
		t.Fatalf("%s did not come back after a panic: %v", id, err)
	}
}

func request(trigger, op string, facts ...string) machine.Input {
	in := machine.Input{Kind: machine.KindRequest, Trigger: trigger, Operation: op, Requester: "operator:test", Facts: machine.Facts{}}
	for _, f := range facts {
		in.Facts[f] = true
	}
	return in
}

func observe(trigger string) machine.Input {
	return machine.Input{Kind: machine.KindObservation, Trigger: trigger}
}

func state(t *testing.T, e *env, id actors.ID) string {
	t.Helper()
	v, err := e.sys.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Status.State
}

func TestRequestIsDurableBeforeReply(t *testing.T) {
	e := start(t)
	out, err := e.sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on"))
	if err != nil {
		t.Fatal(err)
	}
	if out.View.Status.State != machine.StateTransitioningToRunning || out.Duplicate {
		t.Fatalf("On from Off: %+v", out.View)
	}
	evs, err := e.log.ReadStream(ctx, "host.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != string(actors.EventCreated) || evs[1].Type != "transition" || evs[1].Operation != "op-1" || evs[1].Requester != "operator:test" {
		t.Fatalf("log after On: %+v; want creation then the transition with operation and requester", evs)
	}
	if len(out.Stored) != 1 || out.Stored[0].GlobalSeq != evs[1].GlobalSeq {
		t.Fatalf("outcome's stored records %+v differ from the log's", out.Stored)
	}
	if got := e.fx.names("host.0"); len(got) == 0 {
		t.Fatal("no effect handed to the effector after the transition")
	}
	if err := actors.CheckLog(machine.Host(machine.DefaultHostConfig()), evs); err != nil {
		t.Fatal(err)
	}
}

func TestRejectedRequestNamesStateAndAllowed(t *testing.T) {
	e := start(t)
	_, err := e.sys.Request(ctx, "host.0", request(machine.RequestGracefulShutdown, "op-1"))
	var rej *machine.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("GracefulShutdown from Off: %v, want a *machine.RejectedError", err)
	}
	if _, err := e.sys.Get(ctx, "host.7"); !errors.Is(err, actors.ErrUnknownComponent) {
		t.Fatalf("unknown component: %v", err)
	}
}

// A request rejected under an operation id with RecordRejection is on
// record and binds the id: a retry gets the same rejection, marked
// duplicate, even once the machine would take the request; another request
// under the id is a conflict. A rejection without an id, or not to be
// recorded, leaves nothing in the log.
func TestRejectedRequestBindsItsOperation(t *testing.T) {
	e := start(t)
	in := machine.Input{Kind: machine.KindRequest, Trigger: machine.RequestOn, Requester: "operator:test"}
	if _, err := e.sys.Request(ctx, "host.0", in); !errors.Is(err, machine.ErrRejected) {
		t.Fatalf("On without chassis power: %v, want rejected", err)
	}
	if head, _ := e.log.StreamHead(ctx, "host.0"); head != 1 {
		t.Fatalf("a rejected request without an operation id was logged (head %d)", head)
	}
	unbound := request(machine.RequestOn, "op-0")
	if _, err := e.sys.Request(ctx, "host.0", unbound); !errors.Is(err, machine.ErrRejected) || errors.As(err, new(*protoactor.RefusedError)) {
		t.Fatalf("On without chassis power under op-0, not to be recorded: %v, want a plain rejection", err)
	}
	if head, _ := e.log.StreamHead(ctx, "host.0"); head != 1 {
		t.Fatalf("a rejected request without RecordRejection was logged (head %d)", head)
	}
	in = request(machine.RequestOn, "op-1")
	in.RecordRejection = true
	_, err := e.sys.Request(ctx, "host.0", in)
	var first *protoactor.RefusedError
	if !errors.As(err, &first) || first.Duplicate || len(first.Stored) != 1 || first.Stored[0].Type != string(machine.EventRejected) || !errors.Is(err, machine.ErrRejected) {
		t.Fatalf("On without chassis power under op-1: %v (%+v), want a recorded rejection", err, first)
	}
	for _, tc := range []struct {
		name string
		in   machine.Input
	}{
		{"the retry, now allowed", request(machine.RequestOn, "op-1", "chassis_on")},
		{"the retry after a restart", request(machine.RequestOn, "op-1", "chassis_on")},
	} {
		tc.in.RecordRejection = true
		if tc.name == "the retry after a restart" {
			e.restart(t)
		}
		_, err := e.sys.Request(ctx, "host.0", tc.in)
		var again *protoactor.RefusedError
		if !errors.As(err, &again) || !again.Duplicate || err.Error() != first.Error() || !slices.Equal(again.Rejected.Allowed, first.Rejected.Allowed) ||
			again.Rejected.Hint != first.Rejected.Hint || !errors.Is(err, machine.ErrRejected) {
			t.Fatalf("%s: %v (%+v), want the first rejection %v marked duplicate", tc.name, err, again, first)
		}
	}
	var conflict *protoactor.ConflictError
	if _, err := e.sys.Request(ctx, "host.0", request(machine.RequestForceOn, "op-1", "chassis_on")); !errors.As(err, &conflict) {
		t.Fatalf("ForceOn under the rejected On's id: %v, want a conflict", err)
	}
	evs, err := e.log.ReadStream(ctx, "host.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("log %+v, want creation and the one rejection", evs)
	}
	if err := actors.CheckLog(machine.Host(machine.DefaultHostConfig()), evs); err != nil {
		t.Fatal(err)
	}
}

func TestRetriedOperationGetsFirstOutcome(t *testing.T) {
	e := start(t)
	first, err := e.sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on"))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !again.Duplicate || len(again.Stored) != 1 || again.Stored[0].GlobalSeq != first.Stored[0].GlobalSeq {
		t.Fatalf("retry outcome %+v, want the first outcome marked duplicate", again)
	}
	// The memory of operations survives a restart.
	e.restart(t)
	again, err = e.sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on"))
	if err != nil || !again.Duplicate {
		t.Fatalf("retry after restart: %+v, %v", again, err)
	}
	if head, _ := e.log.StreamHead(ctx, "host.0"); head != 2 {
		t.Fatalf("retries were logged: head %d, want 2", head)
	}
}

func TestTransitionalStateTimesOutToError(t *testing.T) {
	e := start(t)
	if _, err := e.sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on")); err != nil {
		t.Fatal(err)
	}
	// The default power-on timeout is the 8 s power-good timeout plus the
	// 5 s a power cycle spends off.
	e.clock.Advance(12 * time.Second)
	if _, err := e.sys.Tick(ctx, "host.0"); err != nil {
		t.Fatal(err)
	}
	if got := state(t, e, "host.0"); got != machine.StateTransitioningToRunning {
		t.Fatalf("after 12 s: %s, want still TransitioningToRunning", got)
	}
	e.clock.Advance(2 * time.Second)
	out, err := e.sys.Tick(ctx, "host.0")
	if err != nil {
		t.Fatal(err)
	}
	if out.View.Status.State != machine.StateError {
		t.Fatalf("after the power-good timeout: %s, want Error", out.View.Status.State)
	}
	if out.View.Status.Cause == "" {
		t.Fatal("timeout recorded no cause")
	}
}

func TestRestartRecoversFromSnapshotAndLog(t *testing.T) {
	e := start(t)
	steps := []machine.Input{request(machine.RequestOn, "a", "chassis_on"), observe(machine.ObservedPowerGoodAsserted), observe(machine.ObservedPostComplete),
		request(machine.RequestGracefulShutdown, "b")}
	for _, in := range steps {
		if _, err := e.sys.Request(ctx, "host.0", in); err != nil {
			t.Fatalf("%s: %v", in.Trigger, err)
		}
	}
	before, _ := e.sys.Get(ctx, "host.0")
	snaps, _, _ := e.snaps.List(ctx, "host.0")
	if len(snaps) == 0 {
		t.Fatal("policy every 3 events took no snapshot")
	}
	e.restart(t)
	after, err := e.sys.Get(ctx, "host.0")
	if err != nil {
		t.Fatal(err)
	}
	if after.Status.State != before.Status.State || after.Version != before.Version || !after.Status.Since.Equal(before.Status.Since) {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
}

func TestPanicRestartsWithBackoffAndEscalates(t *testing.T) {
	e := start(t)
	if _, err := e.sys.Request(ctx, "chassis.0", request(machine.RequestOn, "op-1", "power_status_good")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		e.sys.Panic("chassis.0", "injected")
		// The restart waits on the virtual clock: the component answers
		// nothing until its backoff (1 s, 2 s, 4 s, +-10%) passes.
		backoff := time.Duration(1<<(i-1)) * time.Second
		e.clock.Advance(backoff * 8 / 10)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := e.sys.Get(short, "chassis.0")
		cancel()
		if err == nil {
			t.Fatalf("failure %d: answered before its backoff passed", i)
		}
		e.clock.Advance(backoff * 4 / 10)
		if got := state(t, e, "chassis.0"); got != machine.StateTransitioningToOn {
			t.Fatalf("failure %d: after restart %s, want TransitioningToOn", i, got)
		}
	}
	select {
	case x := <-e.esc:
		if x.Failures != 3 {
			t.Fatalf("escalated after %d failures, want 3 (budget 2)", x.Failures)
		}
	default:
		t.Fatal("third failure within the window was not escalated")
	}
	if head, _ := e.log.StreamHead(ctx, "chassis.0"); head != 2 {
		t.Fatalf("panics changed the log: head %d", head)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := protoactor.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 500: time.Second} {
		if got := b.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestLiveStateEqualsReplay drives random inputs, clock moves, restarts and
// panics, and checks after each step that (a) every component's live state
// is the state replayed from its log alone, (b) each log holds only
// transitions its machine allows, and (c) nothing panics the process.
func TestLiveStateEqualsReplay(t *testing.T) {
	machines := map[actors.ID]*machine.Machine{
		"host.0": machine.Host(machine.DefaultHostConfig()), "chassis.0": machine.Chassis(machine.DefaultChassisConfig()),
		"bmc.0": machine.BMC(machine.DefaultBMCConfig()), "service.sync": machine.Service(machine.DefaultServiceConfig()),
	}
	ids := []actors.ID{"host.0", "chassis.0", "bmc.0", "service.sync"}
	triggers := []string{machine.RequestOn, machine.RequestForceOn, machine.RequestGracefulShutdown, machine.RequestForceOff,
		machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle, machine.RequestNmi,
		machine.RequestPushPowerButton, machine.RequestOff, machine.RequestEnterMaintenance, machine.RequestExitMaintenance,
		machine.RequestStart, machine.RequestStop, machine.RequestRestart, machine.RequestReset,
		machine.ObservedPowerGoodAsserted, machine.ObservedPowerGoodDeasserted, machine.ObservedPostComplete,
		machine.ObservedOSShutdown, machine.ObservedWatchdogExpired, machine.ObservedHostCrash, machine.ObservedServicesReady,
		machine.ObservedCriticalServiceFailed, machine.ObservedUpdateStarted, machine.ObservedUpdateFinished,
		machine.ObservedInitialized, machine.ObservedInitializationFailed, machine.ObservedRuntimeError, machine.ObservedStopped}
	facts := []string{"chassis_on", "bmc_ready", "hosts_off", "firmware_update_in_progress", "auto_reboot", "power_status_good"}
	rapid.Check(t, func(rt *rapid.T) {
		e := start(t)
		ops := 0
		rt.Repeat(map[string]func(*rapid.T){
			"input": func(rt *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				trig := rapid.SampledFrom(triggers).Draw(rt, "trigger")
				in := observe(trig)
				if trig[0] >= 'A' && trig[0] <= 'Z' {
					ops++
					in = request(trig, "op-"+string(rune('a'+ops%26)), rapid.SliceOfDistinct(rapid.SampledFrom(facts), rapid.ID[string]).Draw(rt, "facts")...)
				}
				_, err := e.sys.Request(ctx, id, in)
				var rej *machine.RejectedError
				// The ids wrap around: one reused for another request is refused.
				var conflict *protoactor.ConflictError
				if err != nil && !errors.As(err, &rej) && !errors.As(err, &conflict) && !errors.Is(err, machine.ErrInvalidInput) {
					rt.Fatalf("%s %s: %v", id, trig, err)
				}
			},
			"time": func(rt *rapid.T) {
				e.clock.Advance(time.Duration(rapid.IntRange(1, 400).Draw(rt, "seconds")) * time.Second)
				for _, id := range ids {
					if _, err := e.sys.Tick(ctx, id); err != nil {
						rt.Fatal(err)
					}
				}
			},
			"restart": func(rt *rapid.T) { e.restart(t) },
			"panic": func(rt *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				e.sys.Panic(id, "injected")
				e.awaitRestart(rt, id)
			},
			"": func(rt *rapid.T) {
				for _, id := range ids {
					// Timers armed on the virtual clock may still deliver a
					// tick the actor has not handled: wait until the actor
					// and its log agree on the version. A stale writer would
					// never let them agree.
					var live *protoactor.View
					var evs []events.Event
					for try := 0; ; try++ {
						var err error
						if live, err = e.sys.Get(ctx, id); err != nil {
							rt.Fatal(err)
						}
						if evs, err = e.log.ReadStream(ctx, string(id), 1, 0); err != nil {
							rt.Fatal(err)
						}
						if uint64(len(evs)) == live.Version || try == 200 {
							break
						}
						time.Sleep(time.Millisecond)
					}
					if err := actors.CheckLog(machines[id], evs); err != nil {
						rt.Fatal(err)
					}
					last, err := actors.DecodeRecord(evs[len(evs)-1])
					if err != nil {
						rt.Fatal(err)
					}
					if last.Status.State != live.Status.State || !last.Status.Since.Equal(live.Status.Since) || uint64(len(evs)) != live.Version {
						var trace []string
						for _, ev := range evs {
							r, _ := actors.DecodeRecord(ev)
							trace = append(trace, fmt.Sprintf("%d:%s %s->%s (%s) op=%q", ev.StreamSeq, ev.Type, r.Event.From, r.Event.To, r.Event.Trigger, ev.Operation))
						}
						rt.Fatalf("%s live %s since %v at %d, log replays to %s since %v at %d:\n%s", id, live.Status.State, live.Status.Since, live.Version,
							last.Status.State, last.Status.Since, len(evs), strings.Join(trace, "\n"))
					}
				}
			},
		})
	})
}

// A stream written by builds that logged records as JSON replays, and the
// binary records appended after it replay with it.
func TestRecoversFromJSONRecords(t *testing.T) {
	log := memlog.New()
	st := machine.Status{State: machine.StateRunning, Since: t0.Add(time.Second), Transitions: 1, Requested: &machine.Request{Name: machine.RequestOn, Operation: "old", Time: t0}}
	var old []events.Event
	for _, r := range []actors.Record{
		{Event: machine.Event{Type: actors.EventCreated, Machine: "host", To: machine.StateOff, Time: t0}, Status: machine.Status{State: machine.StateOff, Since: t0}},
		{Event: machine.Event{Type: machine.EventTransition, Machine: "host", From: machine.StateOff, To: machine.StateRunning, Trigger: machine.ObservedPowerGoodAsserted, Time: st.Since}, Status: st},
	} {
		payload, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, events.Event{Type: string(r.Event.Type), Schema: actors.RecordSchemaJSON, Time: r.Event.Time, Payload: payload})
	}
	if _, _, err := log.Append(ctx, "host.0", events.NoStream(), old); err != nil {
		t.Fatal(err)
	}
	e := &env{log: log, snaps: memsnap.New(), clock: clock.NewVirtual(t0.Add(time.Minute)), fx: &recorder{}, esc: make(chan protoactor.Escalation, 16)}
	e.restart(t)
	t.Cleanup(func() { e.sys.Stop() })
	if v, err := e.sys.Get(ctx, "host.0"); err != nil || v.Status.State != machine.StateRunning || v.Version != 2 || v.Status.Requested.Operation != "old" {
		t.Fatalf("recovered from JSON records: %+v, %v", v, err)
	}
	if _, err := e.sys.Request(ctx, "host.0", request(machine.RequestGracefulShutdown, "new")); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	v, err := e.sys.Get(ctx, "host.0")
	if err != nil || v.Status.State != machine.StateTransitioningToOff || v.Version != 3 || v.Status.Transitions != 2 {
		t.Fatalf("recovered from JSON and binary records: %+v, %v", v, err)
	}
	evs, err := log.ReadStream(ctx, "host.0", 3, 0)
	if err != nil || len(evs) != 1 || evs[0].Schema != actors.RecordSchema {
		t.Fatalf("record appended after JSON ones: %+v, %v; want schema %d", evs, err, actors.RecordSchema)
	}
}

// TestCoordinatorPerformedEffectsSkipTheEffector: a request the
// coordinator performs (Input.PerformedBy) is recorded with its performer
// and its effects returned, but none reaches the Effector; the timeout of
// the state it led into keeps that performer, across a restart too. A
// plain request's effects reach the Effector.
func TestCoordinatorPerformedEffectsSkipTheEffector(t *testing.T) {
	e := start(t)
	in := request(machine.RequestOn, "op-000001/1", "chassis_on")
	in.PerformedBy = machine.PerformedByCoordinator
	out, err := e.sys.Request(ctx, "host.0", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Effects) == 0 || out.Effects[0].PerformedBy != machine.PerformedByCoordinator {
		t.Fatalf("outcome effects %+v, want the power button press performed by the coordinator", out.Effects)
	}
	if got := e.fx.names("host.0"); len(got) != 0 {
		t.Fatalf("effector got %v for a coordinator step, want nothing", got)
	}
	e.restart(t)
	e.clock.Advance(14 * time.Second)
	if _, err := e.sys.Tick(ctx, "host.0"); err != nil {
		t.Fatal(err)
	}
	evs, err := e.log.ReadStream(ctx, "host.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var performers []machine.Performer
	for _, ev := range evs[1:] {
		r, err := actors.DecodeRecord(ev)
		if err != nil {
			t.Fatal(err)
		}
		performers = append(performers, r.Event.PerformedBy)
	}
	if len(performers) < 2 || slices.ContainsFunc(performers, func(p machine.Performer) bool { return p != machine.PerformedByCoordinator }) {
		t.Fatalf("performers recorded for the request and its timeout: %v, want coordinator for each", performers)
	}
	if got := e.fx.names("host.0"); len(got) != 0 {
		t.Fatalf("effector got %v after the coordinator step's timeout, want nothing", got)
	}

	if _, err := e.sys.Request(ctx, "chassis.0", request(machine.RequestOn, "op-2")); err != nil {
		t.Fatal(err)
	}
	if got := e.fx.names("chassis.0"); len(got) == 0 {
		t.Fatal("a plain request's effects did not reach the effector")
	}
}

// TestUnknownPerformerIsRefused: a performer Step does not know is an
// invalid input, recorded nowhere.
func TestUnknownPerformerIsRefused(t *testing.T) {
	e := start(t)
	in := request(machine.RequestOn, "op-3", "chassis_on")
	in.PerformedBy = "devices"
	if _, err := e.sys.Request(ctx, "host.0", in); !errors.Is(err, machine.ErrInvalidInput) {
		t.Fatalf("performer %q: %v, want ErrInvalidInput", in.PerformedBy, err)
	}
	if got := state(t, e, "host.0"); got != machine.StateOff {
		t.Fatalf("host after a refused input: %s, want Off", got)
	}
}

// TestOnChangeNamesStandingAlertKinds checks that OnChange hears the kind
// of each standing alert (the daemon's statemgr_alerts_standing), after
// the alert is durable and again once it clears: a transition's alert
// until the next step, a time-in-state alert while its condition holds.
func TestOnChangeNamesStandingAlertKinds(t *testing.T) {
	e := &env{log: memlog.New(), snaps: memsnap.New(), clock: clock.NewVirtual(t0), fx: &recorder{}, esc: make(chan protoactor.Escalation, 16)}
	var mu sync.Mutex
	var last []machine.AlertKind
	cfg := e.config(t)
	cfg.OnChange = func(ch protoactor.Change) {
		if ch.ID == "host.0" {
			mu.Lock()
			last = ch.Alerts
			mu.Unlock()
		}
	}
	sys, err := protoactor.Start(cfg, components(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Stop)
	standing := func() []machine.AlertKind {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	if _, err := sys.Request(ctx, "host.0", request(machine.RequestOn, "op-1", "chassis_on")); err != nil {
		t.Fatal(err)
	}
	// The component's own timers fire as the virtual clock passes them
	// (clock.AfterFunc); their steps are heard through OnChange.
	await := func(when string, want ...machine.AlertKind) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(standing(), want) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := standing(); !slices.Equal(got, want) {
			t.Fatalf("%s, standing alerts %v, want %v", when, got, want)
		}
	}
	e.clock.Advance(14 * time.Second) // past the power-good timeout: Error
	// The timeout's own alert stands until the next step.
	await("just in Error", machine.AlertTransition)
	e.clock.Advance(5 * time.Minute)
	await("after 5 min in Error", machine.AlertStuckInError)
	out, err := sys.Request(ctx, "host.0", request(machine.RequestForceOff, "op-2"))
	if err != nil {
		t.Fatal(err)
	}
	if out.View.Status.State == machine.StateError {
		t.Fatalf("ForceOff left host.0 in Error")
	}
	if got := standing(); len(got) != 0 {
		t.Fatalf("out of Error (%s), standing alerts %v", out.View.Status.State, got)
	}
}
