package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/snapshots"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// Errors of the package.
var (
	// ErrInvalidOptions means Options describe no system that can be
	// simulated.
	ErrInvalidOptions = errors.New("invalid simulation options")
	// ErrInvalidAction means an action names something the platform does
	// not have.
	ErrInvalidAction = errors.New("invalid action")
	// ErrStuck means the simulated system stopped making progress that
	// the virtual clock could unblock: a deadlock, or a wait on real time.
	ErrStuck = errors.New("simulation stuck")
)

// world is everything that outlives a daemon: the board, the virtual
// clock, the durable log and snapshots, and the service processes. daemon
// is the statemgrd running on it now.
type world struct {
	opts     Options
	clk      *clock.Virtual
	board    *simhw.Platform
	topo     coordinator.Topology
	machines map[actors.ID]*machine.Machine
	compiled map[actors.ID]*machine.Compiled
	store    *memlog.Store
	snaps    *memsnap.Store
	procs    *processes

	incarnation int
	d           *daemon

	mu     sync.Mutex // guards what device goroutines hand over below
	reboot bool       // the BMC component asked the hardware to reboot the BMC
}

// daemon is one incarnation of statemgrd: the production stack over the
// world's log and board.
type daemon struct {
	log    *memlog.Log
	sys    *protoactor.System
	hw     *devices.Hardware
	co     *coordinator.Coordinator
	cancel context.CancelFunc
}

func newWorld(opts Options) (*world, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	w := &world{opts: opts, clk: clock.NewVirtual(Epoch), store: memlog.NewStore(), snaps: memsnap.New(),
		machines: map[actors.ID]*machine.Machine{}, compiled: map[actors.ID]*machine.Compiled{}}
	comps, err := opts.Platform.Components()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	for _, c := range comps {
		id := actors.ID(c.ID)
		m := c.Machine
		if opts.Machine != nil {
			m = opts.Machine(id, m)
		}
		compiled, err := machine.Compile(m)
		if err != nil {
			return nil, fmt.Errorf("%w: component %s: %w", ErrInvalidOptions, id, err)
		}
		w.machines[id], w.compiled[id] = m, compiled
	}
	w.topo = coordinator.TopologyOf(opts.Platform)
	w.board, err = simhw.New(w.clk, devices.SimConfig(opts.Platform, 1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	w.procs = newProcesses(w.clk, opts.Platform.Services)
	return w, nil
}

// ids returns the components of one kind, sorted.
func (w *world) ids(kind string) []actors.ID {
	var out []actors.ID
	for _, id := range sortedKeys(w.machines) {
		if id.Kind() == kind {
			out = append(out, id)
		}
	}
	return out
}

// effects routes component effects as the daemon does: services to their
// supervisor, the rest to the devices. The component shell hands over no
// effect of a coordinator saga step (machine.Effect.PerformedBy).
type effects struct {
	procs *processes
	hw    *devices.Hardware
}

func (e effects) Perform(id actors.ID, effs []machine.Effect) {
	if id.Kind() == actors.KindService {
		e.procs.Perform(id, effs)
		return
	}
	e.hw.Perform(id, effs)
}

// boot starts a daemon over the world in statemgrd's order: devices,
// components recovered from snapshot and log, the BMC boot if the BMC
// rebooted, BMC Ready, the coordinator (which resumes unfinished sagas and
// decides the power-restore policy from hardware evidence only),
// reconciliation with the hardware, then services resumed as the log has
// them.
// It returns the statuses recovered, before anything new happened.
func (w *world) boot(ctx context.Context, bmcCause string) (map[actors.ID]machine.Status, error) {
	w.incarnation++
	w.procs.adopt(w.incarnation)
	d := &daemon{log: memlog.Open(w.store)}
	var err error
	d.hw, err = devices.New(devices.Config{Platform: w.opts.Platform, Clock: w.clk, Sim: w.board, Logger: w.opts.Logger,
		RebootBMC: w.onRebootBMC})
	if err != nil {
		return nil, fmt.Errorf("daemon %d: %w", w.incarnation, err)
	}
	d.sys, err = protoactor.Start(protoactor.Config{Log: d.log, Snapshots: w.snaps, SnapshotPolicy: snapshots.Policy{EveryEvents: 25, Keep: 2},
		Clock: w.clk, Logger: w.opts.Logger, Effects: effects{procs: w.procs, hw: d.hw}, Seed: uint64(w.incarnation)}, w.compiled)
	if err != nil {
		_ = d.hw.Close()
		return nil, fmt.Errorf("daemon %d: %w", w.incarnation, err)
	}
	w.d = d
	recovered, err := w.statuses(ctx)
	if err != nil {
		return nil, err
	}
	if bmcCause != "" {
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedBooted, Value: bmcCause, Cause: "BMC boot (reboot cause " + bmcCause + ")"}
		if _, err := d.sys.Request(ctx, w.topo.BMC, in); err != nil {
			return nil, fmt.Errorf("cannot record the BMC boot: %w", err)
		}
	}
	// The coordinator starts before the devices reconcile: its
	// power-restore decision needs the states last observed before an AC
	// loss. The BMC is Ready before it.
	if v, err := d.sys.Get(ctx, w.topo.BMC); err == nil && v.Status.State == machine.StateNotReady {
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedServicesReady, Cause: "statemgrd recovered its components"}
		if _, err := d.sys.Request(ctx, w.topo.BMC, in); err != nil {
			return nil, fmt.Errorf("cannot record the BMC ready: %w", err)
		}
	}
	d.co, err = coordinator.New(coordinator.Config{Log: d.log, Components: d.sys, Hardware: d.hw, Clock: w.clk, Topology: w.topo,
		Policy: w.opts.Policy, Timeouts: w.opts.Timeouts, Logger: w.opts.Logger})
	if err != nil {
		return nil, err
	}
	if err := w.await(ctx, d.co.Start); err != nil {
		return nil, fmt.Errorf("coordinator start: %w", err)
	}
	current, err := w.statuses(ctx)
	if err != nil {
		return nil, err
	}
	// Reading the hardware may wait for the clock (retries after bus
	// faults).
	if err := w.await(ctx, func(ctx context.Context) error { _, err := d.hw.Reconcile(ctx, current); return err }); err != nil {
		return nil, fmt.Errorf("cannot reconcile with the hardware: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	if err := d.hw.Run(runCtx, devices.SystemObserver{System: d.sys}); err != nil {
		return nil, err
	}
	if err := w.resumeServices(ctx); err != nil {
		return nil, err
	}
	return recovered, nil
}

// resumeServices brings the services back to what the log says, as
// statemgrd does at start (actors.ResumeService).
func (w *world) resumeServices(ctx context.Context) error {
	for _, id := range w.ids(actors.KindService) {
		v, err := w.d.sys.Get(ctx, id)
		if err != nil {
			return err
		}
		in, start := actors.ResumeService(v.Status, actors.Leftover{Evidence: "the simulated process ended with the daemon"})
		if in == nil {
			continue
		}
		if _, err := w.d.sys.Request(ctx, id, *in); err != nil {
			return fmt.Errorf("cannot resume %s: %w", id, err)
		}
		if start {
			w.procs.Perform(id, []machine.Effect{{Name: "start_process"}})
		}
	}
	return nil
}

// crash kills the daemon as kill -9 would: nothing it has not
// acknowledged survives, the board and the processes keep running. A
// saga in the middle of a button hold ends it (the kernel releases the
// line of a dead process). last, if set, sees the daemon after
// everything that writes has stopped, just before the log dies.
func (w *world) crash(ctx context.Context, last func() error) error {
	d := w.d
	if d == nil {
		return nil
	}
	// A boot that failed part way left some of these unset.
	var err error
	if d.co != nil {
		// The stop may move the clock (a saga releases a button it
		// holds); the timeouts that come due meanwhile fire.
		err = w.awaitWith(ctx, w.settleDying, func(ctx context.Context) error { d.co.Stop(ctx); return nil })
	}
	if d.cancel != nil {
		d.cancel()
	}
	err = errors.Join(err, d.hw.Close())
	if last != nil && err == nil {
		err = last()
	}
	d.log.Crash()
	d.sys.Stop()
	w.d = nil
	return err
}

// statuses reads every component's status from the live system.
func (w *world) statuses(ctx context.Context) (map[actors.ID]machine.Status, error) {
	out := map[actors.ID]machine.Status{}
	for _, id := range w.d.sys.IDs() {
		v, err := w.d.sys.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", id, err)
		}
		out[id] = v.Status
	}
	return out, nil
}

func (w *world) onRebootBMC(context.Context, bool) error {
	w.mu.Lock()
	w.reboot = true
	w.mu.Unlock()
	return nil
}

// takeReboot reports whether the BMC component asked for a BMC reboot.
func (w *world) takeReboot() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	rb := w.reboot
	w.reboot = false
	return rb
}

func (w *world) close() {
	if w.d != nil {
		_ = w.crash(context.Background(), nil)
	}
	_ = w.board.Close()
}
