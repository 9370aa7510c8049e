package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/process"
	"github.com/statemgr/statemgr/server/assembly"
)

// readyAfter is how long a simulated process takes to become ready, and
// exitAfter how long one takes to exit on its stop signal.
const (
	readyAfter = 200 * time.Millisecond
	exitAfter  = 100 * time.Millisecond
)

// simProcess is one simulated operating-system process of a service.
type simProcess struct {
	pid     int
	daemon  int // the daemon incarnation whose supervisor started it
	ready   bool
	hung    bool      // ignores its stop signal: only SIGKILL ends it
	termAt  time.Time // when the stop signal was sent; zero: not asked to stop
	started time.Time
}

// procEvent is something due in the process table at a virtual time.
type procEvent struct {
	at      time.Time
	seq     int // ties in scheduling order
	service actors.ID
	pid     int
	what    procEventKind
	timer   clock.Timer // keeps the deadline visible to the clock's NextDeadline
}

type procEventKind int

const (
	procReady   procEventKind = iota + 1 // readiness passed
	procExit                             // exited on its stop signal
	procKill                             // the stop timeout passed: SIGKILL
	procRestart                          // the supervisor's restart delay passed
)

// processes is an in-memory twin of adapters/process: one supervisor per
// service reporting the service machine's observations, and a table of
// the processes it runs. Effects arrive on component goroutines; timed
// events are handled by the simulation's driver when the clock reaches
// them, so a run is reproducible. Processes outlive a daemon crash, as
// real children do; the next daemon stops them, as CleanupOrphans does.
type processes struct {
	clk      *clock.Virtual
	services map[actors.ID]platform.Service

	mu      sync.Mutex
	daemon  int // current incarnation
	procs   map[actors.ID][]*simProcess
	pids    map[actors.ID]int
	events  []procEvent
	seq     int
	restart map[actors.ID]bool // a restart by policy is pending
	out     []observed         // observations for the driver to deliver
}

// observed is an observation for a component.
type observed struct {
	id actors.ID
	in machine.Input
}

func newProcesses(clk *clock.Virtual, svcs []platform.Service) *processes {
	ps := &processes{clk: clk, services: map[actors.ID]platform.Service{}, procs: map[actors.ID][]*simProcess{},
		pids: map[actors.ID]int{}, restart: map[actors.ID]bool{}}
	for _, s := range svcs {
		ps.services[actors.ID(actors.KindService+"."+s.Name)] = s
	}
	return ps
}

var _ assembly.ServiceResumer = (*processes)(nil)

// Resume implements assembly.ServiceResumer: the services come back to
// what the log says, as statemgrd's do at start (actors.ResumeService);
// the processes of the previous daemon ended with it.
func (ps *processes) Resume(ctx context.Context, sys *protoactor.System) error {
	for _, id := range sortedKeys(ps.services) {
		v, err := sys.Get(ctx, id)
		if err != nil {
			return err
		}
		in, start := actors.ResumeService(v.Status, actors.Leftover{Evidence: "the simulated process ended with the daemon"})
		if in == nil {
			continue
		}
		if _, err := sys.Request(ctx, id, *in); err != nil {
			return fmt.Errorf("cannot resume %s: %w", id, err)
		}
		if start {
			ps.Perform(id, []machine.Effect{{Name: "start_process"}})
		}
	}
	return nil
}

func (ps *processes) stopTimeout(id actors.ID) time.Duration {
	return cmpOrDuration(ps.services[id].StopTimeout, platform.DefaultStopTimeout)
}

func cmpOrDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// schedule queues an event after d; called with ps.mu held.
func (ps *processes) schedule(id actors.ID, pid int, what procEventKind, d time.Duration) {
	ps.seq++
	ps.events = append(ps.events, procEvent{at: ps.clk.Now().Add(d), seq: ps.seq, service: id, pid: pid, what: what, timer: ps.clk.NewTimer(d)})
}

// observe queues an observation for the current daemon; called with ps.mu
// held.
func (ps *processes) observe(id actors.ID, o process.Observation) {
	o.Service = id.Name()
	ps.out = append(ps.out, observed{id: id, in: o.Input()})
}

// live returns the service's processes not asked to stop; called with
// ps.mu held.
func (ps *processes) live(id actors.ID) []*simProcess {
	var out []*simProcess
	for _, p := range ps.procs[id] {
		if p.termAt.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

// spawn starts a process of id; called with ps.mu held.
func (ps *processes) spawn(id actors.ID) {
	ps.pids[id]++
	p := &simProcess{pid: ps.pids[id], daemon: ps.daemon, started: ps.clk.Now()}
	ps.procs[id] = append(ps.procs[id], p)
	ps.schedule(id, p.pid, procReady, readyAfter)
}

// terminate sends the stop signal; a hung process is killed after the
// stop timeout. Called with ps.mu held.
func (ps *processes) terminate(id actors.ID, p *simProcess) {
	if !p.termAt.IsZero() {
		return
	}
	p.termAt = ps.clk.Now()
	if p.hung {
		ps.schedule(id, p.pid, procKill, ps.stopTimeout(id))
		return
	}
	ps.schedule(id, p.pid, procExit, exitAfter)
}

// remove takes a process out of the table; called with ps.mu held.
func (ps *processes) remove(id actors.ID, pid int) *simProcess {
	i := slices.IndexFunc(ps.procs[id], func(p *simProcess) bool { return p.pid == pid })
	if i < 0 {
		return nil
	}
	p := ps.procs[id][i]
	ps.procs[id] = slices.Delete(ps.procs[id], i, i+1)
	return p
}

// Perform runs a service component's effects, as the daemon's service
// worker runs them on its supervisor.
func (ps *processes) Perform(id actors.ID, effects []machine.Effect) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, e := range effects {
		switch {
		case e.Name == "start_process":
			ps.restart[id] = false
			if len(ps.live(id)) == 0 {
				ps.spawn(id)
			}
		case e.Name == "stop_process" && e.Params["force"] == "true":
			// Reset: everything of the service is killed at once.
			ps.restart[id] = false
			ps.procs[id] = nil
		case e.Name == "stop_process":
			ps.restart[id] = false
			if len(ps.live(id)) == 0 {
				ps.observe(id, process.Observation{Trigger: machine.ObservedStopped, Reason: process.ReasonStopped, Cause: "no process was running"})
			}
			for _, p := range ps.live(id) {
				ps.terminate(id, p)
			}
		}
	}
}

// Crash makes the service's process die; its supervisor reports it and
// restarts it after the restart delay (policy on-failure).
func (ps *processes) Crash(id actors.ID) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.services[id]; !ok {
		return fmt.Errorf("%w: no service %s", ErrInvalidAction, id)
	}
	live := ps.live(id)
	if len(live) == 0 {
		return nil
	}
	p := live[len(live)-1]
	ps.remove(id, p.pid)
	if p.daemon != ps.daemon {
		return nil // an orphan: no supervisor hears of it
	}
	o := process.Observation{Trigger: machine.ObservedRuntimeError, Reason: process.ReasonSignaled, Cause: fmt.Sprintf("process %d killed by SIGSEGV", p.pid)}
	switch {
	case !p.termAt.IsZero():
		o.Trigger, o.Reason = machine.ObservedStopped, process.ReasonStopped
	case !p.ready:
		o.Trigger = machine.ObservedInitializationFailed
		fallthrough
	default:
		o.Restart, o.RestartIn = true, cmpOrDuration(ps.services[id].Restart.Delay, platform.DefaultRestartDelay)
		ps.restart[id] = true
		ps.schedule(id, p.pid, procRestart, o.RestartIn)
	}
	ps.observe(id, o)
	return nil
}

// Hang makes the service's running process ignore its stop signal.
func (ps *processes) Hang(id actors.ID) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.services[id]; !ok {
		return fmt.Errorf("%w: no service %s", ErrInvalidAction, id)
	}
	for _, p := range ps.live(id) {
		p.hung = true
	}
	return nil
}

// due handles every event due at the clock's reading, in order, and
// returns the observations for the current daemon's components.
func (ps *processes) due() []observed {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	now := ps.clk.Now()
	slices.SortStableFunc(ps.events, func(a, b procEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for len(ps.events) > 0 && !ps.events[0].at.After(now) {
		ev := ps.events[0]
		ps.events = ps.events[1:]
		ps.fire(ev)
	}
	out := ps.out
	ps.out = nil
	return out
}

// fire handles one due event; called with ps.mu held.
func (ps *processes) fire(ev procEvent) {
	id := ev.service
	i := slices.IndexFunc(ps.procs[id], func(p *simProcess) bool { return p.pid == ev.pid })
	var p *simProcess
	if i >= 0 {
		p = ps.procs[id][i]
	}
	ours := p != nil && p.daemon == ps.daemon
	switch ev.what {
	case procReady:
		if p != nil && p.termAt.IsZero() {
			p.ready = true
			if ours {
				ps.observe(id, process.Observation{Trigger: machine.ObservedInitialized, Reason: process.ReasonReady, Cause: fmt.Sprintf("process %d ready", p.pid)})
			}
		}
	case procExit, procKill:
		if p == nil {
			return
		}
		ps.remove(id, p.pid)
		reason := process.ReasonStopped
		if ev.what == procKill {
			reason = process.ReasonKilled
		}
		if ours {
			ps.observe(id, process.Observation{Trigger: machine.ObservedStopped, Reason: reason, Cause: fmt.Sprintf("process %d %s", p.pid, reason)})
		}
	case procRestart:
		if ps.restart[id] {
			ps.restart[id] = false
			ps.spawn(id)
		}
	}
}

// adopt starts a new daemon incarnation: the processes of the previous
// ones are orphans, which the new daemon stops (stop signal, SIGKILL after
// the stop timeout) before it supervises anything, as CleanupOrphans does.
func (ps *processes) adopt(daemon int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.daemon = daemon
	ps.out = nil
	for id := range ps.restart {
		ps.restart[id] = false
	}
	for _, id := range sortedKeys(ps.procs) {
		for _, p := range ps.procs[id] {
			ps.terminate(id, p)
		}
	}
}

// stray returns, for each service, processes that should be gone: asked to
// stop longer ago than the stop timeout (plus the time to exit).
func (ps *processes) stray(now time.Time) map[actors.ID][]int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := map[actors.ID][]int{}
	for id, procs := range ps.procs {
		for _, p := range procs {
			if !p.termAt.IsZero() && now.Sub(p.termAt) > ps.stopTimeout(id)+exitAfter {
				out[id] = append(out[id], p.pid)
			}
		}
	}
	return out
}

// running returns the pids of the service's processes.
func (ps *processes) running(id actors.ID) []int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var pids []int
	for _, p := range ps.procs[id] {
		pids = append(pids, p.pid)
	}
	return pids
}

func sortedKeys[V any](m map[actors.ID]V) []actors.ID {
	ids := make([]actors.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
