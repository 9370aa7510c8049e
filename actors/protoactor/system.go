package protoactor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/actorsys"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/snapshots"
)

// Effector performs effects after their records are durable: it presses
// buttons, starts processes. Perform must not block the calling actor; an
// effect's outcome comes back to the component as an observation.
type Effector interface {
	Perform(id actors.ID, effects []machine.Effect)
}

// Config configures a System.
type Config struct {
	Log            events.Log
	Snapshots      snapshots.Store
	SnapshotPolicy snapshots.Policy
	Clock          clock.Clock
	Logger         hclog.Logger
	Effects        Effector // nil: effects are only recorded
	Thresholds     machine.Thresholds
	Backoff        Backoff
	// OnEscalate hears of components failing past their restart budget.
	OnEscalate func(Escalation)
	// Seed seeds restart jitter, so simulations are reproducible.
	Seed uint64
	// OnRequest, if set, hears how long each Request took (durable append
	// included) and of which input kind, for metrics.
	OnRequest func(kind machine.InputKind, d time.Duration, err error)
	// OnChange, if set, hears each component's status once it is durable:
	// after recovery and after every append (and when a standing alert
	// clears). It runs on the component's actor and must not block.
	OnChange func(Change)
}

// Change is a component's durable status, the kind of its state, what
// power good reads in it (State.Power; "" but for hosts and chassis) and
// the kinds of its standing alerts (one per alert, in the order raised).
type Change struct {
	ID     actors.ID
	Status machine.Status
	Kind   machine.StateKind
	Power  machine.Power
	Alerts []machine.AlertKind
}

// System runs one actor per component.
type System struct {
	sys       *actor.ActorSystem
	parent    *actor.PID
	pids      map[actors.ID]*actor.PID
	ids       []actors.ID
	kinds     map[actors.ID]*machine.Compiled
	timeout   time.Duration
	strategy  *strategy
	workers   *workerDispatcher // runs the components' mailboxes
	onRequest func(machine.InputKind, time.Duration, error)
}

// supervisorName is the parent of every component actor; a component's
// actor id is supervisorName + "/" + component id.
const supervisorName = "components"

// Start spawns the components (id -> compiled machine) and waits until each
// has recovered.
func Start(cfg Config, components map[actors.ID]*machine.Compiled) (*System, error) {
	if cfg.Log == nil || cfg.Snapshots == nil || cfg.Clock == nil {
		return nil, errors.New("cannot start components: Config needs Log, Snapshots and Clock")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Thresholds.Error == 0 {
		cfg.Thresholds = machine.DefaultThresholds()
	}
	logger := cfg.Logger
	sys := actorsys.NewActorSystem(logger)
	s := &System{sys: sys, pids: map[actors.ID]*actor.PID{}, kinds: components, timeout: 10 * time.Second, onRequest: cfg.OnRequest,
		workers: newWorkerDispatcher()}
	strat := newStrategy(cfg.Backoff, cfg.Clock, cfg.Seed, func(e Escalation) {
		logger.Error("component failing past its restart budget", "actor", e.Child, "failures", e.Failures, "reason", fmt.Sprint(e.Reason), "next_restart", e.Delay)
		if cfg.OnEscalate != nil {
			cfg.OnEscalate(e)
		}
	})
	s.strategy = strat
	ready := make(chan error, 1)
	parentProps := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); !ok {
			return
		}
		for id, m := range components {
			props := actor.PropsFromProducer(func() actor.Actor {
				return &component{id: id, m: m, cfg: &cfg, log: logger.Named(string(id))}
			}, actor.WithDispatcher(s.workers), actor.WithReceiverMiddleware(actorsys.LogPanics(logger)))
			pid, err := ctx.SpawnNamed(props, string(id))
			if err != nil {
				ready <- fmt.Errorf("cannot spawn %s: %w", id, err)
				return
			}
			s.pids[id] = pid
		}
		ready <- nil
	}, actor.WithSupervisor(strat), actor.WithReceiverMiddleware(actorsys.LogPanics(logger)))
	parent, err := sys.Root.SpawnNamed(parentProps, supervisorName)
	if err != nil {
		return nil, fmt.Errorf("cannot start the component supervisor: %w", err)
	}
	s.parent = parent
	if err := <-ready; err != nil {
		return nil, err
	}
	for id := range components {
		s.ids = append(s.ids, id)
	}
	sort.Slice(s.ids, func(i, j int) bool { return s.ids[i] < s.ids[j] })
	// A Get waits behind recovery in each mailbox: when all answer, all
	// have recovered.
	for _, id := range s.ids {
		if _, err := s.Get(context.Background(), id); err != nil {
			return nil, fmt.Errorf("component %s did not recover: %w", id, err)
		}
	}
	return s, nil
}

// IDs returns the components' ids, sorted.
func (s *System) IDs() []actors.ID { return append([]actors.ID(nil), s.ids...) }

// Machine returns the compiled machine of a component.
func (s *System) Machine(id actors.ID) (*machine.Compiled, bool) {
	m, ok := s.kinds[id]
	return m, ok
}

func (s *System) ask(ctx context.Context, id actors.ID, msg any) (any, error) {
	pid, ok := s.pids[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", actors.ErrUnknownComponent, id)
	}
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := s.sys.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %s did not answer within %v (recovering or restarting?): %w", actors.ErrUnavailable, id, timeout, err)
	}
	if e, ok := res.(*errorReply); ok {
		return nil, e.err
	}
	return res, nil
}

// Request steps a component with in (a request or an observation) and
// returns the outcome once it is durable.
func (s *System) Request(ctx context.Context, id actors.ID, in machine.Input) (*Outcome, error) {
	start := time.Now()
	res, err := s.ask(ctx, id, &inputMsg{in: in})
	if s.onRequest != nil {
		s.onRequest(in.Kind, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return res.(*Outcome), nil
}

// Get returns a component's view.
func (s *System) Get(ctx context.Context, id actors.ID) (*View, error) {
	res, err := s.ask(ctx, id, &getMsg{})
	if err != nil {
		return nil, err
	}
	return res.(*View), nil
}

// Tick makes a component fire what is due at the clock's current time, and
// waits for it: the simulation's way to move time on a virtual clock.
func (s *System) Tick(ctx context.Context, id actors.ID) (*Outcome, error) {
	res, err := s.ask(ctx, id, &tickMsg{})
	if err != nil {
		return nil, err
	}
	return res.(*Outcome), nil
}

// stopGrace bounds how long Stop lets components finish the messages
// already queued.
const stopGrace = 2 * time.Second

// Stop lets every component finish the messages already queued (for up to
// stopGrace), then stops the supervisor and with it any component that did
// not finish, and cancels pending restarts. A component waiting out a restart
// backoff has a suspended mailbox and would never read a poison pill; the
// supervisor's stop is a system message, which passes.
func (s *System) Stop() {
	drained := make(chan struct{})
	go func() {
		futures := make([]*actor.Future, 0, len(s.pids))
		for _, pid := range s.pids {
			futures = append(futures, s.sys.Root.PoisonFuture(pid))
		}
		for _, f := range futures {
			_ = f.Wait()
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(stopGrace):
	}
	s.strategy.stop()
	_ = s.sys.Root.StopFuture(s.parent).Wait()
	s.sys.Shutdown()
	s.workers.stop()
}
