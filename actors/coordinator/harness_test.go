package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/snapshots"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

const (
	host0   = actors.ID("host.0")
	host1   = actors.ID("host.1")
	chassis = actors.ID("chassis.0")
	bmc     = actors.ID("bmc.0")
)

// rig is a whole system on a virtual clock: simulated platform, the
// production hardware layer over it (adapters/devices, without Run: the
// coordinator only calls it), memlog + memsnap, a real protoactor.System
// over the default platform's components, and a coordinator.
type rig struct {
	t     testing.TB
	clk   *clock.Virtual
	p     *simhw.Platform
	plat  *platform.Platform
	hw    *devices.Hardware
	store *memlog.Store
	log   events.Log
	snaps *memsnap.Store
	sys   *protoactor.System
	co    *coordinator.Coordinator
	cfg   coordinator.Config
	// wrap, if set, wraps the log every incarnation uses (crash tests).
	wrap func(*memlog.Log) events.Log
	// components wraps the System for the coordinator (failure tests).
	components func(coordinator.Components) coordinator.Components
}

type option func(*rig)

func withPolicy(f func(*coordinator.Policy)) option { return func(r *rig) { f(&r.cfg.Policy) } }

func newRig(t testing.TB, opts ...option) *rig {
	t.Helper()
	// Parsed once per rig: parsing is a good part of a rig's set-up.
	return newRigOn(t, platform.Default(), opts...)
}

// newRigOn is newRig on plat, which must have the default platform's
// devices (it may add states to the machines).
func newRigOn(t testing.TB, plat *platform.Platform, opts ...option) *rig {
	t.Helper()
	clk := clock.NewVirtual(t0)
	p, err := simhw.New(clk, simhw.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// simhw's default platform has the default platform file's PSU, host,
	// line and zone names, with each zone heated by its own host.
	hw, err := devices.New(devices.Config{Platform: plat, Clock: clk, Sim: p})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clk: clk, p: p, plat: plat, hw: hw, snaps: memsnap.New()}
	topo := coordinator.TopologyOf(plat)
	for i := range topo.Zones {
		topo.Zones[i].Hosts = []actors.ID{actors.ID("host." + strings.TrimPrefix(topo.Zones[i].Name, "zone"))}
	}
	// A 250 ms poll keeps 300 s graceful waits cheap to simulate; the
	// hardware's own delays (200 ms PSU ramp, 500 ms power good) are of
	// the same order.
	r.cfg = coordinator.Config{Hardware: assembly.Board{Hardware: r.hw}, Clock: clk, Topology: topo, Timeouts: coordinator.Timeouts{Poll: 250 * time.Millisecond}}
	for _, o := range opts {
		o(r)
	}
	r.store = memlog.NewStore()
	r.boot()
	r.ready()
	t.Cleanup(r.close)
	return r
}

// close stops the system and the coordinator and releases the hardware.
// It runs at cleanup; a test making many rigs calls it early, since a
// Hardware holds an actor system of a few MB until closed.
func (r *rig) close() {
	r.stop()
	if err := r.hw.Close(); err != nil {
		r.t.Errorf("closing the devices: %v", err)
	}
	_ = r.p.Close()
}

func memlogOpen(r *rig) events.Log { return memlog.Open(r.store) }

func freshStore() *memlog.Store { return memlog.NewStore() }

// settle2 settles the hardware only (no coordinator running).
func (r *rig) settle2() {
	r.t.Helper()
	if err := r.p.Settle(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// boot starts a System and a coordinator over the store's acknowledged log.
func (r *rig) boot() {
	r.t.Helper()
	ml := memlog.Open(r.store)
	r.log = ml
	if r.wrap != nil {
		r.log = r.wrap(ml)
	}
	r.sys = r.startSystem(r.log)
	cfg := r.cfg
	cfg.Log = r.log
	cfg.Components = r.sys
	if r.components != nil {
		cfg.Components = r.components(r.sys)
	}
	var err error
	r.co, err = coordinator.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.co.Start(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// startSystem starts the component actors of the default platform.
func (r *rig) startSystem(log events.Log) *protoactor.System {
	r.t.Helper()
	compiled, err := r.plat.Compiled()
	if err != nil {
		r.t.Fatal(err)
	}
	sys, err := protoactor.Start(protoactor.Config{Log: log, Snapshots: r.snaps, SnapshotPolicy: snapshots.Policy{EveryEvents: 25, Keep: 2}, Clock: r.clk}, compiled)
	if err != nil {
		r.t.Fatal(err)
	}
	return sys
}

func (r *rig) stop() {
	if r.co != nil {
		// Stop waits for the sagas it cancels, and a saga holding a button
		// finishes its hold (the line is always released) on the clock:
		// keep the virtual clock moving until Stop returns.
		stopped := make(chan struct{})
		go func() {
			r.co.Stop(ctx)
			close(stopped)
		}()
		for waiting := true; waiting; {
			select {
			case <-stopped:
				waiting = false
			case <-time.After(time.Millisecond):
				r.clk.Advance(100 * time.Millisecond)
			}
		}
	}
	if r.sys != nil {
		r.sys.Stop()
	}
	r.co, r.sys = nil, nil
}

// restart is a daemon (or BMC) restart: everything acknowledged survives,
// the hardware keeps running.
func (r *rig) restart() {
	r.t.Helper()
	r.stop()
	r.boot()
}

// ready makes the BMC Ready, as its services would.
func (r *rig) ready() {
	r.t.Helper()
	if _, err := r.sys.Request(ctx, bmc, machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedServicesReady}); err != nil {
		r.t.Fatal(err)
	}
}

// settle lets everything that is due happen without moving the clock.
func (r *rig) settle() {
	r.t.Helper()
	if err := assembly.SettleWith(ctx, r.hw, r.co); err != nil {
		r.t.Fatal(err)
	}
}

// driveUntil moves the virtual clock from deadline to deadline until done
// holds or limit of virtual time passed; it reports whether done held.
func (r *rig) driveUntil(limit time.Duration, done func() bool) bool {
	r.t.Helper()
	end := r.clk.Now().Add(limit)
	for {
		r.settle()
		if done() {
			return true
		}
		next, ok := r.clk.NextDeadline()
		if !ok || next.After(end) {
			r.clk.Set(end)
			r.settle()
			return done()
		}
		r.clk.Set(next)
	}
}

// advance moves virtual time by d, through every deadline on the way.
func (r *rig) advance(d time.Duration) { r.driveUntil(d, func() bool { return false }) }

// wait drives until operation id has an outcome (at most limit).
func (r *rig) wait(id string, limit time.Duration) coordinator.Result {
	r.t.Helper()
	var res coordinator.Result
	ok := r.driveUntil(limit, func() bool {
		var done bool
		var err error
		res, done, err = r.co.Operation(id)
		if err != nil {
			r.t.Fatal(err)
		}
		return done
	})
	if !ok {
		r.t.Fatalf("operation %s has no outcome after %s of virtual time", id, limit)
	}
	return res
}

// do submits req and drives until its outcome.
func (r *rig) do(req coordinator.Request) (coordinator.Result, error) {
	r.t.Helper()
	id, err := r.co.Submit(ctx, req)
	if id == "" {
		return coordinator.Result{}, err
	}
	return r.wait(id, 30*time.Minute), err
}

// must runs req and fails the test unless it succeeds.
func (r *rig) must(req coordinator.Request) coordinator.Result {
	r.t.Helper()
	res, err := r.do(req)
	if err != nil || res.Outcome != saga.Succeeded {
		r.t.Fatalf("%s %s = %+v, %v", req.Kind, req.Target, res, err)
	}
	return res
}

func (r *rig) state(id actors.ID) string {
	r.t.Helper()
	// Fire a timeout that came due; its timer's tick may still be in flight.
	if _, err := r.sys.Tick(ctx, id); err != nil {
		r.t.Fatal(err)
	}
	v, err := r.sys.Get(ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return v.Status.State
}

func (r *rig) powered(host string) bool {
	st, err := r.p.Host(host)
	if err != nil {
		r.t.Fatal(err)
	}
	return st.PowerGood
}

func (r *rig) inject(f simhw.Fault) {
	r.t.Helper()
	if err := r.p.Inject(f); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) clear(kind simhw.FaultKind, target string) {
	r.t.Helper()
	if err := r.p.Clear(kind, target); err != nil {
		r.t.Fatal(err)
	}
}

// records returns the coordinator records of type typ.
func (r *rig) records(typ string) []coordinator.Record {
	r.t.Helper()
	evs, err := r.log.ReadStream(ctx, coordinator.Stream, 1, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []coordinator.Record
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		rec, err := coordinator.DecodeRecord(e)
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// checkInvariant replays the whole log in global order and fails if any
// host was ever Running while its chassis was not On.
func checkInvariant(t testing.TB, log events.Log) {
	t.Helper()
	evs, err := log.ReadAll(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, e := range evs {
		if !strings.HasPrefix(e.Stream, "host.") && !strings.HasPrefix(e.Stream, "chassis.") {
			continue
		}
		rec, err := actors.DecodeRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		state[e.Stream] = rec.Status.State
		for s, st := range state {
			if strings.HasPrefix(s, "host.") && st == machine.StateRunning && state["chassis.0"] != machine.StateOn {
				t.Fatalf("global seq %d: %s Running while chassis.0 is %s", e.GlobalSeq, s, state["chassis.0"])
			}
		}
	}
}

// checkAgrees fails unless components and hardware agree.
func (r *rig) checkAgrees() {
	r.t.Helper()
	r.settle()
	for _, h := range []string{"0", "1"} {
		st := r.state(actors.ID("host." + h))
		if on := r.powered(h); on != (st == machine.StateRunning || st == machine.StateQuiesced || st == machine.StateDiagnosticMode) {
			r.t.Fatalf("host %s powered=%t but its component is %s", h, on, st)
		}
	}
	if on, st := r.p.ChassisPowerGood(), r.state(chassis); on != (st == machine.StateOn) {
		r.t.Fatalf("chassis power good=%t but its component is %s", on, st)
	}
}

func chassisOn() coordinator.Request {
	return coordinator.Request{Kind: coordinator.ChassisPowerOn, Target: chassis, Requester: "user:alice"}
}

func hostOn(h actors.ID) coordinator.Request {
	return coordinator.Request{Kind: coordinator.HostPowerOn, Target: h, Requester: "user:alice"}
}

func hostOff(h actors.ID) coordinator.Request {
	return coordinator.Request{Kind: coordinator.HostGracefulOff, Target: h, Requester: "user:alice"}
}

func sagaRecords(t testing.TB, log events.Log, op string) []string {
	t.Helper()
	evs, err := log.ReadStream(ctx, saga.Stream(op), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
