package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
)

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
