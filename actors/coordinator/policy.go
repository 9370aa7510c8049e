package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events"
)

// Start rebuilds the coordinator from its log, resumes or compensates
// every unfinished saga (each decided from its log and a fresh read of the
// components and hardware), decides the power-restore policy from
// hardware evidence, and re-arms scheduled transitions. Start never
// actuates on the strength of the log alone: if the log cannot be read it
// returns ErrRecovery and does nothing (openbmc#2035).
func (c *Coordinator) Start(ctx context.Context) error {
	if c.started {
		return nil
	}
	evs, err := c.cfg.Log.ReadStream(ctx, Stream, 1, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecovery, err)
	}
	s := &c.st
	for _, e := range evs {
		r, err := DecodeRecord(e)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRecovery, err)
		}
		c.replay(s, e.Type, r)
	}
	unfinished, err := saga.Unfinished(ctx, c.cfg.Log)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecovery, err)
	}
	restore, err := c.pendingRestore(ctx, s.restoreSettled)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecovery, err)
	}
	s.starting = true
	go c.loop()
	c.started = true
	// The power-restore decision comes first, from the hardware as the
	// daemon found it: a resumed saga switching PSUs off meanwhile would
	// read as an AC loss (and the policy could power back on what an
	// emergency had just switched off).
	inFlight := map[actors.ID]string{} // chassis -> its unfinished operation
	_ = c.call(func(s *state) {
		for id, o := range s.ops {
			if o.res == nil && o.req.Target != "" {
				inFlight[o.req.Target] = id
			}
		}
	})
	for _, ch := range c.cfg.Topology.Chassis {
		if restore != nil {
			err = c.reconcileRestored(ctx, ch, restore)
		} else {
			err = c.restoreOnStart(ctx, ch, inFlight[ch.ID])
		}
		if err != nil {
			return err
		}
	}
	empty := &snapshot{status: map[actors.ID]machine.Status{}}
	var scheds []schedule
	err = c.call(func(s *state) {
		ids := make([]string, 0, len(s.ops))
		for id, o := range s.ops {
			if o.res == nil {
				ids = append(ids, id)
			}
		}
		for _, id := range unfinished {
			if _, ok := s.ops[id]; !ok {
				ids = append(ids, id) // a saga whose op record was lost
				s.ops[id] = &op{id: id, done: make(chan struct{})}
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if restore != nil {
			c.abandon(s, ids, restore)
			ids = nil
		}
		for _, id := range ids {
			o := s.ops[id]
			o.resume = true
			o.locks = c.footprint(o.req, empty)
			o.powerOn = o.req.powersOn()
			c.log.Info("resuming operation after restart", "op", id, "kind", o.req.Kind, "target", o.req.Target)
			c.launch(s, o)
		}
		s.starting = false
		if restore != nil {
			c.dropOverdue(s, restore)
		}
		for _, sc := range s.schedules {
			scheds = append(scheds, sc)
		}
	})
	if err == nil && restore != nil {
		err = c.settleRestore(restore)
	}
	if err != nil {
		return err
	}
	slices.SortFunc(scheds, func(a, b schedule) int { return a.At.Compare(b.At) })
	for _, sc := range scheds {
		c.arm(sc)
	}
	return nil
}

// replay folds one coordinator record into the loop's state (before the
// loop runs).
func (c *Coordinator) replay(s *state, typ string, r Record) {
	var n int
	if _, err := fmt.Sscanf(r.Op, "op-%d", &n); err == nil && n > s.seq {
		s.seq = n
	}
	switch typ {
	case RecOpAccepted, RecOpRejected:
		if r.Request == nil {
			return
		}
		o := &op{id: r.Op, req: *r.Request, done: make(chan struct{})}
		s.ops[r.Op] = o
		if k := r.Request.IdempotencyKey; k != "" {
			s.keys[k] = r.Op
		}
		if typ == RecOpRejected {
			o.res = &Result{Op: r.Op, Kind: r.Request.Kind, Target: r.Request.Target, Outcome: saga.Rejected, Reason: r.Error}
			o.refusal = &RefusedError{Op: r.Op, Reason: r.Error}
			o.close()
		}
	case RecOpFinished:
		o := s.ops[r.Op]
		if o == nil || r.Result == nil || o.res != nil {
			return
		}
		o.res = r.Result
		o.close()
		if r.Result.Alert != "" {
			s.parked[o.req.Target] = r.Op
		}
	case RecAcknowledged, RecOverride:
		if typ == RecAcknowledged || r.Interlock == InterlockBlockingError {
			if o := s.ops[r.Op]; o != nil {
				delete(s.parked, o.req.Target)
			}
		}
	case RecPowerLoss:
		s.acLost[r.Component] = r
	case RecAPRDecided:
		if r.Applied || r.Restored != 0 {
			delete(s.acLost, r.Component)
		}
	case RecRestoreSettled:
		s.restoreSettled = max(s.restoreSettled, r.Restored)
	case RecScheduled:
		if r.Request != nil {
			s.schedules[r.Schedule] = schedule{ID: r.Schedule, At: r.At, Req: *r.Request}
		}
	case RecScheduleFired:
		delete(s.schedules, r.Schedule)
	case RecBootAttempt:
		s.attempts[r.Component] = r.Used
	case RecBootReset:
		delete(s.attempts, r.Component)
	case RecPSUUnreachable:
		s.psuDown[r.PSU] = PSUAlert{PSU: r.PSU, Chassis: r.Component, Since: r.At, Cause: r.Cause}
	case RecPSUAnswers:
		delete(s.psuDown, r.PSU)
	}
}

// psuEvidence reads the PSUs of ch: whether any has power good, whether
// every one reports its input lost, and the readings as evidence.
func (c *Coordinator) psuEvidence(ctx context.Context, ch ChassisTopology) (powered, inputLost bool, evidence []string, err error) {
	inputLost = len(ch.PSUs) > 0
	var errs []error
	for _, p := range ch.PSUs {
		st, err := c.cfg.Hardware.PSUStatus(ctx, p)
		if ctx.Err() == nil {
			c.notePSU(ch.ID, p, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot read %s: %w", p, err))
			continue
		}
		powered = powered || st.PowerGood
		inputLost = inputLost && st.InputLost
		evidence = append(evidence, fmt.Sprintf("%s power_good=%t input_lost=%t faults=%v", p, st.PowerGood, st.InputLost, st.Faults))
	}
	if len(errs) > 0 {
		return false, false, nil, errors.Join(errs...)
	}
	return powered, inputLost, evidence, nil
}

// restoreOnStart decides, at start, whether chassis ch lost AC power while
// the daemon was down; only then does the power-restore policy apply
// (openbmc#3031). The decision and its evidence are logged either way.
// inFlight names an operation on ch left unfinished by the last run: PSUs
// without power good are then its doing (a power-off or a compensation
// cut short), and only an input loss latched in the PSUs counts.
func (c *Coordinator) restoreOnStart(ctx context.Context, ch ChassisTopology, inFlight string) error {
	powered, inputLost, evidence, err := c.psuEvidence(ctx, ch)
	if err != nil {
		// Without a hardware read nothing is decided and nothing actuated.
		c.log.Error("cannot read the PSUs at start; power-restore policy not evaluated", "chassis", ch.ID, "error", err)
		return nil
	}
	states := c.lastObserved(ctx, ch)
	var pending bool
	var loss Record
	_ = c.call(func(s *state) { loss, pending = s.acLost[ch.ID] })
	anyLost := false
	for _, p := range ch.PSUs {
		if st, err := c.cfg.Hardware.PSUStatus(ctx, p); err == nil && st.InputLost {
			anyLost = true
		}
	}
	// Names on purpose, not State.Power: states are the loss record's
	// stable names (lossStates), and PowerCycling, powered, is no "was on"
	// to restore.
	wasOn := states[ch.ID] == machine.StateOn || states[ch.ID] == machine.StateTransitioningToOff
	if inFlight != "" && wasOn && !powered {
		evidence = append(evidence, fmt.Sprintf("no power good, but operation %s on %s was in flight", inFlight, ch.ID))
		wasOn = false
	}
	switch {
	case pending:
		// A loss recorded before the restart and not yet restored.
	case anyLost || (!powered && wasOn):
		cause := "PSU input loss latched in STATUS_INPUT"
		if !anyLost {
			cause = fmt.Sprintf("%s was last observed %s and its PSUs have no power good", ch.ID, states[ch.ID])
		}
		loss = Record{Component: ch.ID, Evidence: append(evidence, cause), States: states, Cause: "AC power lost while statemgr was down"}
		if _, _, err := c.append(RecPowerLoss, "", loss); err != nil {
			return err
		}
		_ = c.call(func(s *state) { s.acLost[ch.ID] = loss })
		pending = true
	default:
		_, _, err := c.append(RecAPRDecided, "", Record{Component: ch.ID, Policy: c.cfg.Policy.PowerRestore, Applied: false,
			Cause: "no AC power loss evidence: a daemon or BMC restart does not apply the power-restore policy", Evidence: evidence, States: states})
		if err != nil {
			return err
		}
		return c.reconcileAtStart(ctx, ch)
	}
	if inputLost {
		// STATUS_INPUT latches: clear and read again to see whether the
		// input is back now (the evidence is logged already).
		for _, p := range ch.PSUs {
			if err := c.cfg.Hardware.PSUClearFaults(ctx, p); err != nil {
				c.log.Warn("cannot clear PSU faults", "psu", p, "error", err)
			}
		}
		if _, inputLost, evidence, err = c.psuEvidence(ctx, ch); err != nil || inputLost {
			// Input still absent: restore when it returns (Reconcile).
			return c.reconcileAtStart(ctx, ch)
		}
	}
	return c.restore(ctx, ch, loss, evidence)
}

// reconcileAtStart reconciles ch at start; a hardware read that fails is
// logged, not fatal: the periodic reconciliation tries again, and a
// daemon that refused to start over a bus glitch would control nothing.
func (c *Coordinator) reconcileAtStart(ctx context.Context, ch ChassisTopology) error {
	if err := c.reconcileChassis(ctx, ch); err != nil {
		if errors.Is(err, events.ErrLogFailed) || errors.Is(err, events.ErrNoSpace) || errors.Is(err, events.ErrSyncFailed) {
			return err
		}
		c.log.Warn("cannot reconcile at start; the periodic reconciliation will", "chassis", ch.ID, "error", err)
	}
	return nil
}

// lastObserved returns the components' states as last observed: the
// component logs record requested transitions as transitional states, so a
// host that was asked to power on but never did reads Off here, and one
// shutting down reads Running (openbmc#2454).
func (c *Coordinator) lastObserved(ctx context.Context, ch ChassisTopology) map[actors.ID]string {
	out := map[actors.ID]string{}
	for _, id := range append([]actors.ID{ch.ID}, ch.Hosts...) {
		v, err := c.cfg.Components.Get(ctx, id)
		if err != nil {
			out[id] = "unknown"
			continue
		}
		st := v.Status.State
		if before, ok := c.stateBeforeLoss(ctx, id); ok {
			st = before
		}
		// Names on purpose, not State.Power: the loss record keeps these
		// stable names, which earlier records and restores already use.
		switch st {
		case machine.StateTransitioningToRunning, machine.StateTransitioningToOn, machine.StateError:
			st = machine.StateOff
		case machine.StateTransitioningToOff:
			if id.Kind() == actors.KindHost {
				st = machine.StateRunning
			} else {
				st = machine.StateOn
			}
		}
		out[id] = st
	}
	return out
}

// lossWindow bounds how long before the coordinator reads the PSUs' input
// loss a host's own loss of power still counts as part of it: the hosts'
// GPIO edges arrive before the PSU poll and the reconciliation that reads
// the input.
const lossWindow = 30 * time.Second

// stateBeforeLoss returns what host id was before its chassis lost power
// while the BMC watched: the devices record the host off (its power good
// lost, or its chassis' power lost) before the coordinator reads the
// PSUs' input, and LastState means what the host was, not that. It
// reports false unless the host's last transition is such a loss, recent
// and unrequested.
func (c *Coordinator) stateBeforeLoss(ctx context.Context, id actors.ID) (string, bool) {
	if id.Kind() != actors.KindHost {
		return "", false
	}
	const recent = 8
	head, err := c.cfg.Log.StreamHead(ctx, string(id))
	if err != nil || head == 0 {
		return "", false
	}
	evs, err := c.cfg.Log.ReadStream(ctx, string(id), max(1, head-recent+1), recent)
	if err != nil {
		return "", false
	}
	now := c.cfg.Clock.Now()
	for j := len(evs) - 1; j >= 0; j-- {
		r, err := actors.DecodeRecord(evs[j])
		if err != nil {
			return "", false
		}
		ev := r.Event
		if ev.Type != machine.EventTransition || ev.From == ev.To {
			continue // alerts, ignored observations, boot progress
		}
		if now.Sub(ev.Time) > lossWindow || ev.Operation != "" {
			return "", false
		}
		switch {
		case ev.Trigger == machine.ObservedChassisPowerLost:
			return ev.From, true
		case ev.Trigger == machine.ObservedPowerGoodDeasserted && c.cfg.Topology.steady(id, ev.From, machine.PowerOn):
			return ev.From, true
		}
		return "", false
	}
	return "", false
}

// restore applies the power-restore policy after an AC power loss, once
// input power is back: the decision and its evidence are logged, the PSU
// faults that were the evidence are cleared, and the actions are scheduled
// after the policy's delay (persisted: they survive a restart).
func (c *Coordinator) restore(ctx context.Context, ch ChassisTopology, loss Record, evidence []string) error {
	if err := c.reconcileChassis(ctx, ch); err != nil {
		c.log.Warn("reconcile before power restore", "chassis", ch.ID, "error", err)
	}
	// The PSUs' input is back, as just read: the chassis records it now,
	// not at the next PSU poll, or the health interlock would refuse the
	// policy's power-on for the BrownOut of the loss.
	back := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedPowerStatus, Value: machine.PowerStatusGood,
		Cause: "input power returned: " + strings.Join(evidence, "; ")}
	if _, err := c.cfg.Components.Request(ctx, ch.ID, back); err != nil {
		c.log.Warn("cannot record the input's return", "chassis", ch.ID, "error", err)
	}
	policy := c.cfg.Policy.PowerRestore
	var on []actors.ID
	for _, h := range ch.Hosts {
		last := loss.States[h]
		if policy == AlwaysOn || (policy == LastState && c.cfg.Topology.powered(h, last)) {
			on = append(on, h)
		}
	}
	var reqs []Request
	var actions []string
	for _, h := range on {
		reqs = append(reqs, Request{Kind: HostPowerOn, Target: h, ResetType: machine.RequestOn, Requester: "power-restore-policy", PowerChassis: true, Queue: true})
		actions = append(actions, fmt.Sprintf("power on %s", h))
	}
	if len(on) == 0 {
		// PSUs whose OPERATION is still ON restart by themselves when
		// their input returns: switch them off, so "off" means off.
		reqs = append(reqs, Request{Kind: ChassisPowerOff, Target: ch.ID, Requester: "power-restore-policy", Queue: true})
		actions = append(actions, fmt.Sprintf("keep %s and its hosts off (PSUs switched off in case they restarted by themselves)", ch.ID))
	}
	if _, _, err := c.append(RecAPRDecided, "", Record{Component: ch.ID, Policy: policy, Applied: true, Cause: "AC power loss",
		Evidence: append(slices.Clone(loss.Evidence), evidence...), States: loss.States, Actions: actions}); err != nil {
		return err
	}
	_ = c.call(func(s *state) { delete(s.acLost, ch.ID) })
	for _, p := range ch.PSUs {
		if err := c.cfg.Hardware.PSUClearFaults(ctx, p); err != nil {
			c.log.Warn("cannot clear PSU faults after power restore", "psu", p, "error", err)
		}
	}
	at := c.cfg.Clock.Now().Add(c.cfg.Policy.PowerRestoreDelay)
	for _, r := range reqs {
		if _, err := c.Schedule(ctx, at, r); err != nil {
			return err
		}
	}
	return nil
}

// Reconcile reads the hardware and brings the components in line with it
// (observations only: it never actuates, except through the emergencies
// it detects). An input loss on every PSU of a chassis records a power
// loss with its evidence and supersedes the operations on that chassis;
// the input's return applies the power-restore policy; a zone at or above
// its critical limit starts a thermal emergency. The device layer calls it
// on edges, and a ticker periodically.
func (c *Coordinator) Reconcile(ctx context.Context) error {
	var errs []error
	for _, ch := range c.cfg.Topology.Chassis {
		_, inputLost, evidence, err := c.psuEvidence(ctx, ch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var loss Record
		var lost bool
		_ = c.call(func(s *state) { loss, lost = s.acLost[ch.ID] })
		if lost && inputLost {
			// STATUS_INPUT latches: clear it (the loss and its evidence are
			// logged) and read again; it latches again while input is absent.
			for _, p := range ch.PSUs {
				if err := c.cfg.Hardware.PSUClearFaults(ctx, p); err != nil {
					errs = append(errs, err)
				}
			}
			if _, inputLost, evidence, err = c.psuEvidence(ctx, ch); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		switch {
		case inputLost && !lost:
			if err := c.powerLoss(ctx, ch, evidence); err != nil {
				errs = append(errs, err)
			}
		case !inputLost && lost:
			if err := c.restore(ctx, ch, loss, evidence); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := c.reconcileChassis(ctx, ch); err != nil {
			errs = append(errs, err)
		}
	}
	// Every critical zone of this pass goes into one emergency: a second
	// one started while the first still runs would be refused busy or
	// not, as the first happened to finish.
	critical, evidence := criticalInputs(c.inputReadings())
	for _, z := range c.cfg.Topology.Zones {
		if z.External {
			continue // an input: criticalInputs
		}
		t, err := c.cfg.Hardware.Temperature(ctx, z.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("zone %s: %w", z.Name, err))
			continue
		}
		if z.Critical > 0 && t >= z.Critical {
			critical = append(critical, z.Name)
			evidence = append(evidence, fmt.Sprintf("%s at %.1f °C, critical limit %.1f °C", z.Name, t, z.Critical))
		}
	}
	if len(critical) > 0 {
		if _, err := c.emergency(ctx, ThermalCritical, critical, evidence); err != nil && !errors.Is(err, ErrBusy) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// powerLoss records an AC power loss with its evidence and the states last
// observed before it, and supersedes the operations on the chassis.
func (c *Coordinator) powerLoss(ctx context.Context, ch ChassisTopology, evidence []string) error {
	rec := Record{Component: ch.ID, Evidence: evidence, States: c.lastObserved(ctx, ch), Cause: "input lost on every PSU"}
	var running []*op
	_ = c.call(func(s *state) {
		s.acLost[ch.ID] = rec
		running = c.supersede(s, append([]actors.ID{ch.ID}, ch.Hosts...), "power loss")
	})
	for _, o := range running {
		rec.Superseded = append(rec.Superseded, o.id)
	}
	if _, _, err := c.append(RecPowerLoss, "", rec); err != nil {
		return err
	}
	// The superseded operations end on their own (outcome superseded).
	// Waiting for them here would deadlock a caller that also drives the
	// clock their compensations wait on, and stall reconciliation.
	c.log.Warn("AC power loss", "chassis", ch.ID, "evidence", evidence, "superseded", rec.Superseded)
	return nil
}

// supersede cancels the operations holding any of ids, with ErrSuperseded
// as the cause, and returns them (so the caller can wait for them).
func (c *Coordinator) supersede(s *state, ids []actors.ID, by string) []*op {
	var out []*op
	for _, o := range s.ops {
		if o.res != nil || o.cancel == nil || o.queued {
			continue
		}
		for _, id := range ids {
			if _, ok := o.locks[id]; ok {
				o.cancel(fmt.Errorf("%w by %s", saga.ErrSuperseded, by))
				o.superseded = true
				out = append(out, o)
				break
			}
		}
	}
	for _, q := range slices.Clone(s.queue) {
		for _, id := range ids {
			if _, ok := q.locks[id]; ok {
				s.queue = slices.DeleteFunc(s.queue, func(x *op) bool { return x == q })
				s.claimsChanged = true
				c.finish(s, q, Result{Op: q.id, Kind: q.req.Kind, Target: q.req.Target, Outcome: saga.Superseded, Reason: "superseded by " + by + " while queued"})
				_, _, _ = c.append(RecOpFinished, "finished/"+q.id, Record{Op: q.id, Result: q.res})
				break
			}
		}
	}
	return out
}

// reconcileChassis makes the components of ch that no operation holds
// match the hardware: hosts losing power first, then the chassis, then
// hosts gaining power, so that no host is ever recorded Running under a
// chassis that is not On.
func (c *Coordinator) reconcileChassis(ctx context.Context, ch ChassisTopology) error {
	held := map[actors.ID]bool{}
	if err := c.call(func(s *state) {
		for id, hs := range s.holders {
			held[id] = slices.ContainsFunc(hs, func(o *op) bool { return !o.superseded })
		}
	}); err != nil {
		return err
	}
	x := &executor{c: c}
	hostOn := map[actors.ID]bool{}
	for _, h := range ch.Hosts {
		g, err := c.cfg.Hardware.HostPowerGood(ctx, h.Name())
		if err != nil {
			return err
		}
		hostOn[h] = g
	}
	chassisOn, err := x.chassisPowered(ctx, ch.ID)
	if err != nil {
		return err
	}
	state := func(id actors.ID) string {
		v, err := c.cfg.Components.Get(ctx, id)
		if err != nil {
			return ""
		}
		return v.Status.State
	}
	note := func(id actors.ID, trigger, evidence string) error {
		if err := x.observe(ctx, id, trigger, "reconciled with the hardware: "+evidence); err != nil {
			return err
		}
		_, _, err := c.append(RecReconciled, "", Record{Component: id, Trigger: trigger, Evidence: []string{evidence}})
		return err
	}
	topo := c.cfg.Topology
	for _, h := range ch.Hosts {
		st := state(h)
		if !chassisOn && topo.power(h, st) != "" && !topo.steady(h, st, machine.PowerOff) {
			// Up or powering up under a chassis without power: told the
			// chassis lost power, first and whoever holds it (its saga then
			// ends on its own). Not merely its power good: a host in the
			// middle of a power cycle would take that for the cycle's off
			// half and power up again under a chassis about to be
			// recorded Off.
			if err := note(h, machine.ObservedChassisPowerLost, fmt.Sprintf("no PSU of %s has power good while %s is %s", ch.ID, h, st)); err != nil {
				return err
			}
			continue
		}
		if !held[h] && !hostOn[h] && topo.contradicts(h, st, false) {
			if err := note(h, machine.ObservedPowerGoodDeasserted, fmt.Sprintf("%s power good is off while its component is %s", h, st)); err != nil {
				return err
			}
		}
	}
	if st := state(ch.ID); !held[ch.ID] {
		switch {
		case chassisOn && topo.contradicts(ch.ID, st, true):
			if err := note(ch.ID, machine.ObservedPowerGoodAsserted, fmt.Sprintf("a PSU of %s has power good while its component is %s", ch.ID, st)); err != nil {
				return err
			}
		case !chassisOn && topo.contradicts(ch.ID, st, false):
			if err := note(ch.ID, machine.ObservedPowerGoodDeasserted, fmt.Sprintf("no PSU of %s has power good while its component is %s", ch.ID, st)); err != nil {
				return err
			}
		}
	}
	if !topo.steady(ch.ID, state(ch.ID), machine.PowerOn) {
		return nil
	}
	for _, h := range ch.Hosts {
		if st := state(h); !held[h] && hostOn[h] && topo.contradicts(h, st, true) {
			if err := note(h, machine.ObservedPowerGoodAsserted, fmt.Sprintf("%s power good is on while its component is %s", h, st)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Emergency preempts: it supersedes the operations on the components the
// emergency affects, then runs the policy's action for kind as an
// operation of its own. zone names the thermal zone (ThermalCritical);
// evidence is logged with the decision. A PSUInputLoss is recorded as a
// power loss (with the PSU evidence) rather than run as an operation.
func (c *Coordinator) Emergency(ctx context.Context, kind EmergencyKind, zone, evidence string) (string, error) {
	return c.emergency(ctx, kind, []string{zone}, []string{evidence})
}

// emergency is Emergency for one or more zones at once: one operation for
// the hosts of them all.
func (c *Coordinator) emergency(ctx context.Context, kind EmergencyKind, zones, evidence []string) (string, error) {
	if !c.started {
		return "", ErrNotStarted
	}
	topo := c.cfg.Topology
	if kind == PSUInputLoss {
		var errs []error
		for _, ch := range topo.Chassis {
			_, _, ev, err := c.psuEvidence(ctx, ch)
			if err == nil {
				err = c.powerLoss(ctx, ch, append(ev, evidence...))
			}
			errs = append(errs, err)
		}
		return "", errors.Join(errs...)
	}
	if kind != ThermalCritical {
		return "", fmt.Errorf("%w: unknown emergency %q", ErrInvalidRequest, kind)
	}
	e := &emergencyOp{kind: kind, action: c.cfg.Policy.Emergency[kind]}
	for _, zone := range zones {
		i := slices.IndexFunc(topo.Zones, func(z ZoneTopology) bool { return z.Name == zone })
		if i < 0 {
			return "", fmt.Errorf("%w: unknown thermal zone %q", ErrInvalidRequest, zone)
		}
		hosts := topo.Zones[i].Hosts
		if len(hosts) == 0 {
			hosts = topo.hosts()
		}
		for _, h := range hosts {
			if !slices.Contains(e.hosts, h) {
				e.hosts = append(e.hosts, h)
			}
		}
	}
	if len(e.hosts) == 0 {
		return "", fmt.Errorf("%w: thermal zones %v affect no host", ErrInvalidRequest, zones)
	}
	ids := slices.Clone(e.hosts)
	for _, ch := range topo.Chassis {
		if slices.ContainsFunc(ch.Hosts, func(h actors.ID) bool { return slices.Contains(e.hosts, h) }) && e.action != IsolateComponent {
			// The chassis goes off after every one of its hosts, the
			// affected ones first.
			e.chassis = append(e.chassis, ch)
			for _, h := range ch.Hosts {
				if !slices.Contains(e.hosts, h) {
					e.hosts = append(e.hosts, h)
				}
			}
			ids = append(append(ids, ch.ID), ch.Hosts...)
		}
	}
	req := Request{Kind: Emergency, Target: e.hosts[0], Requester: "emergency:" + string(kind)}
	if len(e.chassis) > 0 {
		req.Target = e.chassis[0].ID
	}
	o := &op{req: req, done: make(chan struct{}), emergency: e, locks: map[actors.ID]bool{}}
	for _, id := range ids {
		o.locks[id] = true
	}
	var running []*op
	var busy error
	if err := c.call(func(s *state) {
		if s.emergency != nil {
			busy = &BusyError{Component: req.Target, InFlight: s.emergency.id, Kind: Emergency}
			return
		}
		s.seq++
		o.id = fmt.Sprintf("op-%06d", s.seq)
		s.ops[o.id] = o
		s.emergency = o
		s.claimsChanged = true
		running = c.supersede(s, ids, "emergency "+o.id)
	}); err != nil {
		return "", err
	}
	if busy != nil {
		return "", busy
	}
	var superseded []string
	for _, r := range running {
		// The superseded end promptly (a button hold still releases its
		// line first), whatever ctx says: the emergency acts after them.
		_ = c.awaitOp(clock.WithoutCancel(ctx), r)
		superseded = append(superseded, r.id)
	}
	rec := Record{Op: o.id, Emergency: kind, Action: e.action, Evidence: evidence, Superseded: superseded, Requester: req.Requester, Cause: fmt.Sprintf("%s in %s", kind, strings.Join(zones, ", "))}
	if _, _, err := c.append(RecEmergency, "", rec); err != nil {
		c.log.Error("cannot record the emergency; acting anyway", "op", o.id, "error", err)
	}
	if _, _, err := c.append(RecOpAccepted, "", Record{Op: o.id, Request: &req, Requester: req.Requester}); err != nil {
		c.log.Error("cannot record the emergency operation; acting anyway", "op", o.id, "error", err)
	}
	c.log.Warn("emergency", "op", o.id, "kind", kind, "zones", zones, "action", e.action, "evidence", evidence, "superseded", superseded)
	err := c.call(func(s *state) { c.launch(s, o) })
	return o.id, err
}

// HostCrashed handles a host crash (or watchdog expiry, with watchdog
// set) the board reported, as ReportCrash does.
func (c *Coordinator) HostCrashed(ctx context.Context, h actors.ID, watchdog bool) (bool, error) {
	rebooted, _, err := c.ReportCrash(ctx, h, Crash{Watchdog: watchdog})
	return rebooted, err
}

// Crash is a host crash or watchdog expiry and who reported it.
type Crash struct {
	Watchdog bool // the host's watchdog expired; else the host crashed
	// Requester and Cause go into the host's record: who reported the
	// crash and how ("" : the board, and the machine's default cause).
	Requester, Cause string
}

// ReportCrash handles a host crash: while the host is Running, auto-reboot
// is on and boot attempts are left, one attempt is used (and logged) and
// the host is reset; otherwise the host machine takes the crash as it
// stands (Running goes to Quiesced with an alert; a host that is not
// running records the report as an ignored observation, using no boot
// attempt). It returns once the host's record is durable, with whether
// the host was rebooted and the host's outcome.
func (c *Coordinator) ReportCrash(ctx context.Context, h actors.ID, crash Crash) (bool, *protoactor.Outcome, error) {
	if _, ok := c.cfg.Topology.chassisOf(h); !ok || h.Kind() != actors.KindHost {
		return false, nil, fmt.Errorf("%w: unknown host %q", ErrInvalidRequest, h)
	}
	view, err := c.cfg.Components.Get(ctx, h)
	if err != nil {
		return false, nil, err
	}
	running := view.Status.State == machine.StateRunning
	var auto bool
	var used int
	if err := c.call(func(s *state) {
		auto = running && c.autoReboot(s, h)
		used = s.attempts[h]
		if auto {
			used++
			s.attempts[h] = used
		}
	}); err != nil {
		return false, nil, err
	}
	if auto {
		if _, _, err := c.append(RecBootAttempt, "", Record{Component: h, Used: used, Cause: fmt.Sprintf("boot attempt %d of %d", used, c.cfg.Policy.BootAttempts)}); err != nil {
			return false, nil, err
		}
	}
	trigger := machine.ObservedHostCrash
	if crash.Watchdog {
		trigger = machine.ObservedWatchdogExpired
	}
	x := &executor{c: c}
	opID := fmt.Sprintf("op-boot/%s/%d", h.Name(), used)
	// The reset pulse of an auto-reboot is ours (below), not the devices'.
	in := machine.Input{Kind: machine.KindObservation, Trigger: trigger, Operation: opID, Facts: x.facts(ctx, h),
		PerformedBy: machine.PerformedByCoordinator, Requester: crash.Requester, Cause: crash.Cause}
	in.Facts["auto_reboot"] = auto
	if !auto && running {
		why := fmt.Sprintf("host crashed with auto-reboot off or its %d boot attempts spent", c.cfg.Policy.BootAttempts)
		in.Cause = strings.TrimPrefix(crash.Cause+"; "+why, "; ")
	}
	out, err := c.cfg.Components.Request(ctx, h, in)
	if err != nil {
		return false, nil, err
	}
	if !auto || out.View.Status.State != machine.StateRunning {
		return false, out, nil
	}
	// The pulse waits on the clock: on a goroutine of its own, counted.
	c.track.begin()
	go func() {
		defer c.track.end()
		if err := x.hold(clock.WithWork(clock.WithoutCancel(ctx), &c.track), c.cfg.Hardware.SetReset, h.Name(), c.cfg.Topology.Buttons.ResetPulse); err != nil {
			c.log.Error("auto-reboot reset pulse failed", "host", h, "error", err)
		}
	}()
	return true, out, nil
}

// Schedule persists a transition to run at at; it survives restarts (a
// transition that came due while the daemon was down runs at Start). It
// returns the schedule's id; the operation's idempotency key is
// "schedule/<id>", so a schedule fires at most once.
func (c *Coordinator) Schedule(ctx context.Context, at time.Time, req Request) (string, error) {
	if !c.started {
		return "", ErrNotStarted
	}
	if err := req.validate(c.cfg.Topology); err != nil {
		return "", err
	}
	var id string
	if err := c.call(func(s *state) {
		s.seq++
		id = fmt.Sprintf("sched-%06d", s.seq)
	}); err != nil {
		return "", err
	}
	sc := schedule{ID: id, At: at, Req: req}
	if _, _, err := c.append(RecScheduled, "scheduled/"+id, Record{Schedule: id, At: at, Request: &req, Requester: req.Requester}); err != nil {
		return "", err
	}
	var now bool
	_ = c.call(func(s *state) {
		s.schedules[id] = sc
		now = !s.starting
	})
	if now {
		c.arm(sc)
	}
	return id, nil
}

// arm waits for a schedule on the clock, then submits it.
func (c *Coordinator) arm(sc schedule) {
	ctx, cancel := context.WithCancelCause(clock.WithWork(context.Background(), &c.track))
	c.track.begin()
	go func() {
		defer c.track.end()
		defer cancel(nil)
		go func() {
			select {
			case <-c.stop:
				cancel(ErrStopped)
			case <-ctx.Done():
			}
		}()
		if d := sc.At.Sub(c.cfg.Clock.Now()); d > 0 {
			if err := c.sleep(ctx, d); err != nil {
				return
			}
		}
		req := sc.Req
		req.IdempotencyKey = "schedule/" + sc.ID
		id, err := c.Submit(ctx, req)
		if id == "" && err != nil {
			c.log.Error("scheduled transition not submitted", "schedule", sc.ID, "error", err)
			return
		}
		if _, _, err := c.append(RecScheduleFired, "fired/"+sc.ID, Record{Schedule: sc.ID, Op: id}); err != nil {
			c.log.Error("cannot record a fired schedule", "schedule", sc.ID, "error", err)
		}
		_ = c.call(func(s *state) { delete(s.schedules, sc.ID) })
	}()
}
