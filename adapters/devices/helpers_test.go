package devices

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/snapshots"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

const (
	host0   actors.ID = "host.0"
	chassis actors.ID = "chassis.0"
	bmc     actors.ID = "bmc.0"
)

// lockedBuffer collects the logs, shown when a test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a simulated platform, its Hardware and a protoactor.System of the
// default platform's components with the Hardware as Effector.
type rig struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.Virtual
	plat  *platform.Platform
	sim   *simhw.Platform
	hw    *Hardware
	sys   *protoactor.System
	log   *memlog.Log
	logs  *lockedBuffer
	comps map[actors.ID]*machine.Compiled

	mu      sync.Mutex
	thermal []ThermalEvent
}

// options of a rig.
type options struct {
	prepare func(r *rig)  // runs on the simulated platform before New
	log     *memlog.Log   // a log to recover from
	noRun   bool          // leave Run (and reconciliation) to the test
	config  func(*Config) // adjusts the Hardware's Config
	// platform replaces the default platform (one with added states).
	platform *platform.Platform
}

func newRig(t *testing.T, o options) *rig {
	t.Helper()
	clk := clock.NewVirtual(t0)
	plat := o.platform
	if plat == nil {
		plat = platform.Default()
	}
	sim, err := simhw.New(clk, SimConfig(plat, 1))
	if err != nil {
		t.Fatalf("simhw.New: %v", err)
	}
	r := &rig{t: t, ctx: context.Background(), clk: clk, plat: plat, sim: sim, log: o.log, logs: &lockedBuffer{}}
	if r.log == nil {
		r.log = memlog.New()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	t.Cleanup(func() { _ = sim.Close() })
	if o.prepare != nil {
		o.prepare(r)
	}
	// The tests count polls at 1 s, whatever the built-in platform sets.
	cfg := Config{Platform: plat, Clock: clk, Sim: sim, Logger: r.logger(), PollInterval: time.Second, OnThermal: func(e ThermalEvent) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.thermal = append(r.thermal, e)
	}}
	if o.config != nil {
		o.config(&cfg)
	}
	hw, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.hw = hw
	t.Cleanup(func() {
		if err := hw.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	r.comps = components(t, plat)
	sys, err := protoactor.Start(protoactor.Config{Log: r.log, Snapshots: memsnap.New(), SnapshotPolicy: snapshots.Policy{},
		Clock: clk, Logger: r.logger().Named("components"), Effects: hw, Seed: 1}, r.comps)
	if err != nil {
		t.Fatalf("protoactor.Start: %v", err)
	}
	r.sys = sys
	t.Cleanup(sys.Stop)
	if !o.noRun {
		r.run()
	}
	return r
}

func (r *rig) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: r.logs})
}

func components(t *testing.T, plat *platform.Platform) map[actors.ID]*machine.Compiled {
	t.Helper()
	compiled, err := plat.Compiled()
	if err != nil {
		t.Fatal(err)
	}
	return compiled
}

// run starts the Hardware with the System as Observer.
func (r *rig) run() {
	r.t.Helper()
	if err := r.hw.Run(r.ctx, systemObserver{r.sys}); err != nil {
		r.t.Fatalf("Run: %v", err)
	}
	r.settle()
}

// settle waits until the hardware, the simulated platform and the
// components have nothing left to do at the current time.
func (r *rig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 20*time.Second)
	defer cancel()
	for {
		_, before, _ := r.hw.track.state()
		for _, id := range r.sys.IDs() {
			if _, err := r.sys.Get(ctx, id); err != nil {
				r.t.Fatalf("Get %s: %v", id, err)
			}
		}
		if err := r.hw.Settle(ctx); err != nil {
			r.t.Fatalf("Settle: %v", err)
		}
		for _, id := range r.sys.IDs() {
			if _, err := r.sys.Get(ctx, id); err != nil {
				r.t.Fatalf("Get %s: %v", id, err)
			}
		}
		if idle, after, _ := r.hw.track.state(); idle && after == before {
			return
		}
	}
}

// advance moves the clock by d from deadline to deadline, as a driver of
// a virtual clock does, firing the components' due timeouts and settling
// at each, so that every pulse ends exactly when it should.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	target := r.clk.Now().Add(d)
	for {
		next, ok := r.clk.NextDeadline()
		last := !ok || next.After(target)
		if last {
			next = target
		}
		r.clk.Set(next)
		for _, id := range r.sys.IDs() {
			if _, err := r.sys.Tick(r.ctx, id); err != nil {
				r.t.Fatalf("Tick %s: %v", id, err)
			}
		}
		r.settle()
		if last {
			return
		}
	}
}

// request sends a request with the guard facts the components' current
// states give, as the coordinator and the NATS API do.
func (r *rig) request(id actors.ID, trigger string) {
	r.t.Helper()
	states := map[actors.ID]machine.Status{}
	for _, c := range r.sys.IDs() {
		states[c] = r.status(c)
	}
	facts := coordinator.Facts(coordinator.TopologyOf(r.plat), states, id, false)
	in := machine.Input{Kind: machine.KindRequest, Trigger: trigger, Requester: "test", Operation: "op-" + string(id) + "-" + trigger, Facts: facts}
	if _, err := r.sys.Request(r.ctx, id, in); err != nil {
		r.t.Fatalf("request %s %s: %v", id, trigger, err)
	}
	r.settle()
}

func (r *rig) status(id actors.ID) machine.Status {
	r.t.Helper()
	v, err := r.sys.Get(r.ctx, id)
	if err != nil {
		r.t.Fatalf("Get %s: %v", id, err)
	}
	return v.Status
}

func (r *rig) wantState(id actors.ID, want string) machine.Status {
	r.t.Helper()
	st := r.status(id)
	if st.State != want {
		r.t.Fatalf("%s is %s (cause %q), want %s", id, st.State, st.Cause, want)
	}
	return st
}

// records returns the events of a component's stream.
func (r *rig) records(id actors.ID) []actors.Record {
	r.t.Helper()
	evs, err := r.log.ReadStream(r.ctx, string(id), 1, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([]actors.Record, 0, len(evs))
	for _, e := range evs {
		rec, err := actors.DecodeRecord(e)
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// causes returns the causes of the records of id whose trigger is trigger.
func (r *rig) causes(id actors.ID, trigger string) []string {
	var out []string
	for _, rec := range r.records(id) {
		if rec.Event.Trigger == trigger {
			out = append(out, rec.Event.Cause)
		}
	}
	return out
}

// wantCause fails unless a record of id with trigger has a cause holding
// every part.
func (r *rig) wantCause(id actors.ID, trigger string, parts ...string) {
	r.t.Helper()
	causes := r.causes(id, trigger)
	for _, c := range causes {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(c, p)
		}
		if ok {
			return
		}
	}
	r.t.Fatalf("%s: no %s record with a cause containing %q; causes: %q", id, trigger, parts, causes)
}

// powerChassis brings the chassis On through its power-on sequence.
func (r *rig) powerChassis() {
	r.t.Helper()
	r.request(chassis, machine.RequestOn)
	r.advance(time.Second)
	r.wantState(chassis, machine.StateOn)
}

// powerHost brings host 0 to Running.
func (r *rig) powerHost() {
	r.t.Helper()
	r.request(host0, machine.RequestOn)
	r.advance(time.Second)
	r.wantState(host0, machine.StateRunning)
}

func (r *rig) inject(f simhw.Fault) {
	r.t.Helper()
	if err := r.sim.Inject(f); err != nil {
		r.t.Fatalf("Inject %s: %v", f.Kind, err)
	}
}

func (r *rig) psu(name string) simhw.PSUState {
	r.t.Helper()
	st, err := r.sim.PSU(name)
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

// systemObserver hands the observations to the rig's components, as the
// assembly's observer does in the daemon.
type systemObserver struct{ sys *protoactor.System }

func (o systemObserver) Observe(ctx context.Context, id actors.ID, in machine.Input) error {
	_, err := o.sys.Request(ctx, id, in)
	return err
}

func (o systemObserver) Status(ctx context.Context, id actors.ID) (machine.Status, error) {
	v, err := o.sys.Get(ctx, id)
	if err != nil {
		return machine.Status{}, err
	}
	return v.Status, nil
}
