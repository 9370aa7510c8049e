package devices

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Perform hands each effect to the actor of the device that performs it
// and returns at once (the components' Effector). The outcome comes
// back to the component as observations: power good and POST edges, PSU
// readings, or an effect_failed observation for an effect that could not
// be performed. alert effects are not hardware and are skipped. It
// performs every other effect it is given: the component shell hands over
// only the effects the Effector performs (machine.Effect.PerformedBy).
func (h *Hardware) Perform(id actors.ID, effects []machine.Effect) {
	closed := h.isClosed()
	for _, e := range effects {
		if e.Name == "alert" {
			continue
		}
		if closed {
			h.log.Error("effect not performed: the hardware is closed", "component", id, "effect", effectString(e), "operation", e.Operation)
			continue
		}
		switch {
		case h.hosts[id] != nil:
			h.send(h.hosts[id].pid, hostEffect{effect: e})
		case h.chassis[id] != nil:
			h.send(h.chassis[id].pid, chassisEffect{effect: e})
		case id.Kind() == actors.KindBMC && e.Name == "reboot_bmc":
			h.rebootBMC(id, e)
		default:
			h.fail(id, e, fmt.Errorf("%w: no device of %s performs %s (the platform file describes no such host or chassis, or the effect belongs to the service supervisor)", ErrUnsupportedEffect, id, e.Name))
		}
	}
}

// rebootBMC runs Config.RebootBMC off the calling actor.
func (h *Hardware) rebootBMC(id actors.ID, e machine.Effect) {
	if h.cfg.RebootBMC == nil {
		h.fail(id, e, fmt.Errorf("%w: no BMC reset is configured (Config.RebootBMC)", ErrUnsupportedEffect))
		return
	}
	force, err := strconv.ParseBool(cmpOr(e.Params["force"], "false"))
	if err != nil {
		h.fail(id, e, fmt.Errorf("%w: force=%q is not true or false", ErrInvalidConfig, e.Params["force"]))
		return
	}
	key := new(int)
	h.track.begin(key)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.track.end(key)
		if err := h.cfg.RebootBMC(h.ctx, force); err != nil {
			h.fail(id, e, &Error{Device: string(id), Op: "reboot", Err: err})
		}
	}()
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// fail reports an effect that was not performed: logged as an error, and
// observed by the component as effect_failed with the reason as cause.
func (h *Hardware) fail(id actors.ID, e machine.Effect, err error) {
	h.log.Error("effect failed", "component", id, "effect", effectString(e), "operation", e.Operation, "error", err)
	h.observe(id, machine.Input{Trigger: ObservedEffectFailed, Operation: e.Operation,
		Cause: fmt.Sprintf("%s failed: %v", effectString(e), err)})
}

// effectString spells an effect as machines write it:
// "hold_power_button(duration=4s)".
func effectString(e machine.Effect) string {
	if len(e.Params) == 0 {
		return e.Name
	}
	keys := slices.Sorted(maps.Keys(e.Params))
	kv := make([]string, len(keys))
	for i, k := range keys {
		kv[i] = k + "=" + e.Params[k]
	}
	return e.Name + "(" + strings.Join(kv, ", ") + ")"
}

// durationParam reads a duration parameter of an effect, def if absent.
func durationParam(e machine.Effect, key string, def time.Duration) (time.Duration, error) {
	v, ok := e.Params[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: effect %s: %s=%q is not a duration", ErrInvalidConfig, e.Name, key, v)
	}
	return d, nil
}

// withoutParam returns e without parameter key.
func withoutParam(e machine.Effect, key string) machine.Effect {
	e.Params = maps.Clone(e.Params)
	delete(e.Params, key)
	return e
}

// Drift is one difference between a component's recorded status and the
// hardware, and the observation sent to the component about it.
type Drift struct {
	Component actors.ID
	Device    string // the line or PSU that shows it, e.g. "PS_PWROK", "psu0"
	Recorded  string // what the log says, e.g. "Off"
	Observed  string // what the hardware says, e.g. "PS_PWROK asserted"
	Input     machine.Input
	// Err is why the hardware could not be read: an *UnreachablePSU for
	// a PSU that does not answer (absent, unpowered, or at another
	// address than the platform file says); nil for a difference read.
	Err error
}

// Reconcile reads the hardware (host power good and POST complete, every
// PSU's status) and compares it with the recorded status of each chassis
// and host in current. Each difference goes to its component as an
// observation whose cause carries the evidence ("reconciliation at
// startup: PS_PWROK asserted while the log says Off"), and is returned.
// Call it at startup, before any request is accepted; components missing
// from current are skipped. Chassis are reconciled before hosts.
func (h *Hardware) Reconcile(ctx context.Context, current map[actors.ID]machine.Status) ([]Drift, error) {
	key := new(int)
	h.track.begin(key)
	defer h.track.end(key)
	return h.reconcile(ctx, key, current, "reconciliation at startup")
}

// reconcile does the work of Reconcile; the caller is counted busy.
func (h *Hardware) reconcile(ctx context.Context, key any, current map[actors.ID]machine.Status, why string) ([]Drift, error) {
	if h.isClosed() {
		return nil, ErrClosed
	}
	var drifts []Drift
	var errs []error
	// Hosts recorded powered first, the chassis next, the other hosts
	// last: a chassis that lost power is never recorded Off while a host
	// under it is still recorded Running, and a host that gained power is
	// recorded Running only after its chassis is On (openbmc#1933).
	hosts := func(powered bool) error {
		for _, id := range sortedIDs(h.hosts) {
			st, ok := current[id]
			if !ok || (h.power(id, st.State) == machine.PowerOn) != powered {
				continue
			}
			reply := newReply[reconcileReply](key)
			h.send(h.hosts[id].pid, hostReconcile{recorded: st, why: why, reply: reply})
			rep, err := await(ctx, h.track, reply)
			if err != nil {
				return fmt.Errorf("cannot reconcile %s: %w", id, err)
			}
			drifts = append(drifts, rep.drifts...)
			if rep.err != nil {
				errs = append(errs, fmt.Errorf("cannot reconcile %s: %w", id, rep.err))
			}
		}
		return nil
	}
	if err := hosts(true); err != nil {
		return drifts, err
	}
	for _, id := range sortedIDs(h.chassis) {
		st, ok := current[id]
		if !ok {
			continue
		}
		c := h.chassis[id]
		var readings []psuReading
		for _, p := range c.psus {
			reply := newReply[psuReading](key)
			h.send(p.pid, psuRead{ctx: ctx, reply: reply})
			r, err := await(ctx, h.track, reply)
			if err != nil {
				return drifts, fmt.Errorf("cannot reconcile %s: %w", id, err)
			}
			readings = append(readings, r)
		}
		reply := newReply[reconcileReply](key)
		h.send(c.pid, chassisReconcile{recorded: st, why: why, readings: readings, reply: reply})
		rep, err := await(ctx, h.track, reply)
		if err != nil {
			return drifts, fmt.Errorf("cannot reconcile %s: %w", id, err)
		}
		drifts = append(drifts, rep.drifts...)
	}
	if err := hosts(false); err != nil {
		return drifts, err
	}
	for _, d := range drifts {
		h.log.Warn("drift between the log and the hardware", "component", d.Component, "device", d.Device, "recorded", d.Recorded, "observed", d.Observed)
	}
	return drifts, errors.Join(errs...)
}

// reconcileRunning is one pass of the running reconciler: it waits until
// the observations already made have been delivered, reads the components'
// statuses and reconciles them.
func (h *Hardware) reconcileRunning(ctx context.Context, key any, obs Observer) {
	if err := h.drain(ctx); err != nil {
		return
	}
	current := map[actors.ID]machine.Status{}
	for _, id := range append(sortedIDs(h.chassis), sortedIDs(h.hosts)...) {
		st, err := obs.Status(ctx, id)
		if err != nil {
			h.log.Warn("cannot read a component's status for reconciliation", "component", id, "error", err)
			continue
		}
		current[id] = st
	}
	if _, err := h.reconcile(ctx, key, current, "periodic reconciliation"); err != nil && ctx.Err() == nil {
		h.log.Error("periodic reconciliation failed", "error", err)
	}
}

// drain waits until every observation queued so far has been delivered.
func (h *Hardware) drain(ctx context.Context) error {
	for {
		_, _, changed := h.track.state()
		if h.out.pending() == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
