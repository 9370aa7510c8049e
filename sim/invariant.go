package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events/memlog"
)

// The invariants, by name. Each is checked after every step, or at the
// moment it speaks of (a crash, a reconciliation, an operation's end).
const (
	// No host is Running while its chassis is not On: live, and at every
	// point of the log in global order. (TransitioningToRunning is left
	// out: an AC loss during a power-on records the chassis Off while the
	// host waits out its power-good timeout; see doc.go.)
	InvHostNeedsChassis = "host-needs-chassis-on"
	// Everything the log acknowledged before a crash is there after it,
	// byte for byte, and every operation id handed out is still known.
	InvAcknowledgedSurvives = "acknowledged-survives-crash"
	// Recovery from snapshot + log gives the live state before a crash,
	// and each stream's last record is the live state at every step.
	InvRecoveredEqualsLive = "recovered-equals-live"
	// Every component stream holds only transitions its machine declares.
	InvLogAllowed = "log-holds-allowed-transitions"
	// Every operation reaches its outcome within Options.SagaBound.
	InvSagaBounded = "saga-ends-in-bounded-time"
	// After a compensated operation that nothing else disturbed, the
	// hardware is as it was before the operation.
	InvCompensationRestores = "compensation-restores-hardware"
	// After a reconciliation with no operation in flight, every host's
	// and chassis's recorded state agrees with its power good.
	InvReconciledMatches = "reconciled-state-matches-hardware"
	// A thermal emergency ends within Options.ThermalBound with the hosts
	// of its zone off.
	InvThermalOff = "thermal-emergency-powers-off"
	// A service Stopped for longer than its stop timeout has no process.
	InvStoppedServiceNoProcess = "stopped-service-has-no-process"
)

// Invariants lists every invariant name.
var Invariants = []string{InvHostNeedsChassis, InvAcknowledgedSurvives, InvRecoveredEqualsLive, InvLogAllowed,
	InvSagaBounded, InvCompensationRestores, InvReconciledMatches, InvThermalOff, InvStoppedServiceNoProcess}

// Violation is an invariant found broken: which, at which step and
// virtual time, and the evidence.
type Violation struct {
	Invariant string        `json:"invariant"`
	Step      int           `json:"step"`
	At        time.Duration `json:"at"` // virtual time since Epoch
	Evidence  string        `json:"evidence"`
}

func (v *Violation) Error() string {
	return fmt.Sprintf("invariant %s broken at step %d (t=%s): %s", v.Invariant, v.Step, v.At, v.Evidence)
}

// opInfo is what the checker knows of one operation.
type opInfo struct {
	id        string
	kind      coordinator.Kind
	accepted  time.Time
	step      int           // the step that submitted it; -1: started by the system
	before    PowerView     // the board when it was submitted
	disturbed bool          // something besides time happened while it ran
	jumped    time.Duration // clock jumps while it ran: time it had no chance to use
	outcome   saga.Outcome
	finished  time.Time
	hosts     []actors.ID // emergency: the hosts it must leave off
}

// opNamed returns the operation with id, known from now on if it was not:
// one the driver did not submit itself counts as disturbed.
func (c *checker) opNamed(id string) *opInfo {
	o := c.ops[id]
	if o == nil {
		o = &opInfo{id: id, step: -1, disturbed: true}
		c.ops[id] = o
	}
	return o
}

// PowerView is what the board shows of power: power good per chassis and
// per host.
type PowerView struct {
	Chassis map[actors.ID]bool `json:"chassis"`
	Hosts   map[actors.ID]bool `json:"hosts"`
}

func (h PowerView) String() string {
	b, _ := json.Marshal(h)
	return string(b)
}

// checker holds what the invariants need across steps.
type checker struct {
	w        *world
	counts   map[string]int // invariant -> times checked
	step     int
	cursor   uint64               // the coordinator stream read so far
	global   uint64               // the log read so far in global order
	recorded map[actors.ID]string // states as the log has them, in global order
	ops      map[string]*opInfo
	open     []string // operations without an outcome, in order of acceptance
	streams  map[actors.ID]uint64
	handed   []string // operation ids Submit handed out
	outcomes map[saga.Outcome]int

	// External inputs (inputcheck.go).
	overrides   map[string][]coordinator.Interlock // interlocks overridden, by operation
	blockedOps  map[string]string                  // power-ons admitted while an input blocked them, unless no-ops
	emergencyAt time.Time                          // the last emergency recorded
	powered     map[actors.ID]time.Time            // hosts seen powered, since when
	hot         map[string]time.Time               // critical sources, since when
}

func newChecker(w *world) *checker {
	return &checker{w: w, counts: map[string]int{}, recorded: map[actors.ID]string{}, ops: map[string]*opInfo{},
		streams: map[actors.ID]uint64{}, outcomes: map[saga.Outcome]int{},
		overrides: map[string][]coordinator.Interlock{}, blockedOps: map[string]string{}, powered: map[actors.ID]time.Time{}, hot: map[string]time.Time{}}
}

func (c *checker) violation(inv, format string, args ...any) *Violation {
	return &Violation{Invariant: inv, Step: c.step, At: c.w.clk.Now().Sub(Epoch), Evidence: fmt.Sprintf(format, args...)}
}

func (c *checker) checked(inv string) { c.counts[inv]++ }

// hardware reads the board's power.
func (c *checker) hardware() PowerView {
	h := PowerView{Chassis: map[actors.ID]bool{}, Hosts: map[actors.ID]bool{}}
	for _, ch := range c.w.topo.Chassis {
		h.Chassis[ch.ID] = c.w.board.ChassisPowerGood()
		for _, id := range ch.Hosts {
			h.Hosts[id] = c.w.board.HostPowered(id.Name())
		}
	}
	return h
}

// disturb marks every open operation disturbed: something other than
// time happened while it ran.
func (c *checker) disturb() {
	for _, id := range c.open {
		c.ops[id].disturbed = true
	}
}

// clockJumped notes a jump of the clock by d: the operations open across
// it had no chance to use that time, so their bound moves with it.
func (c *checker) clockJumped(d time.Duration) {
	c.disturb()
	for _, id := range c.open {
		c.ops[id].jumped += d
	}
	c.thermalJumped(d)
}

// submitted notes an operation the driver submitted.
func (c *checker) submitted(id string, before PowerView, alone bool) {
	c.handed = append(c.handed, id)
	if _, known := c.ops[id]; known {
		return // a reused idempotency key
	}
	c.ops[id] = &opInfo{id: id, step: c.step, before: before, disturbed: !alone || len(c.open) > 0}
}

// follow reads the coordinator records appended since the last call:
// operations accepted and finished, emergencies. It runs at every
// instant the driver stops at, so an outcome is seen at the virtual time
// it was recorded.
func (c *checker) follow(ctx context.Context) error {
	evs, err := c.w.d.log.ReadStream(ctx, coordinator.Stream, c.cursor+1, 0)
	if err != nil {
		return err
	}
	for _, e := range evs {
		c.cursor = e.StreamSeq
		r, err := coordinator.DecodeRecord(e)
		if err != nil {
			return err
		}
		switch e.Type {
		case coordinator.RecOpAccepted:
			o := c.opNamed(r.Op)
			o.accepted = e.Time
			if r.Request != nil {
				o.kind = r.Request.Kind
			}
			if !slices.Contains(c.open, r.Op) {
				c.open = append(c.open, r.Op)
			}
			c.admitted(r.Op, r.Request, e.Time)
		case coordinator.RecOverride:
			c.overrides[r.Op] = append(c.overrides[r.Op], r.Interlock)
		case coordinator.RecEmergency:
			c.emergencyAt = e.Time
			o := c.opNamed(r.Op)
			o.kind = coordinator.Emergency
			o.accepted = e.Time
			o.hosts = c.zoneHosts(r.Cause)
		case coordinator.RecOpFinished:
			if r.Result == nil {
				continue
			}
			if r.Result.Noop {
				delete(c.blockedOps, r.Op)
			}
			if o := c.ops[r.Op]; o != nil {
				o.outcome, o.finished = r.Result.Outcome, e.Time
				c.outcomes[r.Result.Outcome]++
				if v := c.finished(o); v != nil {
					return v
				}
			}
			c.open = slices.DeleteFunc(c.open, func(id string) bool { return id == r.Op })
		}
	}
	if v := c.admittedEnd(); v != nil {
		return v
	}
	if err := c.thermalBounds(); err != nil {
		return err
	}
	return c.bounded()
}

// zoneHosts returns the hosts of the zone an emergency's cause names
// ("thermal_critical in zone0"); a zone that names none affects them all.
func (c *checker) zoneHosts(cause string) []actors.ID {
	var all []actors.ID
	for _, ch := range c.w.topo.Chassis {
		all = append(all, ch.Hosts...)
	}
	for _, z := range c.w.topo.Zones {
		if strings.HasSuffix(cause, " in "+z.Name) && len(z.Hosts) > 0 {
			return z.Hosts
		}
	}
	return all
}

// finished checks what an operation's end must leave behind.
func (c *checker) finished(o *opInfo) *Violation {
	switch {
	case o.kind == coordinator.Emergency:
		c.checked(InvThermalOff)
		hw := c.hardware()
		var on []actors.ID
		for _, h := range o.hosts {
			if hw.Hosts[h] {
				on = append(on, h)
			}
		}
		if len(on) > 0 {
			return c.violation(InvThermalOff, "emergency %s ended %s with %v still powered (hardware %s)", o.id, o.outcome, on, hw)
		}
	case o.outcome == saga.Compensated && !o.disturbed && o.step >= 0:
		c.checked(InvCompensationRestores)
		if hw := c.hardware(); hw.String() != o.before.String() {
			return c.violation(InvCompensationRestores, "operation %s (%s) compensated: hardware before %s, after %s", o.id, o.kind, o.before, hw)
		}
	}
	return nil
}

// bounded checks that no operation is older than its bound.
func (c *checker) bounded() error {
	now := c.w.clk.Now()
	c.checked(InvSagaBounded)
	for _, id := range c.open {
		o := c.ops[id]
		bound, inv := c.w.opts.SagaBound, InvSagaBounded
		if o.kind == coordinator.Emergency {
			bound, inv = c.w.opts.ThermalBound, InvThermalOff
		}
		if now.Sub(o.accepted)-o.jumped > bound {
			return c.violation(inv, "operation %s (%s) accepted at t=%s has no outcome after %s", id, o.kind, o.accepted.Sub(Epoch), bound)
		}
	}
	return nil
}

// nextDeadline is the next time an open operation passes its bound, so the
// driver stops there and sees it.
func (c *checker) nextDeadline() (time.Time, bool) {
	var next time.Time
	for _, id := range c.open {
		o := c.ops[id]
		bound := c.w.opts.SagaBound
		if o.kind == coordinator.Emergency {
			bound = c.w.opts.ThermalBound
		}
		if at := o.accepted.Add(o.jumped + bound + time.Nanosecond); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero()
}

// afterStep checks the invariants that hold after every step.
func (c *checker) afterStep(ctx context.Context) error {
	if err := c.follow(ctx); err != nil {
		return err
	}
	if err := c.logOrder(ctx); err != nil {
		return err
	}
	live, err := c.w.statuses(ctx)
	if err != nil {
		return err
	}
	c.checked(InvHostNeedsChassis)
	if v := c.hostsNeedChassis(live, "live"); v != nil {
		return v
	}
	if err := c.lastRecords(ctx, live); err != nil {
		return err
	}
	if err := c.streamsAllowed(ctx); err != nil {
		return err
	}
	return c.services(live)
}

// hostsNeedChassis checks states for a host powering or powered under a
// chassis that is not On. Names on purpose, not State.Power: the
// invariant is about where the host is going (Running, or on its way
// there, which reads power good off) and its violations, recorded in the
// traces, name these states.
func (c *checker) hostsNeedChassis(states map[actors.ID]machine.Status, where string) *Violation {
	for _, ch := range c.w.topo.Chassis {
		for _, h := range ch.Hosts {
			st := states[h].State
			if (st == machine.StateRunning || st == machine.StateTransitioningToRunning) && states[ch.ID].State != machine.StateOn {
				return c.violation(InvHostNeedsChassis, "%s: %s is %s while %s is %s", where, h, st, ch.ID, states[ch.ID].State)
			}
		}
	}
	return nil
}

// logOrder replays the component records appended since the last call in
// global order and checks the host/chassis invariant at every record.
func (c *checker) logOrder(ctx context.Context) error {
	evs, err := c.w.d.log.ReadAll(ctx, c.global+1, 0)
	if err != nil {
		return err
	}
	states := map[actors.ID]machine.Status{}
	for id, st := range c.recorded {
		states[id] = machine.Status{State: st}
	}
	for _, e := range evs {
		c.global = e.GlobalSeq
		id := actors.ID(e.Stream)
		if _, ok := c.w.machines[id]; !ok || (id.Kind() != actors.KindHost && id.Kind() != actors.KindChassis) {
			continue
		}
		r, err := actors.DecodeRecord(e)
		if err != nil {
			return err
		}
		c.recorded[id] = r.Status.State
		states[id] = machine.Status{State: r.Status.State}
		if v := c.hostsNeedChassis(states, fmt.Sprintf("log at global seq %d (%s %s)", e.GlobalSeq, e.Stream, e.Type)); v != nil {
			return v
		}
	}
	return nil
}

// lastRecords checks that each stream's last record is the live status.
func (c *checker) lastRecords(ctx context.Context, live map[actors.ID]machine.Status) error {
	c.checked(InvRecoveredEqualsLive)
	for _, id := range sortedKeys(live) {
		head, err := c.w.d.log.StreamHead(ctx, string(id))
		if err != nil {
			return err
		}
		evs, err := c.w.d.log.ReadStream(ctx, string(id), head, 1)
		if err != nil || len(evs) == 0 {
			return fmt.Errorf("cannot read %s's last record: %w", id, err)
		}
		r, err := actors.DecodeRecord(evs[0])
		if err != nil {
			return err
		}
		if !sameStatus(r.Status, live[id]) {
			return c.violation(InvRecoveredEqualsLive, "%s: last record says %s, live status is %s", id, statusJSON(r.Status), statusJSON(live[id]))
		}
	}
	return nil
}

// streamsAllowed runs actors.CheckLog on every stream that grew.
func (c *checker) streamsAllowed(ctx context.Context) error {
	c.checked(InvLogAllowed)
	for _, id := range sortedKeys(c.w.machines) {
		head, err := c.w.d.log.StreamHead(ctx, string(id))
		if err != nil {
			return err
		}
		if head == c.streams[id] {
			continue
		}
		c.streams[id] = head
		evs, err := c.w.d.log.ReadStream(ctx, string(id), 1, 0)
		if err != nil {
			return err
		}
		if err := actors.CheckLog(c.w.machines[id], evs); err != nil {
			return c.violation(InvLogAllowed, "%v", err)
		}
	}
	return nil
}

// services checks that no service Stopped longer than its stop timeout
// has a process, and that no process outlives its stop signal by more
// than the stop timeout.
func (c *checker) services(live map[actors.ID]machine.Status) error {
	c.checked(InvStoppedServiceNoProcess)
	now := c.w.clk.Now()
	for _, id := range c.w.ids(actors.KindService) {
		st := live[id]
		if st.State == machine.StateStopped && now.Sub(st.Since) > c.w.procs.stopTimeout(id)+exitAfter {
			if pids := c.w.procs.running(id); len(pids) > 0 {
				return c.violation(InvStoppedServiceNoProcess, "%s Stopped since t=%s still has processes %v", id, st.Since.Sub(Epoch), pids)
			}
		}
	}
	for id, pids := range c.w.procs.stray(now) {
		return c.violation(InvStoppedServiceNoProcess, "%s: processes %v outlived their stop signal by more than %s", id, pids, c.w.procs.stopTimeout(id))
	}
	return nil
}

// beforeCrash captures what must survive: the log's acknowledged events
// and the live statuses.
type crashImage struct {
	head   uint64
	digest []byte
	live   map[actors.ID]machine.Status
}

func (c *checker) beforeCrash(ctx context.Context) (crashImage, error) {
	live, err := c.w.statuses(ctx)
	if err != nil {
		return crashImage{}, err
	}
	head, err := c.durable().Head(ctx)
	if err != nil {
		return crashImage{}, err
	}
	digest, err := c.digest(ctx, head)
	return crashImage{head: head, digest: digest, live: live}, err
}

// durable is the log as its store holds it: what was acknowledged, even
// when the daemon's log has failed.
func (c *checker) durable() *memlog.Log { return memlog.Open(c.w.store) }

// digest is the log's first n events, encoded.
func (c *checker) digest(ctx context.Context, n uint64) ([]byte, error) {
	evs, err := c.durable().ReadAll(ctx, 1, int(n))
	if err != nil {
		return nil, err
	}
	return json.Marshal(evs)
}

// afterRestart checks the crash invariants: nothing acknowledged lost,
// recovery equal to the live state before the crash, every operation id
// handed out still known.
func (c *checker) afterRestart(ctx context.Context, img crashImage, recovered map[actors.ID]machine.Status) error {
	c.checked(InvAcknowledgedSurvives)
	digest, err := c.digest(ctx, img.head)
	if err != nil {
		return err
	}
	if !bytes.Equal(digest, img.digest) {
		return c.violation(InvAcknowledgedSurvives, "the log's first %d events differ after the restart", img.head)
	}
	for _, id := range c.handed {
		if _, _, err := c.w.d.asm.Coordinator.Operation(id); err != nil {
			return c.violation(InvAcknowledgedSurvives, "operation %s handed out before the crash: %v", id, err)
		}
	}
	// Recovery may fire timeouts that came due while no daemon ran: what
	// it must reproduce is the state the log held at the crash, which the
	// live state then was. The recovered system's own state is compared
	// with the log after every step (lastRecords).
	c.checked(InvRecoveredEqualsLive)
	for _, id := range sortedKeys(img.live) {
		evs, err := c.durable().ReadStream(ctx, string(id), 1, 0)
		if err != nil {
			return err
		}
		var logged machine.Status
		for _, e := range evs {
			if e.GlobalSeq > img.head {
				break
			}
			r, err := actors.DecodeRecord(e)
			if err != nil {
				return err
			}
			logged = r.Status
		}
		if !sameStatus(img.live[id], logged) {
			return c.violation(InvRecoveredEqualsLive, "%s: live before the crash %s, the log holds %s", id, statusJSON(img.live[id]), statusJSON(logged))
		}
		if recovered[id].Transitions < logged.Transitions {
			return c.violation(InvRecoveredEqualsLive, "%s: recovered %s is behind the log's %s", id, statusJSON(recovered[id]), statusJSON(logged))
		}
	}
	return nil
}

// reconciled checks recorded states against the hardware, when no
// operation is in flight to excuse a difference.
func (c *checker) reconciled(ctx context.Context) error {
	if len(c.open) > 0 {
		return nil
	}
	c.checked(InvReconciledMatches)
	live, err := c.w.statuses(ctx)
	if err != nil {
		return err
	}
	hw := c.hardware()
	// A stable state must read what its Power says (a transitional state
	// is on its way, an error state's power is any).
	contradicts := func(id actors.ID, st string, on bool) bool {
		m := c.w.compiled[id]
		return m.StateKind(st) == machine.Stable && m.Power(st) != machine.PowerAny && m.Power(st).Contradicts(on)
	}
	for _, ch := range c.w.topo.Chassis {
		if st := live[ch.ID].State; contradicts(ch.ID, st, hw.Chassis[ch.ID]) {
			return c.violation(InvReconciledMatches, "%s is %s, power good %t", ch.ID, st, hw.Chassis[ch.ID])
		}
		for _, h := range ch.Hosts {
			if st := live[h].State; contradicts(h, st, hw.Hosts[h]) {
				return c.violation(InvReconciledMatches, "%s is %s, power good %t", h, st, hw.Hosts[h])
			}
		}
	}
	return nil
}

func sameStatus(a, b machine.Status) bool { return statusJSON(a) == statusJSON(b) }

func statusJSON(s machine.Status) string {
	b, _ := json.Marshal(s)
	return string(b)
}
