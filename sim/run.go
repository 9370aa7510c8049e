package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// Summary counts what simulations did.
type Summary struct {
	Runs       int                  `json:"runs"`
	Actions    int                  `json:"actions"`
	ByKind     map[ActionKind]int   `json:"by_kind"`
	Faults     int                  `json:"faults_injected"` // hardware faults, AC losses, disk faults
	Crashes    int                  `json:"crashes"`         // daemon crashes and BMC reboots
	Invariants map[string]int       `json:"invariants_checked"`
	Sagas      map[saga.Outcome]int `json:"sagas"` // operations by outcome
	Virtual    time.Duration        `json:"virtual_time"`
	Elapsed    time.Duration        `json:"elapsed"`
}

// ActionsPerSecond is the simulated actions per second of real time.
func (s Summary) ActionsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Actions) / s.Elapsed.Seconds()
}

// Add adds o's counts to s.
func (s *Summary) Add(o Summary) {
	if s.ByKind == nil {
		s.ByKind, s.Invariants, s.Sagas = map[ActionKind]int{}, map[string]int{}, map[saga.Outcome]int{}
	}
	s.Runs += o.Runs
	s.Actions += o.Actions
	s.Faults += o.Faults
	s.Crashes += o.Crashes
	s.Virtual += o.Virtual
	s.Elapsed += o.Elapsed
	for k, n := range o.ByKind {
		s.ByKind[k] += n
	}
	for k, n := range o.Invariants {
		s.Invariants[k] += n
	}
	for k, n := range o.Sagas {
		s.Sagas[k] += n
	}
}

// NewGenerator returns the action generator for a platform (nil: the
// built-in one).
func NewGenerator(p *platform.Platform) *Generator {
	if p == nil {
		p = platform.Default()
	}
	topo := coordinator.TopologyOf(p)
	g := &Generator{bmc: topo.BMC}
	for _, c := range topo.Chassis {
		g.chassis = append(g.chassis, c.ID)
		g.hosts = append(g.hosts, c.Hosts...)
		g.psus = append(g.psus, c.PSUs...)
	}
	for _, z := range topo.Zones {
		if !z.External { // an input: no zone of the board
			g.zones = append(g.zones, z.Name)
		}
	}
	g.inputs = p.Inputs
	for _, s := range p.Services {
		g.services = append(g.services, actors.ID(actors.KindService+"."+s.Name))
	}
	return g
}

// Report is what one run did and the state it ended in.
type Report struct {
	Summary
	// Results has, per step, what the action got (operation ids, errors,
	// states), as in the trace.
	Results []string
	// States are the components' statuses at the end.
	States map[actors.ID]machine.Status
	// Power is the board's power at the end: chassis and host power good.
	Power PowerView
	// Operations are the outcomes of the operations, by id.
	Operations map[string]saga.Outcome
	// History has each component's transitions.
	History map[actors.ID][]actors.Transition
	// LEDs are what the simulated board's LEDs show at the end.
	LEDs leds.View
}

// simulation is one run: a world, its checker and its trace.
type simulation struct {
	w             *world
	c             *checker
	trace         io.Writer
	sum           Summary
	nextReconcile time.Time
	start         time.Time
	results       []string
}

// Run simulates actions on a fresh system, checking every invariant after
// every step, and writes the trace (one line per step and the state it
// left) to trace if it is not nil. The same options and actions give the
// same trace, byte for byte. It stops at the first broken invariant and
// returns it as a *Violation; after the last action it lets the
// operations still running finish (within the saga bound).
func Run(ctx context.Context, opts Options, actions []Action, trace io.Writer) (Report, error) {
	w, err := newWorld(opts)
	if err != nil {
		return Report{}, err
	}
	defer w.close()
	s := &simulation{w: w, c: newChecker(w), trace: trace, start: time.Now(),
		sum: Summary{Runs: 1, ByKind: map[ActionKind]int{}, Invariants: map[string]int{}, Sagas: map[saga.Outcome]int{}}}
	err = s.run(ctx, actions)
	s.sum.Virtual = w.clk.Now().Sub(Epoch)
	s.sum.Elapsed = time.Since(s.start)
	for k, n := range s.c.counts {
		s.sum.Invariants[k] += n
	}
	for k, n := range s.c.outcomes {
		s.sum.Sagas[k] += n
	}
	rep := Report{Summary: s.sum, Results: s.results, Operations: map[string]saga.Outcome{}}
	for id, o := range s.c.ops {
		rep.Operations[id] = o.outcome
	}
	if w.d != nil {
		rep.States, _ = w.statuses(ctx)
		rep.Power = s.c.hardware()
		if w.d.asm != nil && w.d.asm.LEDs != nil && w.d.asm.LEDs.Sync(ctx) == nil {
			ctl := w.d.asm.LEDs
			rep.LEDs = ctl.View()
		}
		rep.History = map[actors.ID][]actors.Transition{}
		for id := range w.machines {
			if evs, rerr := w.d.log.ReadStream(ctx, string(id), 1, 0); rerr == nil {
				rep.History[id], _ = actors.HistoryOf(evs)
			}
		}
	}
	return rep, err
}

func (s *simulation) run(ctx context.Context, actions []Action) error {
	if _, err := s.w.boot(ctx, machine.RebootCausePOR); err != nil {
		return err
	}
	s.nextReconcile = s.w.clk.Now().Add(s.w.opts.ReconcileEvery)
	if err := s.instant(ctx); err != nil {
		return err
	}
	for i, a := range actions {
		s.c.step = i
		s.sum.Actions++
		s.sum.ByKind[a.Kind]++
		result, err := s.apply(ctx, a)
		s.results = append(s.results, result)
		if err == nil {
			err = s.c.afterStep(ctx)
		}
		s.tracef("#%03d t=%s %s -> %s\n", i, s.w.clk.Now().Sub(Epoch), a, result)
		if err != nil {
			s.tracef("     %v\n", err)
			return err
		}
		s.traceState(ctx)
	}
	s.c.step = len(actions)
	end := s.w.clk.Now().Add(s.w.opts.SagaBound)
	for len(s.c.open) > 0 && s.w.clk.Now().Before(end) {
		if err := s.advance(ctx, time.Minute); err != nil {
			return err
		}
	}
	s.tracef("end t=%s open=%v\n", s.w.clk.Now().Sub(Epoch), s.c.open)
	return s.c.afterStep(ctx)
}

func (s *simulation) tracef(format string, args ...any) {
	if s.trace != nil {
		fmt.Fprintf(s.trace, format, args...)
	}
}

// traceState writes the components' states and the board's power.
func (s *simulation) traceState(ctx context.Context) {
	if s.trace == nil {
		return
	}
	st, err := s.w.statuses(ctx)
	if err != nil {
		s.tracef("     state unreadable: %v\n", err)
		return
	}
	var parts []string
	for _, id := range sortedKeys(st) {
		parts = append(parts, fmt.Sprintf("%s=%s", id, st[id].State))
	}
	s.tracef("     %s hw=%s open=%d\n", strings.Join(parts, " "), s.c.hardware(), len(s.c.open))
}

// apply performs one action and lets the system settle; it returns what
// happened, for the trace.
func (s *simulation) apply(ctx context.Context, a Action) (string, error) {
	w := s.w
	switch a.Kind {
	case Advance:
		return "ok", s.advance(ctx, a.Duration)
	case ClockJump:
		s.c.clockJumped(a.Duration)
		w.clk.Set(w.clk.Now().Add(a.Duration))
		return "ok", s.instant(ctx)
	case Submit:
		return s.submit(ctx, a.Requests)
	case ComponentRequest:
		s.c.disturb()
		return s.componentRequest(ctx, a.Component, a.Trigger)
	case InjectFault, ClearFault:
		s.c.disturb()
		if a.Fault == nil {
			return "", fmt.Errorf("%w: %s without a fault", ErrInvalidAction, a.Kind)
		}
		if a.Kind == InjectFault {
			s.sum.Faults++
			if err := w.board.Inject(*a.Fault); err != nil {
				return "", fmt.Errorf("%w: %w", ErrInvalidAction, err)
			}
		} else if err := w.board.Clear(a.Fault.Kind, a.Fault.Target); err != nil {
			return "", fmt.Errorf("%w: %w", ErrInvalidAction, err)
		}
		return "ok", s.instant(ctx)
	case ACLoss, ACRestore:
		s.c.disturb()
		if err := s.setInput(a.Kind == ACRestore); err != nil {
			return "", err
		}
		if a.Kind == ACLoss {
			s.sum.Faults++
		}
		return "ok", s.instant(ctx)
	case ServiceCrash, ServiceHang:
		s.c.disturb()
		f := w.procs.Crash
		if a.Kind == ServiceHang {
			f = w.procs.Hang
		}
		if err := f(a.Component); err != nil {
			return "", err
		}
		return "ok", s.instant(ctx)
	case Reconcile:
		err := w.await(ctx, w.d.asm.Coordinator.Reconcile)
		if ierr := s.instant(ctx); ierr != nil {
			return "", ierr
		}
		if cerr := s.c.reconciled(ctx); cerr != nil {
			return "", cerr
		}
		return outcomeText(err), nil
	case HostCrash:
		s.c.disturb()
		var rebooted bool
		err := w.await(ctx, func(ctx context.Context) error {
			var err error
			rebooted, err = w.d.asm.Coordinator.HostCrashed(ctx, a.Component, a.Watchdog)
			return err
		})
		result := outcomeText(err)
		if err == nil && rebooted {
			result = "rebooted"
		}
		return result, s.instant(ctx)
	case DaemonCrash, BMCReboot:
		return "ok", s.restart(ctx, a.Cause, nil)
	case InputReport, InputStale, InputFlap, InputLie:
		return s.applyInput(ctx, a)
	case ACCycle:
		s.sum.Faults++
		return "ok", s.restart(ctx, machine.RebootCausePOR, func() error {
			if err := s.setInput(false); err != nil {
				return err
			}
			s.c.clockJumped(a.Duration) // no daemon runs meanwhile
			w.clk.Set(w.clk.Now().Add(a.Duration))
			return s.setInput(true)
		})
	case DiskFault:
		s.sum.Faults++
		w.d.log.Inject(a.LogFault)
		// The next append fails: the driver makes it itself (an observation
		// the BMC records as ignored), so which write is lost is the same in
		// every run. A daemon whose log fails dies, and its service manager
		// restarts it.
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedPowerGoodAsserted, Cause: "disk fault probe"}
		_, err := w.d.asm.System.Request(ctx, w.topo.BMC, in)
		return outcomeText(err), s.restart(ctx, "", nil)
	}
	return "", fmt.Errorf("%w: unknown kind %q", ErrInvalidAction, a.Kind)
}

// setInput switches the input power of every PSU on or off.
func (s *simulation) setInput(on bool) error {
	for _, ch := range s.w.topo.Chassis {
		for _, p := range ch.PSUs {
			var err error
			if on {
				err = s.w.board.Clear(simhw.PSUVinUV, p)
			} else {
				err = s.w.board.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// outcomeText renders an error for the trace.
func outcomeText(err error) string {
	if err == nil {
		return "ok"
	}
	return "error: " + err.Error()
}

// submit sends requests to the coordinator one after the other at the
// same virtual instant: concurrent and conflicting requests. Between two,
// the system is quiesced (no time passes), so whether a saga that needs
// no time has ended before the next request is decided the same way in
// every run.
func (s *simulation) submit(ctx context.Context, reqs []coordinator.Request) (string, error) {
	before := s.c.hardware()
	var out []string
	for i, r := range reqs {
		if i > 0 {
			if err := s.w.quiesce(ctx); err != nil {
				return "", err
			}
		}
		// Submit reads the hardware, which may wait for the clock (a bus
		// timeout).
		var id string
		err := s.w.await(ctx, func(ctx context.Context) error {
			var err error
			id, err = s.w.d.asm.Coordinator.Submit(ctx, r)
			return err
		})
		if id != "" {
			s.c.submitted(id, before, len(reqs) == 1)
		}
		out = append(out, fmt.Sprintf("%s %s", cmpOr(id, "-"), outcomeText(err)))
	}
	return strings.Join(out, "; "), s.instant(ctx)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// componentRequest sends a request straight to a component with the guard
// facts the API computes.
func (s *simulation) componentRequest(ctx context.Context, id actors.ID, trigger string) (string, error) {
	st, err := s.w.statuses(ctx)
	if err != nil {
		return "", err
	}
	in := machine.Input{Kind: machine.KindRequest, Trigger: trigger, Requester: "user:sim", Facts: coordinator.Facts(s.w.topo, st, id, false)}
	out, err := s.w.d.asm.System.Request(ctx, id, in)
	result := outcomeText(err)
	if err == nil {
		result = "now " + out.View.Status.State
	}
	return result, s.instant(ctx)
}

// restart crashes the daemon and boots a new one, checking the crash
// invariants; cause, if set, makes it a BMC reboot, and down, if set,
// happens while no daemon runs.
func (s *simulation) restart(ctx context.Context, cause string, down func() error) error {
	s.sum.Crashes++
	s.c.disturb()
	var img crashImage
	err := s.w.crash(ctx, func() error {
		var err error
		img, err = s.c.beforeCrash(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if down != nil {
		if err := down(); err != nil {
			return err
		}
	}
	recovered, err := s.w.boot(ctx, cause)
	if err != nil {
		return err
	}
	if err := s.c.afterRestart(ctx, img, recovered); err != nil {
		return err
	}
	return s.instant(ctx)
}

// instant settles the system at the current virtual time and handles what
// is due now: the periodic reconciliation, a BMC reboot the BMC asked for,
// and the coordinator records the checker follows.
func (s *simulation) instant(ctx context.Context) error {
	for {
		if err := s.w.settle(ctx); err != nil {
			return err
		}
		if !s.w.clk.Now().Before(s.nextReconcile) {
			s.nextReconcile = s.w.clk.Now().Add(s.w.opts.ReconcileEvery)
			// A failed read (a bus fault) is the daemon's log line; the next
			// period tries again.
			_ = s.w.await(ctx, s.w.d.asm.Coordinator.Reconcile)
			continue
		}
		if s.w.takeReboot() {
			if err := s.restart(ctx, machine.RebootCauseSoftware, nil); err != nil {
				return err
			}
			continue
		}
		return s.c.follow(ctx)
	}
}

// advance lets d of virtual time pass, stopping at every deadline on the
// way: the system's timers, the periodic reconciliation and the bounds of
// operations in flight.
func (s *simulation) advance(ctx context.Context, d time.Duration) error {
	end := s.w.clk.Now().Add(d)
	for {
		if err := s.instant(ctx); err != nil {
			return err
		}
		now := s.w.clk.Now()
		if !now.Before(end) {
			return nil
		}
		next := end
		if s.nextReconcile.Before(next) {
			next = s.nextReconcile
		}
		if t, ok := s.w.clk.NextDeadline(); ok && t.Before(next) {
			next = t
		}
		if t, ok := s.c.nextDeadline(); ok && t.Before(next) && t.After(now) {
			next = t
		}
		s.w.clk.Set(next)
	}
}

// IsViolation reports whether err is a broken invariant, and which.
func IsViolation(err error) (*Violation, bool) {
	var v *Violation
	ok := errors.As(err, &v)
	return v, ok
}

// Reproduction returns, as JSON, the actions of a failed run up to the
// step that broke an invariant, without the actions that do nothing:
// what statemgr sim --replay runs.
func Reproduction(actions []Action, err error) string {
	if v, ok := IsViolation(err); ok && v.Step < len(actions) {
		actions = actions[:v.Step+1]
	}
	b, _ := json.Marshal(Compact(actions))
	return string(b)
}
