package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Checks that refuse a request besides the interlocks (Blocker.Check).
const (
	CheckBusy              = "component_busy"
	CheckHostsNotOff       = "hosts_not_off"
	CheckPoweredNotRunning = "powered_not_running"
	CheckUnreadable        = "unreadable"
)

// BlockersMaxAge is how long Blockers answers from the components and
// hardware it last read: however often it is asked, the hardware is read
// at most once per BlockersMaxAge.
const BlockersMaxAge = 2 * time.Second

// Blocker is one check that refuses a request now.
type Blocker struct {
	// Check is the interlock (thermal, health, ...) or the refusal
	// (component_busy, hosts_not_off, powered_not_running, unreadable).
	Check       string `json:"check"`
	Reason      string `json:"reason"`
	Clears      string `json:"clears"`
	Overridable bool   `json:"overridable,omitempty"`
	// Operation is the operation in flight a busy component waits for.
	Operation string `json:"operation,omitempty"`
}

// RequestBlockers is what refuses one request to one component now, in
// admission's order: the first is the refusal the request would get.
// None means admission would accept it (or answer it as a no-op, its
// target being where it asks already).
type RequestBlockers struct {
	Component actors.ID `json:"component"`
	// Request is the request's name on the component's control subject
	// (On, ForceOff, EnterMaintenance, ...).
	Request string `json:"request"`
	// Kind and ResetType are the coordinator operation it runs as.
	Kind      Kind      `json:"kind"`
	ResetType string    `json:"reset_type,omitempty"`
	Blockers  []Blocker `json:"blockers"`
}

// UnreadableError refuses a request when the components or hardware the
// interlocks are checked on cannot be read.
type UnreadableError struct {
	Op  string
	Err error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("operation %s: cannot read the components and hardware to check interlocks: %v", e.Op, e.Err)
}

// Unwrap returns the read's error.
func (e *UnreadableError) Unwrap() error { return e.Err }

// BlockerOf describes a refusal of admission as a Blocker; false for an
// error that is no refusal.
func BlockerOf(err error) (Blocker, bool) {
	var (
		il      *InterlockError
		busy    *BusyError
		hosts   *HostsNotOffError
		powered *PoweredHostError
		unread  *UnreadableError
	)
	switch {
	case errors.As(err, &il):
		return Blocker{Check: string(il.Interlock), Reason: il.Reason, Clears: il.Clears, Overridable: overridable[il.Interlock]}, true
	case errors.As(err, &busy):
		return Blocker{Check: CheckBusy, Operation: busy.InFlight,
			Reason: fmt.Sprintf("%s is busy with operation %s (%s)", busy.Component, busy.InFlight, busy.Kind),
			Clears: fmt.Sprintf("operation %s ends (a request sent with queue waits for it)", busy.InFlight)}, true
	case errors.As(err, &hosts):
		parts := make([]string, len(hosts.Hosts))
		for i, h := range hosts.Hosts {
			parts[i] = fmt.Sprintf("%s is %s", h, hosts.States[i])
		}
		return Blocker{Check: CheckHostsNotOff, Reason: strings.Join(parts, ", "),
			Clears: "the hosts are Off (shut them down first), or the chassis off policy is shutdown_hosts"}, true
	case errors.As(err, &powered):
		return Blocker{Check: CheckPoweredNotRunning, Reason: fmt.Sprintf("%s is %s: powered, but not Running", powered.Host, powered.State),
			Clears: "the host is reset (ForceRestart or PowerCycle) or powered off"}, true
	case errors.As(err, &unread):
		return Blocker{Check: CheckUnreadable, Reason: unread.Err.Error(), Clears: "the components and the hardware can be read again"}, true
	}
	return Blocker{}, false
}

// refusals runs admission's checks on req (operation id) in admission's
// order and returns every one that refuses it now; the first is the
// refusal admission gives (unless an override lifts it). goal is set
// instead when req is a no-op: its target already is where it asks.
func (c *Coordinator) refusals(s *state, id string, req Request, snap *snapshot, snapErr error) (out []error, goal string) {
	if snapErr != nil {
		return []error{&UnreadableError{Op: id, Err: snapErr}}, ""
	}
	if e := s.emergency; e != nil {
		out = append(out, &BusyError{Op: id, Component: req.Target, InFlight: e.id, Kind: Emergency})
	}
	if g, ok := s.atGoal(req, snap); ok {
		if len(out) == 0 {
			return nil, g
		}
		return out, ""
	}
	if err := c.poweredHost(s, id, req, snap); err != nil {
		out = append(out, err)
	}
	for _, r := range c.standingInterlocks(s, id, req, snap) {
		out = append(out, r)
	}
	if err := c.hostsOff(id, req, snap); err != nil {
		out = append(out, err)
	}
	if !req.Queue {
		if b := s.claims().conflict(c.footprint(req, snap), id); b != nil {
			b.Op = id
			out = append(out, b)
		}
	}
	return out, ""
}

// settledGoal returns the state req brings its target to, when it names
// one and no operation in flight or queued is about to change the target.
func (s *state) settledGoal(req Request) (string, bool) {
	goal, ok := req.goal()
	if !ok || s.changing(req.Target) || s.queued(req.Target) {
		return "", false
	}
	return goal, true
}

// atGoal reports whether req's target already is in the state req asks
// for: admission answers it as a no-op, and nothing blocks it.
func (s *state) atGoal(req Request, snap *snapshot) (string, bool) {
	goal, ok := s.settledGoal(req)
	return goal, ok && snap.state(req.Target) == goal
}

// poweredHost refuses a power on of a host that is steadily powered in
// another state than Running (Quiesced, DiagnosticMode, a platform's
// powered state): no power on brings it to Running.
func (c *Coordinator) poweredHost(s *state, id string, req Request, snap *snapshot) error {
	goal, ok := s.settledGoal(req)
	if st := snap.state(req.Target); ok && goal == machine.StateRunning && st != goal && c.cfg.Topology.steady(req.Target, st, machine.PowerOn) {
		return &PoweredHostError{Op: id, Host: req.Target, State: st}
	}
	return nil
}

// requests lists every request the coordinator takes for each component
// of the topology: the BMC's, then each chassis' and its hosts'.
func (t Topology) requests() []Request {
	var out []Request
	add := func(id actors.ID, kind Kind, resetTypes ...string) {
		if len(resetTypes) == 0 {
			out = append(out, Request{Kind: kind, Target: id})
		}
		for _, rt := range resetTypes {
			out = append(out, Request{Kind: kind, Target: id, ResetType: rt})
		}
	}
	add(t.BMC, BMCEnterMaintenance)
	add(t.BMC, BMCExitMaintenance)
	for _, ch := range t.Chassis {
		add(ch.ID, ChassisPowerOn)
		add(ch.ID, ChassisPowerOff)
		add(ch.ID, ChassisPowerCycle)
		for _, h := range ch.Hosts {
			add(h, HostPowerOn, machine.RequestOn, machine.RequestForceOn)
			add(h, HostReset, machine.RequestPushPowerButton)
			add(h, HostGracefulOff)
			add(h, HostForceOff)
			add(h, HostReset, machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle, machine.RequestNmi)
		}
	}
	return out
}

// Name is the request's name on its component's control subject.
func (r Request) Name() string {
	switch r.Kind {
	case ChassisPowerOn:
		return machine.RequestOn
	case ChassisPowerOff:
		return machine.RequestOff
	case ChassisPowerCycle:
		return machine.RequestPowerCycle
	case HostGracefulOff:
		return machine.RequestGracefulShutdown
	case HostForceOff:
		return machine.RequestForceOff
	case BMCEnterMaintenance:
		return machine.RequestEnterMaintenance
	case BMCExitMaintenance:
		return machine.RequestExitMaintenance
	}
	return r.ResetType
}

// blockers lists, for every request of the topology, what refuses it
// given the coordinator's state s and what was read (snap, snapErr): the
// same checks admission runs, in its order. It reads nothing.
func (c *Coordinator) blockers(s *state, snap *snapshot, snapErr error) []RequestBlockers {
	reqs := c.cfg.Topology.requests()
	out := make([]RequestBlockers, len(reqs))
	for i, req := range reqs {
		refs, _ := c.refusals(s, "", req, snap, snapErr)
		rb := RequestBlockers{Component: req.Target, Request: req.Name(), Kind: req.Kind, ResetType: req.ResetType, Blockers: make([]Blocker, 0, len(refs))}
		for _, r := range refs {
			if b, ok := BlockerOf(r); ok {
				rb.Blockers = append(rb.Blockers, b)
			}
		}
		out[i] = rb
	}
	return out
}

// readCache keeps the last read of the components and hardware for
// Blockers.
type readCache struct {
	mu   sync.Mutex
	at   time.Time
	snap *snapshot
	err  error
}

// Blockers returns, for every request each component could get now
// (every power request of the hosts and chassis, the BMC's maintenance),
// the checks that would refuse it, in admission's order: the first is
// exactly the refusal the request would get, and a request with none
// would be admitted. Each interlock says what clears it and whether an
// operator may override it. The components and hardware are read at most
// once per BlockersMaxAge (of the coordinator's clock); the coordinator's
// own state (operations in flight, parked failures) is current.
func (c *Coordinator) Blockers(ctx context.Context) ([]RequestBlockers, error) {
	if !c.started {
		return nil, ErrNotStarted
	}
	snap, serr := c.cachedSnapshot(ctx)
	var out []RequestBlockers
	if err := c.call(func(s *state) { out = c.blockers(s, snap, serr) }); err != nil {
		return nil, err
	}
	return out, nil
}

// cachedSnapshot returns the last snapshot if younger than BlockersMaxAge,
// else reads a new one. Callers wait for a read in progress rather than
// start their own.
func (c *Coordinator) cachedSnapshot(ctx context.Context) (*snapshot, error) {
	rc := &c.reads
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := c.cfg.Clock.Now()
	if rc.snap != nil && now.Sub(rc.at) < BlockersMaxAge && !now.Before(rc.at) {
		return rc.snap, rc.err
	}
	rc.snap, rc.err = c.snapshot(ctx)
	if ctx.Err() != nil {
		// A read cut short by its caller is no answer for the next one.
		snap, err := rc.snap, rc.err
		rc.snap = nil
		return snap, err
	}
	rc.at = now
	return rc.snap, rc.err
}
