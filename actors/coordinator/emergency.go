package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
)

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
