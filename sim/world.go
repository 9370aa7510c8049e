package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/inputs"
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
	// inputs is the running daemon's Store of external inputs (nil: the
	// platform declares none), model what the driver reported to it.
	inputs *inputs.Store
	model  []*inputModel

	incarnation int
	d           *daemon

	mu     sync.Mutex // guards what device goroutines hand over below
	reboot bool       // the BMC component asked the hardware to reboot the BMC
}

// daemon is one incarnation of statemgrd: the production assembly over
// the world's log and board.
type daemon struct {
	log *memlog.Log
	asm *assembly.Assembly
}

// campaignPoll keeps the campaign's PSU and thermal polls at the 1 s its
// actions and invariants were tuned on, whatever the built-in platform's
// polls block says.
const campaignPoll = time.Second

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

// boot starts a daemon over the world through the production assembly
// (server/assembly.Start, in statemgrd's order, the services resumed last
// by the simulated processes), its waits on the virtual clock driven by
// await.
// It returns the statuses recovered, before anything new happened.
func (w *world) boot(ctx context.Context, bmcCause string) (map[actors.ID]machine.Status, error) {
	w.incarnation++
	w.procs.adopt(w.incarnation)
	d := &daemon{log: memlog.Open(w.store)}
	w.d = d
	w.newInputs() // a new process: no report yet
	var boot machine.Input
	if bmcCause != "" {
		boot = machine.Input{Value: bmcCause, Cause: "BMC boot (reboot cause " + bmcCause + ")"}
	}
	given := w.inputs
	if w.opts.IgnoreInputs {
		given = nil
	}
	asm, err := assembly.Start(ctx, assembly.Config{Platform: w.opts.Platform, Compiled: w.compiled, Log: d.log,
		Snapshots: w.snaps, SnapshotPolicy: snapshots.Policy{EveryEvents: 25, Keep: 2}, Clock: w.clk, Logger: w.opts.Logger,
		Devices: devices.Config{Sim: w.board, PollInterval: campaignPoll, RebootBMC: w.onRebootBMC}, Services: w.procs, Seed: uint64(w.incarnation),
		Policy: w.opts.Policy, Timeouts: w.opts.Timeouts, BMCBoot: boot, Inputs: given,
		Await: func(ctx context.Context, a *assembly.Assembly, step func(context.Context) error) error {
			d.asm = a
			return w.await(ctx, step)
		}})
	if err != nil {
		// Start stopped what it had started; the log dies with the daemon.
		d.log.Crash()
		w.d = nil
		return nil, fmt.Errorf("daemon %d: %w", w.incarnation, err)
	}
	d.asm = asm
	return asm.Recovered, nil
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
	// The coordinator's stop may move the clock (a saga releases a button
	// it holds); the timeouts that come due meanwhile fire.
	err := d.asm.StopWith(ctx, assembly.StopOptions{
		Await: func(ctx context.Context, _ *assembly.Assembly, step func(context.Context) error) error {
			return w.awaitWith(ctx, w.settleDying, step)
		},
		BeforeComponents: func(err error) error {
			if last != nil && err == nil {
				err = last()
			}
			d.log.Crash()
			return err
		}})
	w.d = nil
	return err
}

// statuses reads every component's status from the live system.
func (w *world) statuses(ctx context.Context) (map[actors.ID]machine.Status, error) {
	return w.d.asm.Statuses(ctx)
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
