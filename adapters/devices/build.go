package devices

import (
	"context"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/gpiocdev"
	"github.com/statemgr/statemgr/adapters/hwmon"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/pmbus"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/adapters/smbus"
)

// Mount points the hwmon back-end reads.
const (
	sysfsRoot   = "/sys"
	debugfsRoot = "/sys/kernel/debug"
)

// SimConfig returns the simulated platform matching p: the same PSU names
// (every PSU whose back-end is sim), the same hosts with the same line names
// and polarities, one zone per sim sensor (named like the sensor, heated by
// every host), psusRequired PSUs needed for chassis power (capped at the
// PSU count), and a force-off hold no longer than the platform's. Fields
// left zero take simhw's defaults.
func SimConfig(p *platform.Platform, psusRequired int) simhw.Config {
	var cfg simhw.Config
	for _, c := range p.Chassis {
		for _, ps := range c.PSUs {
			if ps.Backend == platform.BackendSim {
				cfg.PSUs = append(cfg.PSUs, simhw.PSUConfig{Name: ps.Name})
			}
		}
	}
	var hostIDs []string
	for _, hst := range p.Hosts {
		l := hst.Lines
		cfg.Hosts = append(cfg.Hosts, simhw.HostConfig{ID: hst.Name, Lines: simhw.HostLines{
			PowerOut: l.PowerOut, ResetOut: l.ResetOut, NMIOut: l.NMIOut,
			PowerOK: l.PowerGood, PostComplete: l.PostComplete, PowerButton: l.PowerButton,
		}})
		hostIDs = append(hostIDs, hst.Name)
	}
	seen := map[string]bool{}
	for _, z := range p.Thermal {
		for _, s := range z.Sensors {
			if s.Backend == platform.SensorSim && !seen[s.Name] {
				seen[s.Name] = true
				cfg.Zones = append(cfg.Zones, simhw.ZoneConfig{Name: s.Name, Hosts: hostIDs})
			}
		}
	}
	cfg.PSUsRequired = max(1, min(psusRequired, len(cfg.PSUs)))
	const simHold = 4 * time.Second // simhw's default override threshold
	if hold := p.Timeouts.ForceOffHold; hold > 0 && hold < simHold {
		cfg.ForceOffHold = hold
	}
	return cfg
}

// UsesSim reports whether p has a simulated back-end (a sim PSU or
// sensor): a caller whose simulated board must outlive one Hardware (the
// daemon's, across a restore) builds it and passes it as Config.Sim.
func UsesSim(p *platform.Platform) bool {
	some, all := usesSim(p)
	return some || all
}

// usesSim reports whether p has a sim PSU or sensor, and whether every PSU
// is sim, which is the rule for simulated GPIO: the platform file has no
// per-host back-end, so a platform whose power supplies are all simulated
// is a simulated board, lines included.
func usesSim(p *platform.Platform) (some, all bool) {
	n, sims := 0, 0
	for _, c := range p.Chassis {
		for _, ps := range c.PSUs {
			n++
			if ps.Backend == platform.BackendSim {
				sims++
			}
		}
	}
	for _, z := range p.Thermal {
		for _, s := range z.Sensors {
			if s.Backend == platform.SensorSim {
				some = true
			}
		}
	}
	return some || sims > 0, n > 0 && sims == n
}

// open builds the back-ends and the device records, lines excluded.
func (h *Hardware) open() error {
	anySim, allSim := usesSim(h.plat)
	if anySim || allSim {
		h.sim = h.cfg.Sim
		if h.sim == nil {
			sim, err := simhw.New(h.clk, SimConfig(h.plat, h.cfg.PSUsRequired))
			if err != nil {
				return &Error{Device: "simulated platform", Op: "build from the platform file", Err: fmt.Errorf("%w: %w", ErrInvalidConfig, err)}
			}
			h.sim, h.ownSim = sim, true
		}
	}
	if allSim {
		h.gpio = h.sim.GPIO()
	} else {
		h.gpio = gpiocdev.New(h.clk, h.cfg.Consumer)
	}
	psuByName := map[string]*psuDev{}
	for _, c := range h.plat.Chassis {
		cd := &chassisDev{id: actors.ID(actors.KindChassis + "." + c.Name), name: c.Name, required: min(h.cfg.PSUsRequired, len(c.PSUs))}
		byName := map[string]*psuDev{}
		for _, ps := range c.PSUs {
			bus, err := h.openPSU(c.Name, ps)
			if err != nil {
				return err
			}
			h.buses = append(h.buses, bus)
			var opts []pmbus.Option
			if ps.Page >= 0 {
				opts = append(opts, pmbus.WithPage(byte(ps.Page)))
			}
			if len(ps.Direct) > 0 {
				opts = append(opts, pmbus.WithDirect(ps.Direct))
			}
			p := &psuDev{name: ps.Name, cfg: ps, chassis: cd, dev: pmbus.NewDevice(ps.Name, bus, opts...)}
			cd.psus = append(cd.psus, p)
			byName[ps.Name] = p
			psuByName[ps.Name] = p
			h.psus = append(h.psus, p)
		}
		for _, name := range c.Sequence {
			if p := byName[name]; p != nil {
				cd.order = append(cd.order, p)
			}
		}
		if len(cd.order) != len(cd.psus) {
			return &Error{Device: "chassis " + c.Name, Op: "read the power sequence", Err: fmt.Errorf("%w: sequence %v does not list each of its %d psus once", ErrInvalidConfig, c.Sequence, len(cd.psus))}
		}
		h.chassis[cd.id] = cd
	}
	for _, hst := range h.plat.Hosts {
		d := &hostDev{id: actors.ID(actors.KindHost + "." + hst.Name), name: hst.Name, cfg: hst,
			out: map[string]adapters.OutputLine{}, in: map[string]adapters.InputLine{}}
		h.hosts[d.id] = d
		if cd := h.chassis[actors.ID(actors.KindChassis+"."+hst.Chassis)]; cd != nil {
			cd.hosts = append(cd.hosts, d.id)
		}
	}
	for _, z := range h.plat.Thermal {
		zd := &zoneDev{name: z.Name, cfg: z}
		for _, s := range z.Sensors {
			sensor, err := h.openSensor(z.Name, s, psuByName)
			if err != nil {
				return err
			}
			zd.sensors = append(zd.sensors, zoneSensor{name: s.Name, sensor: sensor})
		}
		h.zones = append(h.zones, zd)
	}
	return nil
}

// openPSU opens a PSU's bus with its back-end.
func (h *Hardware) openPSU(chassis string, ps platform.PSU) (adapters.PMBus, error) {
	device := fmt.Sprintf("psu %s of chassis %s", ps.Name, chassis)
	switch ps.Backend {
	case platform.BackendSim:
		bus, err := h.sim.PMBus(ps.Name)
		if err != nil {
			return nil, &Error{Device: device, Op: "open on the simulated platform (is it in the simulated platform's psu list?)", Err: err}
		}
		return bus, nil
	case platform.BackendSMBus:
		path := smbus.BusPath(ps.Bus)
		bus, err := smbus.Open(path, ps.Address, ps.Name)
		if err != nil {
			return nil, &Error{Device: device, Op: fmt.Sprintf("open %s address 0x%02X", path, ps.Address), Err: err}
		}
		return bus, nil
	case platform.BackendHwmon:
		loc, err := hwmon.Find(sysfsRoot, debugfsRoot, ps.Bus, ps.Address, ps.Name)
		if err != nil {
			return nil, &Error{Device: device, Op: "find its hwmon directory", Err: err}
		}
		bus, err := hwmon.Open(loc)
		if err != nil {
			return nil, &Error{Device: device, Op: "open " + loc.HwmonDir, Err: err}
		}
		return bus, nil
	}
	return nil, &Error{Device: device, Op: "open", Err: fmt.Errorf("%w: back-end %q (want smbus, hwmon or sim)", ErrInvalidConfig, ps.Backend)}
}

// openSensor returns one temperature input of a zone.
func (h *Hardware) openSensor(zone string, s platform.Sensor, psus map[string]*psuDev) (adapters.ThermalSensor, error) {
	device := fmt.Sprintf("sensor %s of thermal zone %s", s.Name, zone)
	switch s.Backend {
	case platform.SensorSim:
		t, err := h.sim.Thermal(s.Name)
		if err != nil {
			return nil, &Error{Device: device, Op: "open on the simulated platform (is it one of the simulated zones?)", Err: err}
		}
		return t, nil
	case platform.SensorHwmon:
		return hwmon.NewThermalSensor(s.Name, s.HwmonDir, s.Index), nil
	case platform.SensorPSU:
		p := psus[s.PSU]
		if p == nil {
			return nil, &Error{Device: device, Op: "find its psu", Err: fmt.Errorf("%w: no psu %q", ErrInvalidConfig, s.PSU)}
		}
		return psuTemperature{p.dev}, nil
	}
	return nil, &Error{Device: device, Op: "open", Err: fmt.Errorf("%w: back-end %q (want sim, hwmon or psu)", ErrInvalidConfig, s.Backend)}
}

// psuTemperature reads READ_TEMPERATURE_1 of a PSU; pmbus.Device
// serialises it with the PSU actor's own transactions.
type psuTemperature struct{ dev *pmbus.Device }

func (p psuTemperature) ReadCelsius(ctx context.Context) (float64, error) {
	return p.dev.ReadTemperature(ctx)
}

// Line roles, named as in the platform file.
const (
	rolePowerOut     = "power_out"
	roleResetOut     = "reset_out"
	roleNMIOut       = "nmi_out"
	rolePowerGood    = "power_good"
	rolePostComplete = "post_complete"
	rolePowerButton  = "power_button"
	roleResetButton  = "reset_button"
	roleNMIButton    = "nmi_button"
	roleIDButton     = "id_button"
)

// requestLines requests every wired line of every host, inputs with their
// edge callbacks, then lets the host actors read their initial levels.
func (h *Hardware) requestLines() error {
	for _, id := range sortedIDs(h.hosts) {
		d := h.hosts[id]
		l := d.cfg.Lines
		outputs := []struct {
			role string
			cfg  adapters.LineConfig
		}{{rolePowerOut, l.PowerOut}, {roleResetOut, l.ResetOut}, {roleNMIOut, l.NMIOut}}
		for _, o := range outputs {
			if o.cfg.Name == "" {
				continue
			}
			line, err := h.gpio.Output(o.cfg)
			if err != nil {
				return &Error{Device: d.lineName(o.role, o.cfg.Name), Op: "request output line", Err: err}
			}
			d.out[o.role] = line
		}
		inputs := []struct {
			role string
			cfg  adapters.LineConfig
		}{{rolePowerGood, l.PowerGood}, {rolePostComplete, l.PostComplete}, {rolePowerButton, l.PowerButton},
			{roleResetButton, l.ResetButton}, {roleNMIButton, l.NMIButton}, {roleIDButton, l.IDButton}}
		for _, in := range inputs {
			if in.cfg.Name == "" {
				continue
			}
			role, pid := in.role, d.pid
			line, err := h.gpio.Input(in.cfg, func(e adapters.Edge) { h.send(pid, hostEdge{role: role, edge: e}) })
			if err != nil {
				return &Error{Device: d.lineName(in.role, in.cfg.Name), Op: "request input line", Err: err}
			}
			d.in[in.role] = line
		}
		d.ready.Store(true)
		h.send(d.pid, hostInit{})
	}
	return nil
}
