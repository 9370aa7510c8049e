package simhw

import (
	"context"
	"math"
	"time"

	"github.com/statemgr/statemgr/adapters"
)

// defaultRunawayRate is ThermalRunaway's climb when Fault.Rate is zero.
const defaultRunawayRate = 1.0 // °C per second

// zone is a first-order thermal model. Its temperature at time t is a pure
// function of its anchor (t0, temp0) and the state since then: the model
// re-anchors only when that state changes (a host's power good, runaway on
// or off), which happens at event deadlines or calls, so a reading depends
// on the clock and the calls, never on when the model happened to catch up.
type zone struct {
	cfg   ZoneConfig
	hosts []*host
	t0    time.Time
	temp0 float64
}

// target is the temperature the zone settles at with its present load.
func (z *zone) target() float64 {
	w := 0.0
	for _, h := range z.hosts {
		if h.powered() {
			w += h.cfg.Watts
		}
	}
	return z.cfg.AmbientC + z.cfg.DegreesPerWatt*w
}

// temp returns the zone's temperature at t ≥ z.t0.
func (p *Platform) temp(z *zone, t time.Time) float64 {
	dt := t.Sub(z.t0)
	if f, ok := p.faults[faultKey{ThermalRunaway, z.cfg.Name}]; ok {
		return z.temp0 + runawayRate(f)*dt.Seconds()
	}
	target := z.target()
	return target + (z.temp0-target)*math.Exp(-dt.Seconds()/z.cfg.TimeConstant.Seconds())
}

func runawayRate(f Fault) float64 {
	if f.Rate == 0 {
		return defaultRunawayRate
	}
	return f.Rate
}

// anchorZones records every zone's temperature now; call it before changing
// anything temp depends on.
func (p *Platform) anchorZones() {
	for _, z := range p.zones {
		p.anchorZone(z)
	}
}

func (p *Platform) anchorZone(z *zone) {
	z.temp0 = p.temp(z, p.at)
	z.t0 = p.at
}

// Temperature returns zone name's temperature in °C.
func (p *Platform) Temperature(name string) (float64, error) {
	p.lock()
	defer p.unlock()
	z := p.zone(name)
	if z == nil {
		return 0, unknown("thermal zone", name)
	}
	return p.temp(z, p.at), nil
}

// Thermal returns the sensor of zone name.
func (p *Platform) Thermal(name string) (adapters.ThermalSensor, error) {
	p.lock()
	defer p.unlock()
	if p.closed {
		return nil, deviceErr(name, "open", adapters.NoCmd, adapters.ErrClosed)
	}
	z := p.zone(name)
	if z == nil {
		return nil, deviceErr(name, "open", adapters.NoCmd, adapters.ErrNoDevice)
	}
	return &zoneSensor{p: p, z: z}, nil
}

type zoneSensor struct {
	p *Platform
	z *zone
}

// ReadCelsius returns the zone's temperature.
func (s *zoneSensor) ReadCelsius(ctx context.Context) (float64, error) {
	const op = "read temperature"
	if err := ctx.Err(); err != nil {
		return 0, deviceErr(s.z.cfg.Name, op, adapters.NoCmd, err)
	}
	p := s.p
	p.lock()
	defer p.unlock()
	if p.closed {
		return 0, deviceErr(s.z.cfg.Name, op, adapters.NoCmd, adapters.ErrClosed)
	}
	return p.temp(s.z, p.at), nil
}
