package devices

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/actorsys"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// Observations this package reports besides the built-in machines' own
// (power_good_asserted, power_good_deasserted, post_complete,
// power_status). No built-in transition takes them, so a component records
// each as an ignored observation: durable evidence in its log, with the
// details in the cause. A platform file may extend a machine to act on
// them.
const (
	// ObservedButtonPressed: a front-panel button (power, reset, NMI,
	// identify) was pressed by someone outside statemgr.
	ObservedButtonPressed = "button_pressed"
	// ObservedButtonStuck: a front-panel button stayed asserted for the
	// force-off hold time or longer.
	ObservedButtonStuck = "button_stuck"
	// ObservedPSUFault: a PSU reports fault or warning bits in its
	// STATUS_* registers that were not reported before.
	ObservedPSUFault = "psu_fault"
	// ObservedPSUUnreachable: a PSU does not answer on its bus, retries
	// included.
	ObservedPSUUnreachable = "psu_unreachable"
	// ObservedEffectFailed: an effect of the component could not be
	// performed; the cause says which and why.
	ObservedEffectFailed = "effect_failed"
)

// Observer hands observations to the components and reads their recorded
// status. The assembly (server/assembly) implements it over the component
// system: Observe sends a request, Status reads the recorded status.
// Observe is called
// from one goroutine of the Hardware, in the order the observations were
// made, never from a device actor.
type Observer interface {
	Observe(ctx context.Context, id actors.ID, in machine.Input) error
	Status(ctx context.Context, id actors.ID) (machine.Status, error)
}

// Retry bounds the retries of a hardware call that failed with a transient
// fault (adapters.IsTransient: a NAK or a bus timeout).
type Retry struct {
	Attempts int           // calls in all, the first included; default 4
	Initial  time.Duration // wait before the first retry; default 20 ms
	Max      time.Duration // cap of the doubling wait; default 500 ms
}

// Config configures New.
type Config struct {
	Platform *platform.Platform
	Clock    clock.Clock
	Logger   hclog.Logger // nil: no logging
	// Sim is the simulated platform every "sim" back-end uses. When nil
	// and the platform file uses one, New builds it with simhw.New from
	// SimConfig(Platform, PSUsRequired) and closes it on Close.
	Sim *simhw.Platform
	// PSUsRequired is how many PSUs of a chassis must have power good for
	// the chassis to have power, and good input for its power status to
	// be Good; default 1 (N+1 redundancy). It is capped at the chassis'
	// PSU count.
	PSUsRequired int
	// PollInterval, when positive, is the period of the PSU status and
	// thermal polls, overriding the platform file's polls block (tests
	// poll fast).
	PollInterval time.Duration
	// ReconcileInterval is the period of the running reconciler; default
	// 10 s.
	ReconcileInterval time.Duration
	// CallTimeout bounds one hardware call, measured on Clock; default 2 s.
	CallTimeout time.Duration
	Retry       Retry
	// PSUTimeout bounds how long a PSU may take to reach power good after
	// OPERATION=ON, or to drop it after OPERATION=SOFT OFF; default 3 s.
	PSUTimeout time.Duration
	// NMIPulse is how long NMI_OUT is asserted for the nmi effect; default
	// 200 ms.
	NMIPulse time.Duration
	// OnThermal hears every change of a thermal zone's level. It is called
	// from the zone's actor and must not block. No built-in machine has a
	// thermal observation, so this is how the coordinator learns of them.
	OnThermal func(ThermalEvent)
	// RebootBMC performs reboot_bmc (force: a hard reset). Nil: the effect
	// is reported to the BMC component as failed.
	RebootBMC func(ctx context.Context, force bool) error
	// Consumer labels the GPIO lines requested from the kernel; default
	// "statemgr".
	Consumer string
	// StartTimeout bounds, in real time, how long New waits for the
	// device actors to start; default 10 s. Past it New fails with an
	// *Error naming the device wrapping actorsys.ErrStartTimeout.
	StartTimeout time.Duration
}

func (c *Config) withDefaults() {
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.PSUsRequired <= 0 {
		c.PSUsRequired = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReconcileInterval, 10*time.Second)
	def(&c.CallTimeout, 2*time.Second)
	def(&c.PSUTimeout, 3*time.Second)
	def(&c.NMIPulse, 200*time.Millisecond)
	def(&c.StartTimeout, 10*time.Second)
	def(&c.Retry.Initial, 20*time.Millisecond)
	def(&c.Retry.Max, 500*time.Millisecond)
	if c.Retry.Attempts <= 0 {
		c.Retry.Attempts = 4
	}
	if c.Consumer == "" {
		c.Consumer = "statemgr"
	}
}

// Hardware is the platform's devices, each behind an actor, wired to the
// components that own them. Its Perform is the components' Effector (the
// assembly routes the effects of hosts, chassis and the BMC to it).
type Hardware struct {
	cfg   Config
	plat  *platform.Platform
	clk   clock.Clock
	log   hclog.Logger
	track *tracker
	out   *outbox

	sim    *simhw.Platform
	ownSim bool
	gpio   adapters.GPIO
	buses  []adapters.PMBus

	hosts   map[actors.ID]*hostDev
	chassis map[actors.ID]*chassisDev
	// states are the host and chassis machines' states (platform
	// PowerStates): reconciliation reads what power good reads in a
	// recorded state here (State.Power), so a platform's added state is
	// reconciled as its file says. Read-only after New.
	states map[actors.ID]map[string]machine.State
	psus   []*psuDev
	zones  []*zoneDev

	sys    *actor.ActorSystem
	parent *actor.PID

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running bool
	closed  bool
}

// power returns what power good reads in id's state st ("" for a state
// its machine lacks).
func (h *Hardware) power(id actors.ID, st string) machine.Power { return h.states[id][st].Power }

// supervisorName is the parent of every device actor; a device actor's id
// is supervisorName + "/" + its name, e.g. "devices/psu.0.psu0".
const supervisorName = "devices"

// New opens every device of the platform with its back-end and starts one
// actor per device. Observations made before Run are kept and delivered
// once Run has an Observer. A device that cannot be opened fails New with
// an *Error naming it; nothing stays open.
func New(cfg Config) (*Hardware, error) {
	if cfg.Platform == nil || cfg.Clock == nil {
		return nil, fmt.Errorf("cannot set up the devices: Config needs Platform and Clock: %w", ErrInvalidConfig)
	}
	cfg.withDefaults()
	states, err := cfg.Platform.PowerStates()
	if err != nil {
		return nil, fmt.Errorf("cannot set up the devices: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hardware{
		cfg: cfg, plat: cfg.Platform, clk: cfg.Clock, log: cfg.Logger.Named("devices"),
		track: newTracker(cfg.Clock), out: newOutbox(),
		hosts: map[actors.ID]*hostDev{}, chassis: map[actors.ID]*chassisDev{}, states: states,
		ctx: ctx, cancel: cancel,
	}
	if err := h.open(); err != nil {
		h.release()
		cancel()
		return nil, err
	}
	if err := h.spawn(); err != nil {
		h.release()
		cancel()
		return nil, err
	}
	if err := h.requestLines(); err != nil {
		_ = h.Close()
		return nil, err
	}
	return h, nil
}

// spawn starts the supervisor and one actor per device, and waits until
// each actor has started, for at most StartTimeout.
func (h *Hardware) spawn() error {
	h.sys = actorsys.NewActorSystem(h.log)
	type child struct {
		name     string
		producer actor.Producer
		pid      **actor.PID
	}
	var children []child
	for _, p := range h.psus {
		children = append(children, child{"psu." + p.chassis.name + "." + p.name, func() actor.Actor { return &psuActor{h: h, d: p} }, &p.pid})
	}
	for _, id := range sortedIDs(h.chassis) {
		c := h.chassis[id]
		children = append(children, child{"chassis." + c.name, func() actor.Actor { return newChassisActor(h, c) }, &c.pid})
	}
	for _, id := range sortedIDs(h.hosts) {
		d := h.hosts[id]
		children = append(children, child{"host." + d.name, func() actor.Actor { return &hostActor{h: h, d: d} }, &d.pid})
	}
	for _, z := range h.zones {
		children = append(children, child{"zone." + z.name, func() actor.Actor { return &zoneActor{h: h, d: z} }, &z.pid})
	}
	start := make([]actorsys.Child, len(children))
	for i, c := range children {
		start[i] = actorsys.Child{Name: actorName(c.name), Props: actor.PropsFromProducer(c.producer)}
	}
	parent, pids, err := actorsys.StartSupervised(h.sys, supervisorName, actor.NewOneForOneStrategy(100, time.Minute, actor.DefaultDecider), start, h.cfg.StartTimeout, h.log)
	if err != nil {
		var se *actorsys.StartError
		if errors.As(err, &se) {
			return &Error{Device: se.Actor, Op: "start its actor", Err: se.Err}
		}
		return fmt.Errorf("cannot start the device actors: %w", err)
	}
	h.parent = parent
	for i, c := range children {
		*c.pid = pids[i]
	}
	return nil
}

// actorName keeps a device name usable as an actor name: protoactor
// separates parents from children with '/'.
func actorName(s string) string { return strings.ReplaceAll(s, "/", "_") }

// Run delivers observations to obs (those made since New first, in order)
// and starts the PSU and thermal polls and the running reconciler. It
// returns at once; everything stops when ctx ends or on Close.
func (h *Hardware) Run(ctx context.Context, obs Observer) error {
	if obs == nil {
		return fmt.Errorf("cannot run the devices without an Observer: %w", ErrInvalidConfig)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return ErrClosed
	case h.running:
		return ErrRunning
	}
	h.running = true
	h.out.track(func() { h.track.begin(outboxKey) })
	runCtx, cancel := context.WithCancel(h.ctx)
	context.AfterFunc(ctx, cancel)
	h.wg.Add(1)
	go h.dispatch(runCtx, obs)
	psuEvery, zoneEvery := h.pollPeriods()
	for _, p := range h.psus {
		h.every(runCtx, psuEvery, func(context.Context, any) { h.send(p.pid, psuPoll{}) })
	}
	for _, z := range h.zones {
		h.every(runCtx, zoneEvery, func(context.Context, any) { h.send(z.pid, zonePoll{}) })
	}
	h.every(runCtx, h.cfg.ReconcileInterval, func(ctx context.Context, key any) { h.reconcileRunning(ctx, key, obs) })
	return nil
}

// pollPeriods returns the periods of the PSU and the thermal polls: the
// Config's override, else the platform's (a Platform built without Parse
// has none: platform's defaults).
func (h *Hardware) pollPeriods() (psu, thermal time.Duration) {
	if d := h.cfg.PollInterval; d > 0 {
		return d, d
	}
	psu, thermal = h.cfg.Platform.Polls.PSU, h.cfg.Platform.Polls.Thermal
	if psu <= 0 {
		psu = platform.DefaultPSUPoll
	}
	if thermal <= 0 {
		thermal = platform.DefaultThermalPoll
	}
	return psu, thermal
}

// Close stops the actors and the polls and releases every line and bus
// (and the simulated platform if New built it). Effects not yet performed
// are abandoned; a pulse in progress is ended with the line deasserted.
func (h *Hardware) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	if h.parent != nil {
		_ = h.sys.Root.StopFuture(h.parent).Wait()
		h.sys.Shutdown()
	}
	return h.release()
}

func (h *Hardware) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// release closes the lines, buses and the owned simulated platform.
func (h *Hardware) release() error {
	var errs []error
	if h.gpio != nil {
		errs = append(errs, h.gpio.Close())
	}
	for _, b := range h.buses {
		errs = append(errs, b.Close())
	}
	if h.ownSim && h.sim != nil {
		errs = append(errs, h.sim.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot release every device: %w", err)
	}
	return nil
}

// Settle waits until every edge, effect, poll and observation handed to the
// hardware so far has been handled, except work waiting for a clock
// deadline still in the future; with a simulated platform it also lets
// the model catch up with the clock and deliver its edges. Drivers of a
// virtual clock call it after each move. Observations reach the Observer
// only after Run, so Settle does not wait for those made before it.
func (h *Hardware) Settle(ctx context.Context) error {
	for {
		_, before, _ := h.track.state()
		if h.sim != nil {
			if err := h.sim.Settle(ctx); err != nil {
				return err
			}
		}
		if err := h.track.waitIdle(ctx); err != nil {
			return fmt.Errorf("cannot settle the devices: %w", err)
		}
		if h.sim != nil {
			if err := h.sim.Settle(ctx); err != nil {
				return err
			}
		}
		if idle, after, _ := h.track.state(); idle && after == before {
			return nil
		}
	}
}

// outboxKey is the tracker's key of the observations not yet delivered.
const outboxKey = "outbox"

// envelope carries a message to a device actor and its unit of tracked
// work.
type envelope struct{ msg any }

// send hands msg to a device actor without waiting.
func (h *Hardware) send(pid *actor.PID, msg any) {
	h.track.begin(pid.Id)
	h.sys.Root.Send(pid, &envelope{msg: msg})
}

// after sends msg to pid once d has passed on the clock.
func (h *Hardware) after(d time.Duration, pid *actor.PID, msg any) {
	key := new(int)
	h.track.begin(key)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.track.end(key)
		if h.track.sleep(h.ctx, key, d) == nil {
			h.send(pid, msg)
		}
	}()
}

// every runs f each period d until ctx ends; key is the goroutine's key
// for the tracker.
func (h *Hardware) every(ctx context.Context, d time.Duration, f func(ctx context.Context, key any)) {
	key := new(int)
	h.track.begin(key)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.track.end(key)
		for h.track.sleep(ctx, key, d) == nil {
			f(ctx, key)
		}
	}()
}

// observe queues an observation for component id.
func (h *Hardware) observe(id actors.ID, in machine.Input) {
	in.Kind = machine.KindObservation
	h.log.Info("observed", "component", id, "trigger", in.Trigger, "value", in.Value, "cause", in.Cause)
	// Under h.mu, so that Run either sees it queued (and tracks it) or
	// has already started.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		h.track.begin(outboxKey)
	}
	h.out.push(observation{id: id, in: in, tracked: h.running})
}

// dispatch hands the queued observations to obs, in order.
func (h *Hardware) dispatch(ctx context.Context, obs Observer) {
	defer h.wg.Done()
	for {
		for {
			ob, ok := h.out.pop()
			if !ok {
				break
			}
			if err := obs.Observe(ctx, ob.id, ob.in); err != nil {
				h.log.Error("component did not take an observation", "component", ob.id, "trigger", ob.in.Trigger, "cause", ob.in.Cause, "error", err)
			}
			h.out.done()
			if ob.tracked {
				h.track.end(outboxKey)
			}
		}
		select {
		case <-h.out.kick:
		case <-ctx.Done():
			return
		}
	}
}

// call runs one hardware call with the call timeout, retrying transient
// faults with a doubling wait, all on the clock.
// key is the caller's key for the tracker.
func (h *Hardware) call(ctx context.Context, key any, device, op string, f func(context.Context) error) error {
	wait := h.cfg.Retry.Initial
	for attempt := 1; ; attempt++ {
		cctx, cancel := clock.WithTimeout(ctx, h.clk, h.cfg.CallTimeout)
		err := f(cctx)
		timedOut := cctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			if attempt > 1 {
				h.log.Info("hardware call succeeded after retries", "device", device, "op", op, "attempts", attempt)
			}
			return nil
		}
		if timedOut && !adapters.IsTransient(err) {
			err = fmt.Errorf("%w: no answer within %s: %w", adapters.ErrBusTimeout, h.cfg.CallTimeout, err)
		}
		if !adapters.IsTransient(err) || ctx.Err() != nil {
			return &Error{Device: device, Op: op, Attempts: attempt, Err: err}
		}
		if attempt >= h.cfg.Retry.Attempts {
			return &Error{Device: device, Op: op, Attempts: attempt, Err: fmt.Errorf("%w: %w", ErrRetriesExhausted, err)}
		}
		h.log.Warn("transient hardware fault, retrying", "device", device, "op", op, "attempt", attempt, "wait", wait, "error", err)
		if serr := h.track.sleep(ctx, key, wait); serr != nil {
			return &Error{Device: device, Op: op, Attempts: attempt, Err: err}
		}
		wait = min(2*wait, h.cfg.Retry.Max)
	}
}

func sortedIDs[V any](m map[actors.ID]V) []actors.ID {
	ids := make([]actors.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
