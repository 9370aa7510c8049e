package simhw

import (
	"fmt"
	"strings"
	"time"

	"github.com/statemgr/statemgr/adapters"
)

// Config describes the simulated platform. Zero values mean the defaults of
// DefaultConfig: an empty PSUs or Hosts list is replaced by the default
// platform's, an empty Zones list by one zone per host ("zone<id>", heated
// by that host), and a zero field of an entry by the default for that field
// (so VoutMode 0 means 0x17, not exponent 0).
type Config struct {
	PSUs  []PSUConfig
	Hosts []HostConfig
	Zones []ZoneConfig
	// PSUsRequired is how many PSUs must report power good for the chassis
	// to have power; default 1 (1+1 redundancy with two PSUs).
	PSUsRequired int
	// ChassisWatts is the load of the chassis itself (fans, board) while
	// chassis power is good, shared by the PSUs; default 60 W.
	ChassisWatts float64
	// MinPress is the shortest power-button press a host acts on (shorter
	// ones are bounce); default 100 ms.
	MinPress time.Duration
	// ForceOffHold is how long the power button must be held for the
	// override that turns a host off at once; default 4 s.
	ForceOffHold time.Duration
}

// PSUConfig is one PMBus power supply of the chassis.
type PSUConfig struct {
	Name string // device name, e.g. "psu0"
	// InitiallyOn starts the PSU with OPERATION=ON and its output good, as
	// after AC was applied long ago; default false (commanded off).
	InitiallyOn bool
	// PowerOnDelay is the time from OPERATION=ON to power good (the output
	// ramps linearly in between); default 200 ms.
	PowerOnDelay time.Duration
	// SoftOffDelay is the time from OPERATION=SOFT OFF to the output being
	// off (TOFF_DELAY plus TOFF_FALL); default 50 ms.
	SoftOffDelay time.Duration
	VinVolts     float64 // nominal input voltage; default 230 V
	VoutVolts    float64 // nominal output voltage; default 12 V
	RatedWatts   float64 // output rating; above it STATUS_IOUT OC_WARN latches; default 1600 W
	Efficiency   float64 // PIN = POUT / Efficiency (plus standby); default 0.94
	StandbyWatts float64 // input power drawn with the output off; default 10 W
	// VoutMode is the VOUT_MODE byte; only the linear format (bits 7:5 =
	// 000) is modelled; default 0x17 (exponent -9).
	VoutMode byte
	MfrID    string // MFR_ID; default "SIMPWR"
	Model    string // MFR_MODEL; default "SIM-1600W"
	Serial   string // MFR_SERIAL; default "SIM" + the PSU's name in upper case
}

// HostConfig is one host (compute node) powered from the chassis.
type HostConfig struct {
	ID    string // host id, e.g. "0"
	Lines HostLines
	// PowerOnDelay is the time from a power-button press to PS_PWROK;
	// default 500 ms.
	PowerOnDelay time.Duration
	// BootDelay is the time from PS_PWROK (or the end of a reset pulse) to
	// POST_COMPLETE; default 20 s.
	BootDelay time.Duration
	// ShutdownDelay is the time the OS takes to shut down gracefully after a
	// short power-button press; default 10 s.
	ShutdownDelay time.Duration
	// Watts is the load the host draws while powered; default 300 W.
	Watts float64
}

// HostLines names a host's GPIO lines and gives their polarity on the
// board. A consumer that requests a line with another polarity sees it
// inverted, as on real hardware.
type HostLines struct {
	PowerOut     adapters.LineConfig // output: the power button towards the host
	ResetOut     adapters.LineConfig // output: the reset button towards the host
	NMIOut       adapters.LineConfig // output: NMI towards the host
	PowerOK      adapters.LineConfig // input: host power good (PS_PWROK)
	PostComplete adapters.LineConfig // input: BIOS POST complete
	PowerButton  adapters.LineConfig // input: the front-panel power button
}

// ZoneConfig is one thermal zone: a first-order model heated by its hosts.
type ZoneConfig struct {
	Name  string   // sensor name, e.g. "zone0"
	Hosts []string // hosts whose load heats the zone
	// AmbientC is the temperature the zone settles at with no load;
	// default 25 °C.
	AmbientC float64
	// DegreesPerWatt is the steady-state rise per watt of host load;
	// default 0.1 °C/W.
	DegreesPerWatt float64
	// TimeConstant is the first-order time constant; default 2 min.
	TimeConstant time.Duration
}

// DefaultConfig returns the built-in default platform: one chassis with two
// PSUs ("psu0", "psu1"; either alone powers the chassis), two hosts ("0" and
// "1") and two thermal zones ("zone0" heated by host 0, "zone1" by host 1).
// Host 0's lines use the x86-power-control names and polarities (POWER_OUT,
// RESET_OUT, NMI_OUT, PS_PWROK, POST_COMPLETE, POWER_BUTTON); every other
// host's names carry the suffix "_<id>" (POWER_OUT_1, ...).
func DefaultConfig() Config {
	return Config{
		PSUs:         []PSUConfig{defaultPSU("psu0"), defaultPSU("psu1")},
		Hosts:        []HostConfig{defaultHost("0"), defaultHost("1")},
		Zones:        []ZoneConfig{defaultZone("zone0", "0"), defaultZone("zone1", "1")},
		PSUsRequired: 1,
		ChassisWatts: 60,
		MinPress:     100 * time.Millisecond,
		ForceOffHold: 4 * time.Second,
	}
}

func defaultPSU(name string) PSUConfig {
	return PSUConfig{
		Name:         name,
		PowerOnDelay: 200 * time.Millisecond,
		SoftOffDelay: 50 * time.Millisecond,
		VinVolts:     230,
		VoutVolts:    12,
		RatedWatts:   1600,
		Efficiency:   0.94,
		StandbyWatts: 10,
		VoutMode:     0x17,
		MfrID:        "SIMPWR",
		Model:        "SIM-1600W",
		Serial:       "SIM" + strings.ToUpper(name),
	}
}

// DefaultHostLines returns the default line names and polarities for host
// id: the x86-power-control names for host "0", suffixed "_<id>" otherwise.
func DefaultHostLines(id string) HostLines {
	suffix := ""
	if id != "0" {
		suffix = "_" + id
	}
	lc := func(name string, pol adapters.Polarity) adapters.LineConfig {
		return adapters.LineConfig{Name: name + suffix, Polarity: pol}
	}
	return HostLines{
		PowerOut:     lc("POWER_OUT", adapters.ActiveLow),
		ResetOut:     lc("RESET_OUT", adapters.ActiveLow),
		NMIOut:       lc("NMI_OUT", adapters.ActiveHigh),
		PowerOK:      lc("PS_PWROK", adapters.ActiveHigh),
		PostComplete: lc("POST_COMPLETE", adapters.ActiveLow),
		PowerButton:  lc("POWER_BUTTON", adapters.ActiveLow),
	}
}

func defaultHost(id string) HostConfig {
	return HostConfig{
		ID:            id,
		Lines:         DefaultHostLines(id),
		PowerOnDelay:  500 * time.Millisecond,
		BootDelay:     20 * time.Second,
		ShutdownDelay: 10 * time.Second,
		Watts:         300,
	}
}

func defaultZone(name, host string) ZoneConfig {
	return ZoneConfig{
		Name:           name,
		Hosts:          []string{host},
		AmbientC:       25,
		DegreesPerWatt: 0.1,
		TimeConstant:   2 * time.Minute,
	}
}

func orDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orLine(v, def adapters.LineConfig) adapters.LineConfig {
	if v.Name == "" {
		v.Name = def.Name
	}
	if v.Polarity == "" {
		v.Polarity = def.Polarity
	}
	return v
}

// withDefaults returns cfg with every zero value replaced by its default.
func (cfg Config) withDefaults() Config {
	def := DefaultConfig()
	out := cfg
	if len(cfg.PSUs) == 0 {
		out.PSUs = def.PSUs
	}
	if len(cfg.Hosts) == 0 {
		out.Hosts = def.Hosts
	}
	if len(cfg.Zones) == 0 {
		out.Zones = nil
		for _, h := range out.Hosts {
			out.Zones = append(out.Zones, defaultZone("zone"+h.ID, h.ID))
		}
	}
	if out.PSUsRequired == 0 {
		out.PSUsRequired = def.PSUsRequired
	}
	out.ChassisWatts = orFloat(out.ChassisWatts, def.ChassisWatts)
	out.MinPress = orDuration(out.MinPress, def.MinPress)
	out.ForceOffHold = orDuration(out.ForceOffHold, def.ForceOffHold)

	psus := make([]PSUConfig, len(out.PSUs))
	for i, c := range out.PSUs {
		d := defaultPSU(c.Name)
		c.PowerOnDelay = orDuration(c.PowerOnDelay, d.PowerOnDelay)
		c.SoftOffDelay = orDuration(c.SoftOffDelay, d.SoftOffDelay)
		c.VinVolts = orFloat(c.VinVolts, d.VinVolts)
		c.VoutVolts = orFloat(c.VoutVolts, d.VoutVolts)
		c.RatedWatts = orFloat(c.RatedWatts, d.RatedWatts)
		c.Efficiency = orFloat(c.Efficiency, d.Efficiency)
		c.StandbyWatts = orFloat(c.StandbyWatts, d.StandbyWatts)
		if c.VoutMode == 0 {
			c.VoutMode = d.VoutMode
		}
		c.MfrID = orString(c.MfrID, d.MfrID)
		c.Model = orString(c.Model, d.Model)
		c.Serial = orString(c.Serial, d.Serial)
		psus[i] = c
	}
	out.PSUs = psus

	hosts := make([]HostConfig, len(out.Hosts))
	for i, c := range out.Hosts {
		d := defaultHost(c.ID)
		c.Lines = HostLines{
			PowerOut:     orLine(c.Lines.PowerOut, d.Lines.PowerOut),
			ResetOut:     orLine(c.Lines.ResetOut, d.Lines.ResetOut),
			NMIOut:       orLine(c.Lines.NMIOut, d.Lines.NMIOut),
			PowerOK:      orLine(c.Lines.PowerOK, d.Lines.PowerOK),
			PostComplete: orLine(c.Lines.PostComplete, d.Lines.PostComplete),
			PowerButton:  orLine(c.Lines.PowerButton, d.Lines.PowerButton),
		}
		c.PowerOnDelay = orDuration(c.PowerOnDelay, d.PowerOnDelay)
		c.BootDelay = orDuration(c.BootDelay, d.BootDelay)
		c.ShutdownDelay = orDuration(c.ShutdownDelay, d.ShutdownDelay)
		c.Watts = orFloat(c.Watts, d.Watts)
		hosts[i] = c
	}
	out.Hosts = hosts

	zones := make([]ZoneConfig, len(out.Zones))
	for i, c := range out.Zones {
		d := defaultZone(c.Name, "")
		c.Hosts = append([]string(nil), c.Hosts...)
		c.AmbientC = orFloat(c.AmbientC, d.AmbientC)
		c.DegreesPerWatt = orFloat(c.DegreesPerWatt, d.DegreesPerWatt)
		c.TimeConstant = orDuration(c.TimeConstant, d.TimeConstant)
		zones[i] = c
	}
	out.Zones = zones
	return out
}

// validate checks a configuration that already has its defaults.
func (cfg Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	if cfg.PSUsRequired < 1 || cfg.PSUsRequired > len(cfg.PSUs) {
		return bad("psus required is %d, want 1..%d", cfg.PSUsRequired, len(cfg.PSUs))
	}
	if cfg.ChassisWatts < 0 {
		return bad("chassis watts %v is negative", cfg.ChassisWatts)
	}
	if cfg.MinPress < 0 || cfg.ForceOffHold <= cfg.MinPress {
		return bad("min press %v and force-off hold %v: want 0 <= min press < force-off hold", cfg.MinPress, cfg.ForceOffHold)
	}
	psuNames := map[string]bool{}
	for _, c := range cfg.PSUs {
		if c.Name == "" || psuNames[c.Name] {
			return bad("psu name %q is empty or repeated", c.Name)
		}
		psuNames[c.Name] = true
		if c.PowerOnDelay < 0 || c.SoftOffDelay < 0 {
			return bad("psu %s: negative delay", c.Name)
		}
		if c.VinVolts < 0 || c.VoutVolts < 0 || c.RatedWatts < 0 || c.StandbyWatts < 0 {
			return bad("psu %s: negative rating", c.Name)
		}
		if c.Efficiency <= 0 || c.Efficiency > 1 {
			return bad("psu %s: efficiency %v, want (0, 1]", c.Name, c.Efficiency)
		}
		if c.VoutMode>>5 != 0 {
			return bad("psu %s: vout mode 0x%02x is not the linear format", c.Name, c.VoutMode)
		}
		if _, err := encodeLinear16(c.VoutVolts, c.VoutMode); err != nil {
			return bad("psu %s: vout %v V does not fit vout mode 0x%02x: %v", c.Name, c.VoutVolts, c.VoutMode, err)
		}
		for _, s := range []string{c.MfrID, c.Model, c.Serial} {
			if len(s) > 255 {
				return bad("psu %s: inventory string longer than an smbus block", c.Name)
			}
		}
	}
	hostIDs := map[string]bool{}
	lineNames := map[string]bool{}
	for _, c := range cfg.Hosts {
		if c.ID == "" || hostIDs[c.ID] {
			return bad("host id %q is empty or repeated", c.ID)
		}
		hostIDs[c.ID] = true
		if c.PowerOnDelay < 0 || c.BootDelay < 0 || c.ShutdownDelay < 0 {
			return bad("host %s: negative delay", c.ID)
		}
		if c.Watts < 0 {
			return bad("host %s: negative load", c.ID)
		}
		for _, l := range c.Lines.all() {
			if lineNames[l.Name] {
				return bad("host %s: line name %q is used twice", c.ID, l.Name)
			}
			lineNames[l.Name] = true
			if l.Polarity != adapters.ActiveHigh && l.Polarity != adapters.ActiveLow {
				return bad("host %s: line %s: polarity %q", c.ID, l.Name, l.Polarity)
			}
		}
	}
	zoneNames := map[string]bool{}
	for _, c := range cfg.Zones {
		if c.Name == "" || zoneNames[c.Name] {
			return bad("zone name %q is empty or repeated", c.Name)
		}
		zoneNames[c.Name] = true
		if c.TimeConstant <= 0 || c.DegreesPerWatt < 0 {
			return bad("zone %s: time constant must be positive and degrees per watt not negative", c.Name)
		}
		for _, h := range c.Hosts {
			if !hostIDs[h] {
				return bad("zone %s: unknown host %q", c.Name, h)
			}
		}
	}
	return nil
}

func (l HostLines) all() []adapters.LineConfig {
	return []adapters.LineConfig{l.PowerOut, l.ResetOut, l.NMIOut, l.PowerOK, l.PostComplete, l.PowerButton}
}
