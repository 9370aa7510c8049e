package protoactor

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/actors/clock"
)

// Backoff configures how a failed component actor is restarted.
type Backoff struct {
	Initial    time.Duration // delay before the first restart
	Max        time.Duration // cap of the delay
	Multiplier float64       // growth per consecutive failure
	Jitter     float64       // +- fraction of the delay, spreads restarts
	// Budget is how many failures within Window are restarted quietly;
	// the next one is escalated (and restarts go on at Max).
	Budget int
	Window time.Duration
}

// DefaultBackoff restarts after 100 ms, doubling to at most 30 s, with 20%
// jitter, escalating a sixth failure within a minute.
var DefaultBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2, Budget: 5, Window: time.Minute}

// Delay returns the restart delay after the n-th consecutive failure
// (n >= 1) before jitter: Initial * Multiplier^(n-1), capped at Max.
func (b Backoff) Delay(n int) time.Duration {
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		return b.Max
	}
	return time.Duration(d)
}

// Escalation reports a component that failed more often than its budget.
type Escalation struct {
	Child    string // the actor's id, e.g. "components/host.0"
	Reason   any    // the panic value
	Failures int    // failures within the window
	Delay    time.Duration
}

// strategy is a protoactor SupervisorStrategy with capped exponential
// backoff and jitter, which protoactor's own "exponential" strategy is not
// (it is linear and uncapped).
type strategy struct {
	cfg        Backoff
	clock      clock.Clock
	onEscalate func(Escalation)

	mu       sync.Mutex
	rng      *rand.Rand
	failures map[string][]time.Time
	done     chan struct{} // closed by stop: pending restarts are dropped
	stopOnce sync.Once
}

var _ actor.SupervisorStrategy = (*strategy)(nil)

func newStrategy(cfg Backoff, c clock.Clock, seed uint64, onEscalate func(Escalation)) *strategy {
	return &strategy{cfg: cfg, clock: c, onEscalate: onEscalate, rng: rand.New(rand.NewPCG(seed, 0x5eed)), failures: map[string][]time.Time{}, done: make(chan struct{})}
}

// HandleFailure schedules the child's restart after the backoff delay.
func (s *strategy) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	now := s.clock.Now()
	s.mu.Lock()
	recent := s.failures[child.Id][:0]
	for _, t := range s.failures[child.Id] {
		if now.Sub(t) < s.cfg.Window {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	s.failures[child.Id] = recent
	n := len(recent)
	delay := s.cfg.Delay(n)
	if s.cfg.Jitter > 0 {
		delay = time.Duration(float64(delay) * (1 + s.cfg.Jitter*(2*s.rng.Float64()-1)))
	}
	s.mu.Unlock()

	// Arm the restart before telling anyone, so that whoever hears of the
	// failure and moves the clock is sure to fire it.
	t := s.clock.NewTimer(delay)
	sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.RestartDirective})
	if n > s.cfg.Budget && s.onEscalate != nil {
		s.onEscalate(Escalation{Child: child.Id, Reason: reason, Failures: n, Delay: delay})
	}
	go func() {
		select {
		case <-t.C():
			sup.RestartChildren(child)
		case <-s.done:
			t.Stop()
		}
	}()
}

// stop drops every pending restart, for shutdown.
func (s *strategy) stop() { s.stopOnce.Do(func() { close(s.done) }) }
