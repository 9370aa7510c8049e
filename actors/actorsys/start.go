package actorsys

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
)

// Errors of StartSupervised, wrapped in a *StartError naming the actor.
var (
	// ErrStartTimeout means an actor had not handled its Started message
	// when the start timeout ran out: its Started handler blocks, or its
	// mailbox is never run.
	ErrStartTimeout = errors.New("actor did not start in time: its Started handler blocks or its mailbox never ran; see the log for the actor's last failure")
	// ErrActorPanicked means an actor panicked while it started; the log
	// has the panic's stack.
	ErrActorPanicked = errors.New("actor panicked while starting")
)

// StartError is the failure of StartSupervised to start one actor.
type StartError struct {
	Actor string // the child's name as given to StartSupervised, or the supervisor's
	Err   error  // wraps ErrStartTimeout or ErrActorPanicked, or the spawn's error
}

func (e *StartError) Error() string { return fmt.Sprintf("cannot start actor %s: %v", e.Actor, e.Err) }

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Err }

// NewActorSystem returns a protoactor actor system that logs through l and
// whose process registry works on 32-bit targets.
func NewActorSystem(l hclog.Logger) *actor.ActorSystem {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return NewSlogLogger(l.Named("protoactor")) }))
	singleRegistryBucket(sys.ProcessRegistry.LocalPIDs)
	return sys
}

// singleRegistryBucket works around protoactor-go issue 755 (open since
// 2022): the registry picks a process's bucket as int(murmur3(id)) %
// buckets, negative on 32-bit targets (GOARCH=arm: an AST2600) for about
// half of all ids, so spawning or asking such an actor panics with "index
// out of range [-n]". With one bucket the index is 0 whatever the sign;
// that bucket is itself a 32-shard concurrent map, ample for statemgr's
// tens of actors. It runs before anything else uses the registry, moving
// the processes the system registered at construction. The new slice
// drops the other 1,023 buckets (32 map shards each, ~3 MB of heap),
// which a reslice of the old one kept reachable.
func singleRegistryBucket(m *actor.SliceMap) {
	first := m.LocalPIDs[0]
	for _, b := range m.LocalPIDs[1:] {
		for id, p := range b.Items() {
			first.SetIfAbsent(id, p)
		}
	}
	m.LocalPIDs = append(m.LocalPIDs[:0:0], first)
}

// LogPanics is a receiver middleware that logs an actor's panic on l at
// Error level, with the message type and stack, then lets the panic go on
// to the actor's supervisor. Without it a panic shows only in protoactor's
// debug output, and an actor restarting forever is silent.
func LogPanics(l hclog.Logger) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			defer func() {
				if r := recover(); r != nil {
					l.Error("actor panicked; its supervisor restarts or stops it", "actor", ctx.Self().Id, "message", fmt.Sprintf("%T", env.Message), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					panic(r)
				}
			}()
			next(ctx, env)
		}
	}
}

// Child is an actor for StartSupervised to start.
type Child struct {
	Name  string // unique among the children; '/' is not allowed
	Props *actor.Props
}

// StartSupervised spawns a supervisor actor named name, under strategy,
// which spawns each child; it returns once every child has handled its
// Started message, with their PIDs in the order of children. Every actor
// it starts logs its panics through LogPanics(l). It fails with a
// *StartError naming the first child that panicked while starting or could
// not be spawned, or, when timeout (real time: actors run on real
// goroutines) runs out first, the first child not yet started (or the
// supervisor) with ErrStartTimeout and the last panic seen. On failure the
// supervisor is told to stop and the error is returned without waiting
// for it.
func StartSupervised(sys *actor.ActorSystem, name string, strategy actor.SupervisorStrategy, children []Child, timeout time.Duration, l hclog.Logger) (*actor.PID, []*actor.PID, error) {
	st := &startTracker{pending: map[string]bool{}, super: name, done: make(chan struct{}), failed: make(chan *StartError, 1)}
	for _, c := range children {
		st.pending[c.Name] = true
	}
	pids := make([]*actor.PID, len(children))
	spawned := make(chan error, 1)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); !ok {
			return
		}
		for i, c := range children {
			st.spawning(c.Name)
			props := c.Props.Configure(actor.WithReceiverMiddleware(st.middleware(c.Name), LogPanics(l)))
			pid, err := ctx.SpawnNamed(props, c.Name)
			if err != nil {
				spawned <- &StartError{Actor: c.Name, Err: err}
				return
			}
			pids[i] = pid
		}
		st.spawning("")
		spawned <- nil
	}, actor.WithSupervisor(strategy), actor.WithReceiverMiddleware(st.middleware(name), LogPanics(l)))
	st.pending[name] = true
	parent, err := sys.Root.SpawnNamed(props, name)
	if err != nil {
		return nil, nil, &StartError{Actor: name, Err: err}
	}
	fail := func(err error) (*actor.PID, []*actor.PID, error) {
		sys.Root.Stop(parent)
		return nil, nil, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for spawnedOK := false; ; {
		select {
		case err := <-spawned:
			if err != nil {
				return fail(err)
			}
			spawnedOK = true
			spawned = nil
		case err := <-st.failed:
			return fail(err)
		case <-st.done:
			if spawnedOK {
				return parent, pids, nil
			}
			// Every Started handled, the supervisor's included, so its
			// spawn result is already sent.
			if err := <-spawned; err != nil {
				return fail(err)
			}
			return parent, pids, nil
		case <-deadline.C:
			return fail(st.timedOut(name, children, timeout))
		}
	}
}

// startTracker hears, through its middleware, which actors have handled
// Started and which panicked.
type startTracker struct {
	mu        sync.Mutex
	pending   map[string]bool
	lastPanic string // "actor: reason" of the last panic seen
	child     string // the child the supervisor is spawning, "" once all are
	super     string // the supervisor's name
	done      chan struct{}
	failed    chan *StartError
}

func (st *startTracker) middleware(name string) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*actor.Started); !ok {
				next(ctx, env)
				return
			}
			defer func() {
				if r := recover(); r != nil {
					st.panicked(name, r)
					panic(r)
				}
			}()
			next(ctx, env)
			st.started(name)
		}
	}
}

func (st *startTracker) started(name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.pending[name] {
		return // a restart's Started
	}
	delete(st.pending, name)
	if len(st.pending) == 0 {
		close(st.done)
	}
}

func (st *startTracker) spawning(child string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.child = child
}

// panicked reports a panic in name's Started; the supervisor's while it
// spawns a child is the child's failure.
func (st *startTracker) panicked(name string, reason any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.pending[name] {
		st.lastPanic = fmt.Sprintf("%s: %v", name, reason)
		return // a restart after a good start: the supervisor's business
	}
	err := fmt.Errorf("%w: %v", ErrActorPanicked, reason)
	if name == st.super && st.child != "" {
		name, err = st.child, fmt.Errorf("%w: the supervisor %s panicked spawning it: %v", ErrActorPanicked, st.super, reason)
	}
	st.lastPanic = fmt.Sprintf("%s: %v", name, reason)
	select {
	case st.failed <- &StartError{Actor: name, Err: err}:
	default:
	}
}

// timedOut names the supervisor if it never started, else the first child
// still pending.
func (st *startTracker) timedOut(name string, children []Child, timeout time.Duration) *StartError {
	st.mu.Lock()
	defer st.mu.Unlock()
	stuck := name
	if !st.pending[name] {
		for _, c := range children {
			if st.pending[c.Name] {
				stuck = c.Name
				break
			}
		}
	}
	last := "no panic seen"
	if st.lastPanic != "" {
		last = "last panic: " + st.lastPanic
	}
	return &StartError{Actor: stuck, Err: fmt.Errorf("%w (waited %s, %d actors not started; %s)", ErrStartTimeout, timeout, len(st.pending), last)}
}
