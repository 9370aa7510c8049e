package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
)

// Components is what the coordinator needs of the component actors;
// *protoactor.System satisfies it.
type Components interface {
	Request(ctx context.Context, id actors.ID, in machine.Input) (*protoactor.Outcome, error)
	Get(ctx context.Context, id actors.ID) (*protoactor.View, error)
}

// PSUStatus is what a PSU reports.
type PSUStatus struct {
	PowerGood bool
	// InputLost is set while STATUS_INPUT reports an input under-voltage
	// fault or unit-off for low input (latched until ClearFaults).
	InputLost bool
	Faults    []string // other latched faults, by name
}

// Hardware is the narrow view of the board the coordinator's sagas drive.
// Every method must be safe for concurrent use, return promptly (timing is
// the coordinator's, through its clock) and be idempotent. adapters/devices
// implements it, over real devices or, in tests, adapters/simhw.
type Hardware interface {
	PSUOn(ctx context.Context, psu string) error  // PMBus OPERATION = ON
	PSUOff(ctx context.Context, psu string) error // PMBus OPERATION = IMMEDIATE OFF
	PSUStatus(ctx context.Context, psu string) (PSUStatus, error)
	PSUClearFaults(ctx context.Context, psu string) error
	// HostPowerGood reads host's PS_PWROK (host is the host's name, "0").
	HostPowerGood(ctx context.Context, host string) (bool, error)
	// SetPowerButton drives host's POWER_OUT; a press is set, wait, clear.
	SetPowerButton(ctx context.Context, host string, asserted bool) error
	SetReset(ctx context.Context, host string, asserted bool) error
	SetNMI(ctx context.Context, host string, asserted bool) error
	// Temperature reads a thermal zone in °C.
	Temperature(ctx context.Context, zone string) (float64, error)
}

// ChassisTopology is one chassis, its PSUs in power-on order and its hosts.
type ChassisTopology struct {
	ID    actors.ID
	PSUs  []string
	Hosts []actors.ID
}

// ZoneTopology is a thermal zone and the hosts it affects; an empty Hosts
// means every host (a platform file does not say which hosts heat a zone).
type ZoneTopology struct {
	Name              string
	Hosts             []actors.ID
	Warning, Critical float64
	// External zones are thermal inputs reported over NATS (Config.Inputs),
	// not read from the Hardware.
	External bool
}

// Topology is the part of the platform the coordinator reasons about.
type Topology struct {
	BMC actors.ID
	// BMCReset says the platform can reset the BMC (its platform file's
	// bmc reset): the bmc_reset_available fact.
	BMCReset bool
	Chassis  []ChassisTopology
	Zones    []ZoneTopology
	// Rails lists, per host, PMBus devices feeding that host alone: the
	// rail-off rung of the escalation ladder switches them off. Without
	// them the rung switches the chassis PSUs off, and only when the host
	// is the chassis's last host not Off.
	Rails map[actors.ID][]string
	// Buttons are the board's button timings. They come from the platform
	// file's timeouts block, the same numbers the machines' effects and the
	// device actors use: a board that needs a 500 ms press gets 500 ms
	// presses from every road (zero fields take the platform defaults).
	Buttons Buttons
	// Waits are the board's own bounds of the coordinator's waits, from
	// the same timeouts block; Timeouts set by the policy win over them.
	Waits Waits
	// States are the states of each host's and chassis' machine, built-in
	// and added by the platform's extensions. The coordinator reads what
	// power good reads in a state (State.Power) here, never from lists of
	// state names, so a platform's added state is powered, or off, to it as
	// its file says.
	States map[actors.ID]map[string]machine.State
}

// power returns what power good reads in id's state st ("" for a state
// its machine lacks, e.g. "" itself).
func (t Topology) power(id actors.ID, st string) machine.Power { return t.States[id][st].Power }

// powered reports whether power good is on in id's state st (a host
// Running, Quiesced, DiagnosticMode or TransitioningToOff; a chassis On,
// TransitioningToOff or PowerCycling).
func (t Topology) powered(id actors.ID, st string) bool { return t.power(id, st) == machine.PowerOn }

// steady reports whether id's state st is stable with power p: a host's
// Running, Quiesced and DiagnosticMode and a chassis' On are steady on,
// Off steady off.
func (t Topology) steady(id actors.ID, st string, p machine.Power) bool {
	s := t.States[id][st]
	return s.Power == p && s.Kind == machine.Stable
}

// contradicts reports whether power good reading on contradicts id
// recorded in state st: a state reads one level (a transitional one the
// level it leaves) and contradicts the other; a state whose power is any
// (Error: only the hardware knows) contradicts every reading; a state the
// machine lacks contradicts none.
func (t Topology) contradicts(id actors.ID, st string, on bool) bool {
	return t.power(id, st).Contradicts(on)
}

// Waits are the waits a platform file times.
type Waits struct {
	HostPowerGood time.Duration // power good after a press (power_good_timeout)
	Graceful      time.Duration // the OS's own power off (graceful_shutdown_timeout)
}

// Buttons are how long the coordinator drives a host's front-panel lines.
type Buttons struct {
	PowerPulse   time.Duration // a power button press (on, graceful off)
	ForceOffHold time.Duration // a power button hold that forces the host off
	ResetPulse   time.Duration // a reset button press
}

func (b *Buttons) defaults() {
	b.PowerPulse = orValue(b.PowerPulse, platform.DefaultPowerPulse)
	b.ForceOffHold = orValue(b.ForceOffHold, platform.DefaultForceOffHold)
	b.ResetPulse = orValue(b.ResetPulse, platform.DefaultResetPulse)
}

// TopologyOf reads the topology from a platform file.
func TopologyOf(p *platform.Platform) Topology {
	t := Topology{BMC: actors.ID(actors.KindBMC + "." + p.BMC.Name), BMCReset: p.BMC.Reset != platform.BMCResetNone,
		Buttons: Buttons{PowerPulse: p.Timeouts.PowerPulse, ForceOffHold: p.Timeouts.ForceOffHold, ResetPulse: p.Timeouts.ResetPulse},
		Waits:   Waits{HostPowerGood: p.Timeouts.PowerGood, Graceful: p.Timeouts.GracefulShutdown}}
	for _, c := range p.Chassis {
		ct := ChassisTopology{ID: actors.ID(actors.KindChassis + "." + c.Name), PSUs: append([]string(nil), c.Sequence...)}
		if len(ct.PSUs) == 0 {
			for _, psu := range c.PSUs {
				ct.PSUs = append(ct.PSUs, psu.Name)
			}
		}
		for _, h := range p.Hosts {
			if h.Chassis == c.Name {
				ct.Hosts = append(ct.Hosts, actors.ID(actors.KindHost+"."+h.Name))
			}
		}
		t.Chassis = append(t.Chassis, ct)
	}
	t.States = statesOf(p)
	for _, z := range p.Thermal {
		t.Zones = append(t.Zones, ZoneTopology{Name: z.Name, Warning: z.Warning, Critical: z.Critical})
	}
	for _, in := range p.Inputs {
		if in.Kind == platform.InputThermal {
			t.Zones = append(t.Zones, ZoneTopology{Name: in.Name, Hosts: InputHosts(in), Warning: in.Warning, Critical: in.Critical, External: true})
		}
	}
	return t
}

// statesOf indexes the states of the platform's host and chassis
// machines. A platform whose machines do not extend has no states here;
// it cannot run either (the assembly, the server and the simulation refuse
// it when they build its components).
func statesOf(p *platform.Platform) map[actors.ID]map[string]machine.State {
	states, err := p.PowerStates()
	if err != nil {
		return nil
	}
	return states
}

func (t Topology) chassisOf(id actors.ID) (ChassisTopology, bool) {
	for _, c := range t.Chassis {
		if c.ID == id {
			return c, true
		}
		for _, h := range c.Hosts {
			if h == id {
				return c, true
			}
		}
	}
	return ChassisTopology{}, false
}

func (t Topology) hosts() []actors.ID {
	var out []actors.ID
	for _, c := range t.Chassis {
		out = append(out, c.Hosts...)
	}
	return out
}

func (t Topology) zonesOf(host actors.ID) []ZoneTopology {
	var out []ZoneTopology
	for _, z := range t.Zones {
		if len(z.Hosts) == 0 {
			out = append(out, z)
			continue
		}
		for _, h := range z.Hosts {
			if h == host {
				out = append(out, z)
			}
		}
	}
	return out
}

// ChassisOffPolicy says what chassis power off does with hosts not Off.
type ChassisOffPolicy string

// Chassis power-off policies.
const (
	RejectWhileHostsOn ChassisOffPolicy = "reject"
	ShutdownHostsFirst ChassisOffPolicy = "shutdown_hosts"
)

// HostOnPolicy says what host power on does when its chassis is not On.
type HostOnPolicy string

// Host power-on policies.
const (
	RequireChassisOn HostOnPolicy = "reject"
	PowerChassisOn   HostOnPolicy = "power_chassis"
)

// RestorePolicy is the power-restore policy after an AC power loss.
type RestorePolicy string

// Power-restore policies (PDI PowerRestorePolicy).
const (
	AlwaysOn  RestorePolicy = "AlwaysOn"
	AlwaysOff RestorePolicy = "AlwaysOff"
	LastState RestorePolicy = "LastState"
)

// EmergencyKind names an emergency.
type EmergencyKind string

// Emergencies.
const (
	ThermalCritical EmergencyKind = "thermal_critical"
	PSUInputLoss    EmergencyKind = "psu_input_loss"
)

// EmergencyAction is what an emergency does to the hosts it affects.
type EmergencyAction string

// Emergency actions.
const (
	// GracefulShutdown shuts the hosts down with the escalation ladder
	// (EmergencyGraceful as the graceful timeout), then the chassis.
	GracefulShutdown EmergencyAction = "graceful_shutdown"
	// ForceOff holds the power button of the hosts (then rails), then
	// powers the chassis off.
	ForceOff EmergencyAction = "force_off"
	// IsolateComponent forces the affected hosts off and leaves the
	// chassis and the other hosts alone.
	IsolateComponent EmergencyAction = "isolate_component"
)

// Policy tunes what the coordinator decides.
type Policy struct {
	ChassisOff ChassisOffPolicy // default RejectWhileHostsOn
	HostOn     HostOnPolicy     // default RequireChassisOn
	// MaxConcurrentPowerOns bounds host power-ons in flight; more are
	// queued. Default 1.
	MaxConcurrentPowerOns int
	// PowerRestore applies only after an AC power loss; default AlwaysOff
	// ("off unless told otherwise", openbmc#2186).
	PowerRestore      RestorePolicy
	PowerRestoreDelay time.Duration
	// AutoReboot reboots a crashed host while boot attempts are left;
	// BootAttempts defaults to 3.
	AutoReboot   bool
	BootAttempts int
	// Emergency maps an emergency to its action; ThermalCritical defaults
	// to ForceOff.
	Emergency map[EmergencyKind]EmergencyAction
}

// Timeouts bound each wait of a saga.
type Timeouts struct {
	PSUPowerGood      time.Duration            // default 2 s
	PSU               map[string]time.Duration // per-PSU override of PSUPowerGood
	HostPowerGood     time.Duration            // default the platform's power_good_timeout, else 8 s
	Graceful          time.Duration            // default the platform's graceful_shutdown_timeout, else 300 s
	EmergencyGraceful time.Duration            // default 60 s
	PowerOff          time.Duration            // wait for power good to drop after a hold or rail off; default 5 s
	CycleWait         time.Duration            // off time of a power cycle; default 5 s
	NMIPulse          time.Duration            // default 200 ms
	Poll              time.Duration            // hardware poll interval; default 100 ms
	Request           time.Duration            // bound of one component request; default 5 s
}

// Config configures a Coordinator.
type Config struct {
	Log        events.Log
	Components Components
	Hardware   Hardware
	Clock      clock.Clock
	Topology   Topology
	Policy     Policy
	Timeouts   Timeouts
	Logger     hclog.Logger
	// Inputs are the external inputs (thermal and health reported over
	// NATS); nil: none.
	Inputs Inputs
}

func (c *Config) defaults() error {
	if c.Log == nil || c.Components == nil || c.Hardware == nil || c.Clock == nil {
		return fmt.Errorf("%w: Config needs Log, Components, Hardware and Clock", ErrInvalidRequest)
	}
	if c.Topology.BMC == "" || len(c.Topology.Chassis) == 0 {
		return fmt.Errorf("%w: the topology needs a BMC and a chassis", ErrInvalidRequest)
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	p := &c.Policy
	p.ChassisOff = orValue(p.ChassisOff, RejectWhileHostsOn)
	p.HostOn = orValue(p.HostOn, RequireChassisOn)
	p.PowerRestore = orValue(p.PowerRestore, AlwaysOff)
	if p.MaxConcurrentPowerOns <= 0 {
		p.MaxConcurrentPowerOns = 1
	}
	if p.BootAttempts <= 0 {
		p.BootAttempts = 3
	}
	if p.Emergency == nil {
		p.Emergency = map[EmergencyKind]EmergencyAction{}
	}
	if p.Emergency[ThermalCritical] == "" {
		p.Emergency[ThermalCritical] = ForceOff
	}
	c.Topology.Buttons.defaults()
	t := &c.Timeouts
	t.PSUPowerGood = orValue(t.PSUPowerGood, 2*time.Second)
	t.HostPowerGood = orValue(t.HostPowerGood, orValue(c.Topology.Waits.HostPowerGood, 8*time.Second))
	t.Graceful = orValue(t.Graceful, orValue(c.Topology.Waits.Graceful, 300*time.Second))
	t.EmergencyGraceful = orValue(t.EmergencyGraceful, 60*time.Second)
	t.PowerOff = orValue(t.PowerOff, 5*time.Second)
	t.CycleWait = orValue(t.CycleWait, 5*time.Second)
	t.NMIPulse = orValue(t.NMIPulse, 200*time.Millisecond)
	t.Poll = orValue(t.Poll, 100*time.Millisecond)
	t.Request = orValue(t.Request, 5*time.Second)
	return nil
}

func orValue[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (t Timeouts) psu(name string) time.Duration {
	if d, ok := t.PSU[name]; ok && d > 0 {
		return d
	}
	return t.PSUPowerGood
}
