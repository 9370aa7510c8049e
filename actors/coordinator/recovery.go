package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
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
