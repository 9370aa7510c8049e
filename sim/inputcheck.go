package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
)

// The invariants of external inputs, checked on a platform that declares
// some (InputsPlatform). Flapping inputs must also leave every invariant
// of Invariants holding.
const (
	// No power-on (of a host, or a chassis with its hosts) is admitted
	// while an input concerning its hosts is unknown where the platform
	// says unknown blocks power-on, or reports a level that blocks it
	// (thermal warning or critical, health critical), unless the log
	// records an operator's override of that interlock for it. The checker
	// judges by its own account of the reports, not by the Store.
	InvInputBlocksPowerOn = "blocking-input-refuses-power-on"
	// A thermal input turning critical while one of its hosts is powered
	// starts an emergency at once, and no host of it stays powered while
	// it is critical for longer than Options.ThermalBound plus the
	// reconciliation period.
	InvCriticalInputPowersOff = "critical-input-powers-off"
	// No host stays powered while a zone of the board's own sensors is at
	// its critical limit for longer than Options.ThermalBound plus the
	// reconciliation period, whatever the inputs report (a lying "normal"
	// masks nothing).
	InvZoneNotMasked = "lying-input-cannot-mask-zone"
)

// InputInvariants lists the invariants of external inputs.
var InputInvariants = []string{InvInputBlocksPowerOn, InvCriticalInputPowersOff, InvZoneNotMasked}

// detectEvery is the time a critical source may go unseen: the daemon's
// reconciliation period, which reads the zones (Options.ReconcileEvery's
// default). A simulation reconciling less often detects late, which the
// thermal invariants count against it.
const detectEvery = 10 * time.Second

// powersOn returns the hosts a request powers on (none: it powers nothing
// on), as the coordinator's interlocks judge it.
func (c *checker) powersOn(r *coordinator.Request) []actors.ID {
	if r == nil {
		return nil
	}
	switch r.Kind {
	case coordinator.HostPowerOn:
	case coordinator.HostReset:
		if r.ResetType == machine.RequestNmi || r.ResetType == machine.RequestForceRestart {
			return nil
		}
	case coordinator.ChassisPowerOn, coordinator.ChassisPowerCycle:
		for _, ch := range c.w.topo.Chassis {
			if ch.ID == r.Target {
				return ch.Hosts
			}
		}
		return nil
	default:
		return nil
	}
	return []actors.ID{r.Target}
}

// admitted notes an operation accepted at at: a power-on that an input
// blocks then is a violation unless it turns out a no-op (admittedEnd).
func (c *checker) admitted(op string, r *coordinator.Request, at time.Time) {
	hosts := c.powersOn(r)
	if len(hosts) == 0 || len(c.w.model) == 0 {
		return
	}
	c.checked(InvInputBlocksPowerOn)
	for _, m := range c.w.model {
		if !m.concerns(hosts) {
			continue
		}
		if why, il := m.blocking(at); why != "" && !slices.Contains(c.overrides[op], il) {
			c.blockedOps[op] = fmt.Sprintf("operation %s (%s %s) admitted at t=%s while input %s", op, r.Kind, r.Target, at.Sub(Epoch), why)
			return
		}
	}
}

// admittedEnd reports the blocked power-ons of a batch of records that
// were not no-ops.
func (c *checker) admittedEnd() *Violation {
	for _, op := range slices.Sorted(maps.Keys(c.blockedOps)) {
		v := c.violation(InvInputBlocksPowerOn, "%s", c.blockedOps[op])
		clear(c.blockedOps)
		return v
	}
	return nil
}

// reportedCritical checks that a thermal input that just turned critical
// has an emergency running or started since, if a host of it is powered.
func (c *checker) reportedCritical(m *inputModel) error {
	c.checked(InvCriticalInputPowersOff)
	hw := c.hardware()
	var on []actors.ID
	for _, h := range c.allHosts() {
		if hw.Hosts[h] && m.concerns([]actors.ID{h}) {
			on = append(on, h)
		}
	}
	if len(on) == 0 {
		return nil
	}
	if !c.emergencyAt.Before(m.at) || slices.ContainsFunc(c.open, func(id string) bool { return c.ops[id].kind == coordinator.Emergency }) {
		return nil
	}
	return c.violation(InvCriticalInputPowersOff, "input %s.%s reported critical at t=%s with %v powered, and no emergency runs (hardware %s)",
		m.cfg.Kind, m.cfg.Name, m.at.Sub(Epoch), on, hw)
}

func (c *checker) allHosts() []actors.ID {
	var all []actors.ID
	for _, ch := range c.w.topo.Chassis {
		all = append(all, ch.Hosts...)
	}
	return all
}

// thermalBounds checks, at every instant the driver stops at, that no
// host stays powered under a critical source (a board zone at its
// critical limit, a thermal input reporting critical) for longer than the
// thermal bound. A host counts from when it was last seen powering on, a
// source from when it was first seen critical.
func (c *checker) thermalBounds() error {
	if len(c.w.model) == 0 {
		return nil
	}
	now := c.w.clk.Now()
	hw := c.hardware()
	for _, h := range c.allHosts() {
		if _, seen := c.powered[h]; hw.Hosts[h] && !seen {
			c.powered[h] = now
		} else if !hw.Hosts[h] {
			delete(c.powered, h)
		}
	}
	type source struct {
		key, inv string
		hot      bool
		hosts    []actors.ID
	}
	var sources []source
	for _, z := range c.w.topo.Zones {
		if z.External {
			continue
		}
		t, err := c.w.board.Temperature(z.Name)
		sources = append(sources, source{key: "zone " + z.Name, inv: InvZoneNotMasked, hot: err == nil && z.Critical > 0 && t >= z.Critical, hosts: z.Hosts})
	}
	for _, m := range c.w.model {
		sources = append(sources, source{key: fmt.Sprintf("input %s.%s", m.cfg.Kind, m.cfg.Name), inv: InvCriticalInputPowersOff, hot: m.critical(now), hosts: m.hosts})
	}
	bound := c.w.opts.ThermalBound + detectEvery
	for _, s := range sources {
		c.checked(s.inv)
		if !s.hot {
			delete(c.hot, s.key)
			continue
		}
		if _, seen := c.hot[s.key]; !seen {
			c.hot[s.key] = now
		}
		hosts := s.hosts
		if len(hosts) == 0 {
			hosts = c.allHosts()
		}
		for _, h := range hosts {
			since, on := c.powered[h]
			if !on {
				continue
			}
			from := maxTime(since, c.hot[s.key])
			if now.Sub(from) > bound {
				return c.violation(s.inv, "%s critical since t=%s and %s powered since t=%s: still powered after %s (hardware %s)",
					s.key, c.hot[s.key].Sub(Epoch), h, since.Sub(Epoch), bound, hw)
			}
		}
	}
	return nil
}

// thermalJumped moves the thermal clocks by a jump of d: time the system
// had no chance to use.
func (c *checker) thermalJumped(d time.Duration) {
	for h, t := range c.powered {
		c.powered[h] = t.Add(d)
	}
	for k, t := range c.hot {
		c.hot[k] = t.Add(d)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
