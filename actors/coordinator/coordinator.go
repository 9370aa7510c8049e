package coordinator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events"
)

// Coordinator runs multi-component operations as sagas. Its mutable state
// is owned by one goroutine (the loop) and changed only by closures sent
// to its mailbox; sagas run on goroutines of their own and report back
// through the same mailbox.
type Coordinator struct {
	cfg    Config
	log    hclog.Logger
	engine *saga.Engine
	track  tracker

	inbox   chan func(*state)
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	started bool
	// claims is what the operations hold, as the loop last published it.
	claims atomic.Pointer[claims]
	// abandoned are the operations Start abandoned after a restore; set
	// before Start returns.
	abandoned []string

	// reads is the last read of the components and hardware (Blockers).
	reads readCache

	st state // owned by the loop
}

// op is one operation as the loop knows it.
type op struct {
	id      string
	req     Request
	locks   map[actors.ID]bool // component -> exclusive
	powerOn bool
	queued  bool
	// superseded is set once the operation is cancelled by an event that
	// outranks it (a power loss, an emergency): it no longer excuses its
	// components from reconciliation while it winds down.
	superseded bool
	res        *Result
	// refusal is why the operation was rejected: a retry gets it again.
	refusal error
	done    chan struct{}
	cancel  context.CancelCauseFunc
	// resume is set for a saga recovered from the log: run it from there.
	resume bool
	// emergency is set for an emergency operation.
	emergency *emergencyOp
	// paused are the waiters for done whose Work is paused (awaitOp);
	// owned by the loop.
	paused []*pausedWaiter
}

// pausedWaiter is a caller of awaitOp whose Work is not counted while it
// waits; resumed says it is counted again.
type pausedWaiter struct {
	resume  func()
	resumed bool
}

func (w *pausedWaiter) wake() {
	if !w.resumed {
		w.resumed = true
		w.resume()
	}
}

// close ends the wait for o: its paused waiters are counted again first,
// while the saga that completes o is still counted, so the coordinator
// never looks quiet in between. Called on the loop.
func (o *op) close() {
	for _, w := range o.paused {
		w.wake()
	}
	o.paused = nil
	close(o.done)
}

type emergencyOp struct {
	kind    EmergencyKind
	action  EmergencyAction
	hosts   []actors.ID
	chassis []ChassisTopology
}

type schedule struct {
	ID  string
	At  time.Time
	Req Request
}

// state is the loop's.
type state struct {
	seq       int
	ops       map[string]*op
	keys      map[string]string   // idempotency key -> op id
	holders   map[actors.ID][]*op // component -> ops holding it
	queue     []*op
	parked    map[actors.ID]string // component -> op parked in failure
	attempts  map[actors.ID]int    // boot attempts used
	acLost    map[actors.ID]Record // chassis -> power loss record, until restored
	psuDown   map[string]PSUAlert  // psu -> its standing alert, until it answers
	schedules map[string]schedule
	emergency *op
	// restoreSettled is the last restore of the log Start dealt with (its
	// log_restored event's global sequence).
	restoreSettled uint64
	// starting: Start has not finished; schedules made meanwhile (by the
	// power-restore policy) are armed at its end, after the sagas it
	// resumes hold their components.
	starting bool
	// claimsChanged: an operation was launched, queued or ended (or an
	// emergency began): the loop publishes the claims anew.
	claimsChanged bool
}

// New checks cfg and returns a coordinator; Start recovers and runs it.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:     cfg,
		log:     cfg.Logger.Named("coordinator"),
		inbox:   make(chan func(*state)),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		st: state{ops: map[string]*op{}, keys: map[string]string{}, holders: map[actors.ID][]*op{},
			parked: map[actors.ID]string{}, attempts: map[actors.ID]int{}, acLost: map[actors.ID]Record{}, psuDown: map[string]PSUAlert{}, schedules: map[string]schedule{}},
	}
	c.track.init()
	c.engine = &saga.Engine{Log: cfg.Log, Clock: cfg.Clock, Exec: &executor{c: c}, Sleep: c.sleep,
		OnAlert: func(r saga.Result) { c.log.Error("operation parked in failure", "op", r.ID, "alert", r.Alert) }}
	return c, nil
}

func (c *Coordinator) loop() {
	defer close(c.stopped)
	for {
		select {
		case f := <-c.inbox:
			f(&c.st)
		case <-c.stop:
			return
		}
	}
}

// call runs f on the loop and waits for it.
func (c *Coordinator) call(f func(*state)) error {
	done := make(chan struct{})
	select {
	// The claims are published before the caller goes on: what it
	// answers (an operation accepted) is what Busy reads next.
	case c.inbox <- func(s *state) { f(s); c.publishClaims(s); close(done) }:
	case <-c.stopped:
		return ErrStopped
	}
	<-done
	return nil
}

// Stop cancels the sagas in flight (they stay unfinished in the log and
// are recovered by the next Start), waits for them to stop (a saga holding
// a button releases it first) until ctx ends, and stops the loop.
func (c *Coordinator) Stop(ctx context.Context) {
	if !c.started {
		return // nothing runs: Start never ran, or failed before the loop
	}
	c.once.Do(func() {
		var running []*op
		_ = c.call(func(s *state) {
			for _, o := range s.ops {
				if o.res == nil && o.cancel != nil {
					o.cancel(ErrStopped)
					running = append(running, o)
				}
			}
		})
		for _, o := range running {
			if c.awaitOp(ctx, o) != nil {
				c.log.Warn("stopped before every saga had stopped", "error", ctx.Err())
				break
			}
		}
		close(c.stop)
		<-c.stopped
	})
}

// append writes one coordinator record.
func (c *Coordinator) append(typ, key string, r Record) (events.Event, bool, error) {
	ev, err := encodeRecord(typ, key, r, c.cfg.Clock.Now())
	if err != nil {
		return events.Event{}, false, err
	}
	stored, dup, err := c.cfg.Log.Append(context.Background(), Stream, events.AnyVersion(), []events.Event{ev})
	if err != nil {
		return events.Event{}, false, fmt.Errorf("cannot record %s: %w", typ, err)
	}
	return stored[0], dup, nil
}

// Submit asks for an operation and returns its id at once; Wait returns
// its outcome. A refused request still gets an id (and the outcome
// rejected) together with the typed error saying why. A request with an
// idempotency key already used returns the first request's id and, if
// that one was refused, its refusal; a different request under a key
// already used is refused with *ConflictError.
func (c *Coordinator) Submit(ctx context.Context, req Request) (string, error) {
	id, _, err := c.SubmitOnce(ctx, req)
	return id, err
}

// SubmitOnce is Submit, also saying whether req retried an earlier
// request under the same idempotency key (and so got its answer).
func (c *Coordinator) SubmitOnce(ctx context.Context, req Request) (id string, duplicate bool, err error) {
	if !c.started {
		return "", false, ErrNotStarted
	}
	if err := req.validate(c.cfg.Topology); err != nil {
		return "", false, err
	}
	if id, dup, err, known := c.retried(req); known {
		return id, dup, err
	}
	snap, serr := c.snapshot(ctx)
	if cerr := c.call(func(s *state) { id, duplicate, err = c.admit(s, req, snap, serr) }); cerr != nil {
		return "", false, cerr
	}
	return id, duplicate, err
}

// retried answers a request whose idempotency key is already used without
// reading the hardware: the first request's answer, or a conflict.
func (c *Coordinator) retried(req Request) (id string, duplicate bool, err error, known bool) {
	if req.IdempotencyKey == "" {
		return "", false, nil, false
	}
	if cerr := c.call(func(s *state) { id, duplicate, err, known = s.retry(req) }); cerr != nil {
		return "", false, cerr, true
	}
	return id, duplicate, err, known
}

// retry looks req's idempotency key up: a retry of the same request gets
// the first one's id and refusal, another request a *ConflictError.
func (s *state) retry(req Request) (id string, duplicate bool, err error, known bool) {
	first, ok := s.keys[req.IdempotencyKey]
	if !ok {
		return "", false, nil, false
	}
	o := s.ops[first]
	if o == nil {
		return first, true, nil, true
	}
	if !sameRequest(o.req, req) {
		return "", false, &ConflictError{Key: req.IdempotencyKey, Op: first, First: o.req}, true
	}
	return first, true, o.refusal, true
}

// Do submits req and waits for its outcome.
func (c *Coordinator) Do(ctx context.Context, req Request) (Result, error) {
	id, err := c.Submit(ctx, req)
	if err != nil {
		if id != "" {
			r, _ := c.Wait(ctx, id)
			return r, err
		}
		return Result{}, err
	}
	return c.Wait(ctx, id)
}

// Wait returns operation id's outcome once it has one.
func (c *Coordinator) Wait(ctx context.Context, id string) (Result, error) {
	var o *op
	if err := c.call(func(s *state) { o = s.ops[id] }); err != nil {
		return Result{}, err
	}
	if o == nil {
		return Result{}, fmt.Errorf("%w %q", ErrUnknownOperation, id)
	}
	if err := c.awaitOp(ctx, o); err != nil {
		return Result{}, err
	}
	var r Result
	err := c.call(func(*state) { r = *o.res })
	return r, err
}

// Operation returns an operation's outcome, or false while it runs.
func (c *Coordinator) Operation(id string) (Result, bool, error) {
	var r Result
	var done bool
	var known bool
	err := c.call(func(s *state) {
		o := s.ops[id]
		if known = o != nil; known && o.res != nil {
			r, done = *o.res, true
		}
	})
	if err == nil && !known {
		err = fmt.Errorf("%w %q", ErrUnknownOperation, id)
	}
	return r, done, err
}

// admit decides on a request on the loop: idempotency, interlocks and
// overrides, conflicts, concurrency; then records and starts it.
func (c *Coordinator) admit(s *state, req Request, snap *snapshot, snapErr error) (string, bool, error) {
	// A retry may have been admitted while the snapshot was read.
	if id, dup, err, known := s.retry(req); known {
		return id, dup, err
	}
	id, err := c.decide(s, req, snap, snapErr)
	return id, false, err
}

// decide admits or refuses a new request.
func (c *Coordinator) decide(s *state, req Request, snap *snapshot, snapErr error) (string, error) {
	s.seq++
	id := fmt.Sprintf("op-%06d", s.seq)
	o := &op{id: id, req: req, done: make(chan struct{})}
	reject := func(err error) (string, error) {
		if _, _, lerr := c.append(RecOpRejected, keyOf(req), Record{Op: id, Request: &req, Error: err.Error(), Requester: req.Requester}); lerr != nil {
			err = errors.Join(err, lerr)
		}
		o.refusal = err
		c.finish(s, o, Result{Op: id, Kind: req.Kind, Target: req.Target, Outcome: saga.Rejected, Reason: err.Error()})
		return id, err
	}
	s.ops[id] = o
	if req.IdempotencyKey != "" {
		s.keys[req.IdempotencyKey] = id
	}
	// The checks, in their order, are refusals' (Blockers lists them).
	refusals, goal := c.refusals(s, id, req, snap, snapErr)
	if goal != "" {
		return c.noop(s, o, goal)
	}
	var overrides []Interlock
	for _, r := range refusals {
		var il *InterlockError
		if !errors.As(r, &il) || !slices.Contains(req.Override, il.Interlock) {
			return reject(r)
		}
		switch {
		case req.Role != RoleOperator:
			return reject(&OverrideError{Op: id, Interlock: il.Interlock, Requester: req.Requester, Reason: fmt.Sprintf("role %s may not override interlocks; the operator role may", req.Role)})
		case !overridable[il.Interlock]:
			return reject(&OverrideError{Op: id, Interlock: il.Interlock, Requester: req.Requester, Reason: "this interlock protects the hardware and cannot be overridden; " + il.Clears})
		}
		overrides = append(overrides, il.Interlock)
	}
	o.locks = c.footprint(req, snap)
	o.powerOn = req.powersOn()
	if s.conflict(o) != nil {
		o.queued = true // refusals refused it busy unless it asked to queue
	}
	if o.powerOn && s.powerOns() >= c.cfg.Policy.MaxConcurrentPowerOns {
		o.queued = true
	}
	for _, il := range overrides {
		if _, _, err := c.append(RecOverride, "", Record{Op: id, Interlock: il, Requester: req.Requester, Cause: "operator override"}); err != nil {
			return reject(err)
		}
		c.log.Warn("interlock overridden", "op", id, "interlock", il, "requester", req.Requester)
		if il == InterlockBlockingError {
			delete(s.parked, req.Target)
		}
	}
	if _, _, err := c.append(RecOpAccepted, keyOf(req), Record{Op: id, Request: &req, Requester: req.Requester}); err != nil {
		return reject(err)
	}
	if o.queued {
		s.queue = append(s.queue, o)
		s.claimsChanged = true
		return id, nil
	}
	c.launch(s, o)
	return id, nil
}

// standingInterlocks returns the interlocks that refuse req (operation
// id) now.
func (c *Coordinator) standingInterlocks(s *state, id string, req Request, snap *snapshot) []*InterlockError {
	refusals := c.interlocks(s, id, req, snap)
	if ch, ok := c.cfg.Topology.chassisOf(req.Target); ok && s.changing(ch.ID) {
		// The chassis is being powered by an operation in flight: that is
		// no missing power dependency but a busy one, so the request waits
		// for it (queue) or is refused busy, naming it.
		refusals = slices.DeleteFunc(refusals, func(r *InterlockError) bool { return r.Interlock == InterlockPowerDependency })
	}
	return refusals
}

// noop records and ends an operation whose target already is in the state
// it asks for: it does nothing, and its outcome says so.
func (c *Coordinator) noop(s *state, o *op, goal string) (string, error) {
	if _, _, err := c.append(RecOpAccepted, keyOf(o.req), Record{Op: o.id, Request: &o.req, Requester: o.req.Requester}); err != nil {
		c.finish(s, o, Result{Op: o.id, Kind: o.req.Kind, Target: o.req.Target, Outcome: saga.Rejected, Reason: err.Error()})
		o.refusal = err
		return o.id, err
	}
	c.complete(s, o, Result{Op: o.id, Kind: o.req.Kind, Target: o.req.Target, Outcome: saga.Succeeded, Noop: true, State: goal,
		Reason: fmt.Sprintf("%s is already %s: nothing to do", o.req.Target, goal)})
	return o.id, nil
}

// queued reports whether a queued operation will change component id.
func (s *state) queued(id actors.ID) bool {
	return slices.ContainsFunc(s.queue, func(q *op) bool { return q.locks[id] })
}

func keyOf(r Request) string {
	if r.IdempotencyKey == "" {
		return ""
	}
	return "key/" + r.IdempotencyKey
}

// changing reports whether an operation holds component id exclusively.
func (s *state) changing(id actors.ID) bool {
	return slices.ContainsFunc(s.holders[id], func(h *op) bool { return h.locks[id] })
}

// powerOns counts host power-ons launched and not finished.
func (s *state) powerOns() int {
	n := 0
	for _, o := range s.ops {
		if o.res == nil && o.cancel != nil && o.powerOn {
			n++
		}
	}
	return n
}

// conflict returns a BusyError naming an operation holding what o needs
// (a queued o: launched, or queued before it).
func (s *state) conflict(o *op) *BusyError { return s.claims().conflict(o.locks, o.id) }

// launch takes o's locks and runs its saga on a goroutine of its own.
func (c *Coordinator) launch(s *state, o *op) {
	o.queued = false
	s.claimsChanged = true
	for id := range o.locks {
		s.holders[id] = append(s.holders[id], o)
	}
	ctx, cancel := context.WithCancelCause(clock.WithWork(context.Background(), &c.track))
	o.cancel = cancel
	c.log.Debug("operation started", "op", o.id, "kind", o.req.Kind, "target", o.req.Target, "locks", describe(o.locks))
	c.track.begin()
	go func() {
		defer c.track.end()
		res := c.runSaga(ctx, o)
		_ = c.call(func(s *state) { c.complete(s, o, res) })
	}()
}

func (c *Coordinator) runSaga(ctx context.Context, o *op) Result {
	var sr saga.Result
	var err error
	if o.resume {
		sr, err = c.engine.Resume(ctx, o.id)
	} else {
		var snap *snapshot
		snap, err = c.snapshot(ctx)
		if err != nil && o.emergency != nil {
			// An emergency acts on what it could read (openbmc#2657).
			c.log.Error("emergency: cannot read every component; acting anyway", "op", o.id, "error", err)
			err = nil
		}
		if err == nil {
			plan := c.plan(o, snap)
			if err = plan.Validate(); err == nil {
				sr, err = c.engine.Start(ctx, plan)
			}
		}
	}
	res := Result{Op: o.id, Kind: o.req.Kind, Target: o.req.Target, Outcome: sr.Outcome, Reason: sr.Reason, Alert: sr.Alert}
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrStopped) {
			return Result{Op: o.id} // unfinished: recovered by the next Start
		}
		res.Outcome, res.Reason = saga.Failed, err.Error()
	}
	res.State = c.stateOf(ctx, o.req.Target)
	if goal, ok := o.req.goal(); ok && res.Outcome == saga.Succeeded && res.State != "" && res.State != goal {
		// Success means the target is where it was asked to be: never
		// report one it is not (a host found powered but not Running).
		res.Outcome, res.Reason = saga.Failed, fmt.Sprintf("%s is %s at the end of the operation, not %s", o.req.Target, res.State, goal)
	}
	return res
}

// stateOf reads a component's state, "" if it cannot be read.
func (c *Coordinator) stateOf(ctx context.Context, id actors.ID) string {
	gctx, cancel := context.WithTimeout(clock.WithoutCancel(ctx), c.cfg.Timeouts.Request)
	defer cancel()
	v, err := c.cfg.Components.Get(gctx, id)
	if err != nil {
		return ""
	}
	return v.Status.State
}

// complete records o's outcome, releases its locks and starts what was
// waiting for them.
func (c *Coordinator) complete(s *state, o *op, res Result) {
	s.claimsChanged = true
	for id := range o.locks {
		s.holders[id] = slices.DeleteFunc(s.holders[id], func(h *op) bool { return h == o })
	}
	if res.Outcome == "" {
		// Stopped: no outcome yet; the saga is resumed by the next Start.
		o.close()
		o.res = &Result{Op: o.id, Kind: o.req.Kind, Target: o.req.Target, Reason: "coordinator stopped; resumed on restart"}
		return
	}
	if _, _, err := c.append(RecOpFinished, "finished/"+o.id, Record{Op: o.id, Result: &res, Requester: o.req.Requester}); err != nil {
		c.log.Error("cannot record an operation's outcome", "op", o.id, "error", err)
	}
	if res.Alert != "" {
		s.parked[o.req.Target] = o.id
	}
	if res.Outcome == saga.Succeeded && o.req.Kind == HostPowerOn {
		if s.attempts[o.req.Target] > 0 {
			if _, _, err := c.append(RecBootReset, "", Record{Component: o.req.Target, Op: o.id, Cause: "host powered on"}); err == nil {
				delete(s.attempts, o.req.Target)
			}
		}
	}
	c.finish(s, o, res)
	if s.emergency == o {
		s.emergency = nil
	}
	c.dequeue(s)
}

func (c *Coordinator) finish(s *state, o *op, res Result) {
	o.res = &res
	o.close()
	c.log.Info("operation finished", "op", o.id, "kind", o.req.Kind, "target", o.req.Target, "outcome", res.Outcome, "reason", res.Reason)
}

// dequeue starts the queued operations whose components are free, in order.
func (c *Coordinator) dequeue(s *state) {
	for _, o := range slices.Clone(s.queue) {
		if s.conflict(o) != nil || (o.powerOn && s.powerOns() >= c.cfg.Policy.MaxConcurrentPowerOns) {
			continue
		}
		s.queue = slices.DeleteFunc(s.queue, func(q *op) bool { return q == o })
		c.launch(s, o)
	}
}

// footprint is the components an operation holds: exclusively what it
// changes, shared what it depends on.
func (c *Coordinator) footprint(req Request, snap *snapshot) map[actors.ID]bool {
	topo := c.cfg.Topology
	locks := map[actors.ID]bool{}
	switch req.Kind {
	case ChassisPowerOn, ChassisPowerOff, ChassisPowerCycle, Emergency:
		// An emergency recovered after a restart holds what it may touch.
		ch, _ := topo.chassisOf(req.Target)
		locks[ch.ID] = true
		for _, h := range ch.Hosts {
			locks[h] = true
		}
		locks[topo.BMC] = false
	case BMCEnterMaintenance, BMCExitMaintenance:
		locks[topo.BMC] = true
	default:
		ch, _ := topo.chassisOf(req.Target)
		locks[req.Target] = true
		locks[ch.ID] = req.powersOn() && c.powerChassis(req) && !topo.steady(ch.ID, snap.state(ch.ID), machine.PowerOn)
		locks[topo.BMC] = false
	}
	return locks
}

// powerChassis reports whether a host power-on powers its chassis first.
func (c *Coordinator) powerChassis(req Request) bool {
	return req.PowerChassis || c.cfg.Policy.HostOn == PowerChassisOn
}

// hostsOff refuses a chassis power off (or cycle) under the reject policy
// while hosts are not Off, listing them.
func (c *Coordinator) hostsOff(id string, req Request, snap *snapshot) error {
	if (req.Kind != ChassisPowerOff && req.Kind != ChassisPowerCycle) || c.cfg.Policy.ChassisOff != RejectWhileHostsOn {
		return nil
	}
	ch, _ := c.cfg.Topology.chassisOf(req.Target)
	e := &HostsNotOffError{Op: id, Chassis: ch.ID}
	for _, h := range ch.Hosts {
		if st := snap.state(h); !c.cfg.Topology.steady(h, st, machine.PowerOff) {
			e.Hosts, e.States = append(e.Hosts, h), append(e.States, st)
		}
	}
	if len(e.Hosts) > 0 {
		return e
	}
	return nil
}

// Acknowledge clears the blocking error a parked operation left on its
// target; the acknowledgement is logged with who gave it.
func (c *Coordinator) Acknowledge(ctx context.Context, id, requester string, role Role) error {
	if role != RoleOperator {
		return &OverrideError{Op: id, Interlock: InterlockBlockingError, Requester: requester, Reason: "only the operator role may acknowledge a parked operation"}
	}
	var err error
	cerr := c.call(func(s *state) {
		o := s.ops[id]
		if o == nil || s.parked[o.req.Target] != id {
			err = fmt.Errorf("%w %q: no parked operation with that id", ErrUnknownOperation, id)
			return
		}
		if _, _, err = c.append(RecAcknowledged, "ack/"+id, Record{Op: id, Component: o.req.Target, Requester: requester}); err == nil {
			delete(s.parked, o.req.Target)
		}
	})
	return errors.Join(cerr, err)
}

// Alerts returns the standing alerts: the operations parked in failure,
// in operation order, each blocking its target until an operator
// acknowledges it (Acknowledge). A restart keeps them (replay).
func (c *Coordinator) Alerts() ([]Result, error) {
	var out []Result
	err := c.call(func(s *state) {
		for target, id := range s.parked {
			r := Result{Op: id, Target: target}
			if o := s.ops[id]; o != nil && o.res != nil {
				r = *o.res
			}
			out = append(out, r)
		}
	})
	slices.SortFunc(out, func(a, b Result) int { return compareOps(a.Op, b.Op) })
	return out, err
}

// compareOps orders operation ids as they were given: op-000009 before
// op-000010, and op-999999 before op-1000000.
func compareOps(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) }

// describe renders the locks for logs.
func describe(locks map[actors.ID]bool) string {
	var parts []string
	for id, excl := range locks {
		mode := "shared"
		if excl {
			mode = "exclusive"
		}
		parts = append(parts, fmt.Sprintf("%s:%s", id, mode))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
