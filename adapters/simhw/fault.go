package simhw

import (
	"fmt"
	"time"
)

// FaultKind names an injectable fault. Each is switched on by Inject and off
// by Clear, before or while the platform runs.
type FaultKind string

// The fault catalogue. Target is a host id, PSU name, line name or zone
// name, as each says.
const (
	// HostPowerGoodNeverRises: a power-on attempt of host Target never
	// raises PS_PWROK; the host stays off.
	HostPowerGoodNeverRises FaultKind = "host-power-good-never-rises"
	// HostPowerGoodDrops: host Target's PS_PWROK falls Fault.After after
	// it rose (After from injection if the host is on), and again after
	// every power-on while the fault is active.
	HostPowerGoodDrops FaultKind = "host-power-good-drops"
	// HostIgnoresShutdown: host Target's OS ignores a short power-button
	// press (graceful shutdown); a hold still forces it off.
	HostIgnoresShutdown FaultKind = "host-ignores-shutdown"
	// ButtonStuckAsserted: host Target's power button is stuck pressed:
	// POWER_BUTTON reads asserted, the host sees a hold (forcing it off
	// after ForceOffHold), and pulses have no effect.
	ButtonStuckAsserted FaultKind = "button-stuck-asserted"
	// ButtonStuckDeasserted: host Target's power button is stuck released:
	// POWER_OUT pulses and front-panel presses have no effect.
	ButtonStuckDeasserted FaultKind = "button-stuck-deasserted"
	// PSUVinUV: PSU Target's input is under voltage: STATUS_INPUT
	// VIN_UV_FAULT and unit-off latch, READ_VIN reads low, the output is
	// off. The output restarts by itself when the fault is cleared (input
	// restored) if OPERATION is still ON.
	PSUVinUV FaultKind = "psu-vin-uv"
	// PSUVoutOV: PSU Target's output over-voltage: STATUS_VOUT OV_FAULT
	// latches and the output latches off; after clearing, it restarts only
	// when OPERATION is written off and then on.
	PSUVoutOV FaultKind = "psu-vout-ov"
	// PSUIoutOC: PSU Target's output over-current: STATUS_IOUT OC_FAULT
	// latches and the output latches off, as for PSUVoutOV.
	PSUIoutOC FaultKind = "psu-iout-oc"
	// PSUOverTemp: PSU Target is over temperature: STATUS_TEMPERATURE
	// OT_FAULT latches, READ_TEMPERATURE_1 reads high, the output is off;
	// it restarts by itself when cleared (cooled) if OPERATION is ON.
	PSUOverTemp FaultKind = "psu-over-temperature"
	// PSUNoPowerGood: PSU Target never reaches power good: at the end of
	// its power-on ramp STATUS_VOUT TON_MAX_FAULT latches and the output
	// latches off.
	PSUNoPowerGood FaultKind = "psu-no-power-good"
	// BusNAK: transactions with PSU Target fail with adapters.ErrNAK, the
	// next Fault.Count of them (0: until cleared). They never reach the
	// device.
	BusNAK FaultKind = "bus-nak"
	// BusTimeout: transactions with PSU Target fail with
	// adapters.ErrBusTimeout after waiting Fault.Wait on the platform's
	// clock (0: at once), the next Fault.Count of them (0: until cleared).
	// A NAK fault, if also active, is served first.
	BusTimeout FaultKind = "bus-timeout"
	// LineHeld: GPIO line Target is held by another process: requesting it
	// fails with adapters.ErrLineBusy. A consumer already holding it keeps
	// it.
	LineHeld FaultKind = "line-held"
	// ThermalRunaway: zone Target's temperature climbs Fault.Rate °C per
	// second (0: 1 °C/s) whatever the load; once cleared it relaxes to its
	// load's temperature again.
	ThermalRunaway FaultKind = "thermal-runaway"
)

// Fault is one injected fault and its parameters.
type Fault struct {
	Kind   FaultKind
	Target string
	After  time.Duration // HostPowerGoodDrops: time at power good before the drop
	Count  int           // BusNAK, BusTimeout: transactions left to fail; 0 until cleared
	Wait   time.Duration // BusTimeout: how long a failing transaction waits
	Rate   float64       // ThermalRunaway: °C per second
}

type faultKey struct {
	kind   FaultKind
	target string
}

func (p *Platform) has(kind FaultKind, target string) bool {
	_, ok := p.faults[faultKey{kind, target}]
	return ok
}

// takeBusFault reports whether a bus fault of kind fails this transaction,
// counting it down.
func (p *Platform) takeBusFault(kind FaultKind, target string) (Fault, bool) {
	k := faultKey{kind, target}
	f, ok := p.faults[k]
	if !ok {
		return Fault{}, false
	}
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(p.faults, k)
		} else {
			p.faults[k] = f
		}
	}
	return f, true
}

// Faults returns the active faults, ordered by kind and target; bus faults
// show the transactions they have left.
func (p *Platform) Faults() []Fault {
	p.lock()
	defer p.unlock()
	return p.sortedFaults()
}

// Inject switches fault f on, replacing the parameters of the same kind
// and target if it is already on. Its effect starts at the current time.
func (p *Platform) Inject(f Fault) error {
	if f.Count < 0 || f.Wait < 0 || f.After < 0 || f.Rate < 0 {
		return fmt.Errorf("fault %s on %q: negative parameter: %w", f.Kind, f.Target, ErrInvalidArgument)
	}
	p.lock()
	defer p.unlock()
	if err := p.checkTarget(f.Kind, f.Target); err != nil {
		return err
	}
	k := faultKey{f.Kind, f.Target}
	switch f.Kind {
	case ThermalRunaway:
		// Anchor under the old law before switching to the new one.
		p.anchorZone(p.zone(f.Target))
		p.faults[k] = f
	case ButtonStuckAsserted, ButtonStuckDeasserted:
		delete(p.faults, faultKey{ButtonStuckAsserted, f.Target})
		delete(p.faults, faultKey{ButtonStuckDeasserted, f.Target})
		p.faults[k] = f
		p.updateHost(p.host(f.Target))
	case HostPowerGoodDrops:
		p.faults[k] = f
		if h := p.host(f.Target); h.powered() {
			p.scheduleDrop(h, f.After)
		}
	case PSUVinUV, PSUVoutOV, PSUIoutOC, PSUOverTemp:
		p.faults[k] = f
		p.reconcilePSU(p.psu(f.Target), false)
	default:
		p.faults[k] = f
	}
	return nil
}

// Clear switches a fault off; clearing a fault that is not on does
// nothing. Recovery follows the fault's description.
func (p *Platform) Clear(kind FaultKind, target string) error {
	p.lock()
	defer p.unlock()
	if err := p.checkTarget(kind, target); err != nil {
		return err
	}
	k := faultKey{kind, target}
	if _, ok := p.faults[k]; !ok {
		return nil
	}
	switch kind {
	case ThermalRunaway:
		p.anchorZone(p.zone(target))
		delete(p.faults, k)
	case ButtonStuckAsserted, ButtonStuckDeasserted:
		delete(p.faults, k)
		p.updateHost(p.host(target))
	case HostPowerGoodDrops:
		delete(p.faults, k)
		h := p.host(target)
		p.cancel(h.dropEv)
		h.dropEv = nil
	case PSUVinUV:
		delete(p.faults, k)
		ps := p.psu(target)
		// Input restored: like an AC cycle, this ends a latched shutdown.
		ps.latchedOff = false
		p.reconcilePSU(ps, false)
	case PSUVoutOV, PSUIoutOC, PSUOverTemp:
		delete(p.faults, k)
		p.reconcilePSU(p.psu(target), false)
	default:
		delete(p.faults, k)
	}
	return nil
}

// checkTarget validates a fault kind and its target.
func (p *Platform) checkTarget(kind FaultKind, target string) error {
	switch kind {
	case HostPowerGoodNeverRises, HostPowerGoodDrops, HostIgnoresShutdown, ButtonStuckAsserted, ButtonStuckDeasserted:
		if p.host(target) == nil {
			return unknown("host", target)
		}
	case PSUVinUV, PSUVoutOV, PSUIoutOC, PSUOverTemp, PSUNoPowerGood, BusNAK, BusTimeout:
		if p.psu(target) == nil {
			return unknown("psu", target)
		}
	case LineHeld:
		if p.lines[target] == nil {
			return unknown("line", target)
		}
	case ThermalRunaway:
		if p.zone(target) == nil {
			return unknown("thermal zone", target)
		}
	default:
		return fmt.Errorf("fault kind %q: %w", kind, ErrInvalidArgument)
	}
	return nil
}
