package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
)

// ActionKind names what one step of a simulation does.
type ActionKind string

// Actions. Advance comes first: rapid shrinks an action it does not need
// towards the first kind, and an advance of zero is a pure settle, which
// Compact drops from a reproduction.
const (
	Advance          ActionKind = "advance"           // let Duration of virtual time pass, deadline by deadline
	Submit           ActionKind = "submit"            // coordinator requests, several at once when more than one
	ComponentRequest ActionKind = "component_request" // a request sent straight to a component, as the API's control subjects do
	InjectFault      ActionKind = "inject_fault"      // a simulated hardware fault; thermal-runaway heats a zone towards its critical limit
	ClearFault       ActionKind = "clear_fault"
	ACLoss           ActionKind = "ac_loss" // input lost on every PSU
	ACRestore        ActionKind = "ac_restore"
	ACCycle          ActionKind = "ac_cycle"      // AC lost for Duration with the BMC down too, then back: the BMC boots (POR)
	ServiceCrash     ActionKind = "service_crash" // the service's process dies
	ServiceHang      ActionKind = "service_hang"  // the service's process ignores its stop signal
	ClockJump        ActionKind = "clock_jump"    // the clock jumps Duration at once, with no settling on the way
	Reconcile        ActionKind = "reconcile"     // the coordinator reconciles with the hardware
	DaemonCrash      ActionKind = "daemon_crash"  // kill -9 of statemgrd, restarted over the same log
	BMCReboot        ActionKind = "bmc_reboot"    // the BMC reboots: a daemon restart that records a BMC boot
	DiskFault        ActionKind = "disk_fault"    // the log's next append fails; the daemon then dies and restarts
	HostCrash        ActionKind = "host_crash"    // the host's OS crashes (or its watchdog expires): the coordinator's HostCrashed
	// External inputs (a platform with input blocks only: InputsPlatform).
	InputReport ActionKind = "input_report" // the input reports Level
	InputStale  ActionKind = "input_stale"  // nothing reports for Duration, longer than the input's staleness timeout
	InputFlap   ActionKind = "input_flap"   // the input reports critical and harmless by turns, Count reports Duration apart
	InputLie    ActionKind = "input_lie"    // the input reports Level against the board: harmless while Fault heats a zone, critical while the zones cool
)

// Action is one step of a simulation. Which fields are set depends on
// Kind; every field is plain data, so a sequence of actions is printed,
// saved as JSON and replayed exactly.
type Action struct {
	Kind      ActionKind            `json:"kind"`
	Requests  []coordinator.Request `json:"requests,omitempty"`  // Submit
	Component actors.ID             `json:"component,omitempty"` // ComponentRequest, ServiceCrash, ServiceHang, HostCrash
	Trigger   string                `json:"trigger,omitempty"`   // ComponentRequest
	Fault     *simhw.Fault          `json:"fault,omitempty"`     // InjectFault, ClearFault (Kind and Target)
	Duration  time.Duration         `json:"duration,omitempty"`  // Advance, ClockJump
	LogFault  memlog.Fault          `json:"log_fault,omitempty"` // DiskFault
	Cause     string                `json:"cause,omitempty"`     // BMCReboot: the reboot cause
	Watchdog  bool                  `json:"watchdog,omitempty"`  // HostCrash: a watchdog expiry rather than a crash report
	Input     string                `json:"input,omitempty"`     // the input actions: "thermal.<name>" or "health.<name>"
	Level     string                `json:"level,omitempty"`     // InputReport, InputLie
	Count     int                   `json:"count,omitempty"`     // InputFlap: reports
}

// String renders the action for the trace: one line, deterministic.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(string(a.Kind))
	switch a.Kind {
	case Advance, ClockJump, ACCycle:
		fmt.Fprintf(&b, " %s", a.Duration)
	case InputReport:
		fmt.Fprintf(&b, " %s %s", a.Input, a.Level)
	case InputStale:
		fmt.Fprintf(&b, " %s %s", a.Input, a.Duration)
	case InputFlap:
		fmt.Fprintf(&b, " %s count=%d every=%s", a.Input, a.Count, a.Duration)
	case InputLie:
		fmt.Fprintf(&b, " %s %s", a.Input, a.Level)
		if a.Fault != nil {
			fmt.Fprintf(&b, " while %s %s rate=%g°C/s", a.Fault.Kind, a.Fault.Target, a.Fault.Rate)
		} else {
			b.WriteString(" while the zones cool")
		}
	case Submit:
		for _, r := range a.Requests {
			b.WriteString(" [" + requestString(r) + "]")
		}
	case ComponentRequest:
		fmt.Fprintf(&b, " %s %s", a.Component, a.Trigger)
	case InjectFault, ClearFault:
		fmt.Fprintf(&b, " %s %s", a.Fault.Kind, a.Fault.Target)
		if a.Fault.After > 0 {
			fmt.Fprintf(&b, " after=%s", a.Fault.After)
		}
		if a.Fault.Count > 0 {
			fmt.Fprintf(&b, " count=%d", a.Fault.Count)
		}
		if a.Fault.Rate > 0 {
			fmt.Fprintf(&b, " rate=%g°C/s", a.Fault.Rate)
		}
	case ServiceCrash, ServiceHang:
		fmt.Fprintf(&b, " %s", a.Component)
	case HostCrash:
		fmt.Fprintf(&b, " %s", a.Component)
		if a.Watchdog {
			b.WriteString(" watchdog")
		}
	case DiskFault:
		fmt.Fprintf(&b, " %s", logFaultNames[a.LogFault])
	case BMCReboot:
		fmt.Fprintf(&b, " cause=%s", a.Cause)
	}
	return b.String()
}

func requestString(r coordinator.Request) string {
	s := fmt.Sprintf("%s %s", r.Kind, r.Target)
	if r.ResetType != "" {
		s += " " + r.ResetType
	}
	if r.IdempotencyKey != "" {
		s += " key=" + r.IdempotencyKey
	}
	if r.Queue {
		s += " queue"
	}
	if r.PowerChassis {
		s += " power_chassis"
	}
	if len(r.Override) > 0 {
		s += fmt.Sprintf(" override=%v role=%s", r.Override, r.Role)
	}
	return s
}

var logFaultNames = map[memlog.Fault]string{memlog.NoSpace: "no_space", memlog.SyncFailure: "sync_failure", memlog.CrashBeforeAck: "crash_before_ack"}

// Compact drops the actions that do nothing (advances of zero), which
// rapid leaves where it shrank an action away.
func Compact(actions []Action) []Action {
	out := make([]Action, 0, len(actions))
	for _, a := range actions {
		if a.Kind == Advance && a.Duration == 0 {
			continue
		}
		out = append(out, a)
	}
	return out
}

// weighted is an action kind and how often it is drawn.
type weighted struct {
	kind   ActionKind
	weight int
}

// mix is how often each action is drawn: mostly requests and time, with
// faults, crashes and restarts often enough that every run meets some.
var mix = []weighted{
	{Advance, 14}, {Submit, 22}, {ComponentRequest, 8}, {InjectFault, 7}, {ClearFault, 5},
	{ACLoss, 2}, {ACRestore, 3}, {ACCycle, 2}, {ServiceCrash, 3}, {ServiceHang, 2},
	{ClockJump, 2}, {Reconcile, 4}, {DaemonCrash, 3}, {BMCReboot, 1}, {DiskFault, 1}, {HostCrash, 2},
}

// Generator draws actions for one platform's components.
type Generator struct {
	hosts    []actors.ID
	chassis  []actors.ID
	bmc      actors.ID
	services []actors.ID
	psus     []string
	zones    []string
	inputs   []platform.Input
}

// Actions returns the rapid generator of simulations of exactly steps
// actions. The same seed gives the same actions, whether rapid draws them
// in a property test or Example(seed) draws them for statemgr sim --seed.
func (g *Generator) Actions(steps int) *rapid.Generator[[]Action] {
	return rapid.Custom(func(t *rapid.T) []Action {
		out := make([]Action, steps)
		for i := range out {
			out[i] = g.action(t, i)
		}
		return out
	})
}

func (g *Generator) action(t *rapid.T, i int) Action {
	mix := mix
	if len(g.inputs) > 0 {
		mix = append(slices.Clone(mix), inputMix...)
	}
	total := 0
	for _, w := range mix {
		total += w.weight
	}
	pick := rapid.IntRange(0, total-1).Draw(t, fmt.Sprint("kind", i))
	kind := mix[0].kind
	for _, w := range mix {
		if pick < w.weight {
			kind = w.kind
			break
		}
		pick -= w.weight
	}
	a := Action{Kind: kind}
	label := func(s string) string { return fmt.Sprint(s, i) }
	switch kind {
	case Advance:
		// Mostly short steps, sometimes long enough for timeouts (300 s
		// graceful shutdowns) to pass.
		secs := rapid.IntRange(0, 10).Draw(t, label("seconds"))
		if rapid.IntRange(0, 7).Draw(t, label("long")) == 7 {
			secs = rapid.IntRange(0, 400).Draw(t, label("long_seconds"))
		}
		a.Duration = time.Duration(secs) * time.Second
	case ClockJump:
		a.Duration = time.Duration(rapid.IntRange(1, 3600).Draw(t, label("jump"))) * time.Second
	case ACCycle:
		a.Duration = time.Duration(rapid.IntRange(1, 600).Draw(t, label("outage"))) * time.Second
	case Submit:
		n := rapid.IntRange(1, 3).Draw(t, label("requests"))
		for j := range n {
			a.Requests = append(a.Requests, g.request(t, fmt.Sprint(i, "_", j)))
		}
		// Clients retry and repeat themselves: sometimes the last request
		// goes again, as a retry (same key) or as a redundant request (no
		// key), which must neither toggle nor answer for another request.
		switch last := a.Requests[len(a.Requests)-1]; rapid.IntRange(0, 3).Draw(t, label("repeat")) {
		case 2:
			a.Requests = append(a.Requests, last)
		case 3:
			last.IdempotencyKey = ""
			a.Requests = append(a.Requests, last)
		}
	case ComponentRequest:
		a.Component, a.Trigger = g.componentRequest(t, label("component"))
	case InjectFault, ClearFault:
		f := g.fault(t, label("fault"))
		a.Fault = &f
	case ServiceCrash, ServiceHang:
		a.Component = rapid.SampledFrom(g.services).Draw(t, label("service"))
	case HostCrash:
		a.Component = rapid.SampledFrom(g.hosts).Draw(t, label("crashed_host"))
		a.Watchdog = rapid.Bool().Draw(t, label("watchdog"))
	case DiskFault:
		a.LogFault = rapid.SampledFrom([]memlog.Fault{memlog.CrashBeforeAck, memlog.NoSpace, memlog.SyncFailure}).Draw(t, label("log_fault"))
	case BMCReboot:
		a.Cause = rapid.SampledFrom([]string{machine.RebootCauseSoftware, machine.RebootCauseWatchdog, machine.RebootCausePinholeReset}).Draw(t, label("cause"))
	case InputReport, InputStale, InputFlap, InputLie:
		g.inputAction(t, &a, label)
	}
	return a
}

// requestKinds are the coordinator's operations, each with the reset
// types it takes (none: it takes none).
var requestKinds = []struct {
	kind   coordinator.Kind
	resets []string
}{
	{coordinator.HostPowerOn, []string{machine.RequestOn, machine.RequestForceOn, machine.RequestPushPowerButton}},
	{coordinator.HostGracefulOff, nil},
	{coordinator.HostForceOff, nil},
	{coordinator.HostReset, []string{machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle,
		machine.RequestNmi, machine.RequestPushPowerButton, machine.RequestForceOn}},
	{coordinator.ChassisPowerOn, nil},
	{coordinator.ChassisPowerOff, nil},
	{coordinator.ChassisPowerCycle, nil},
	{coordinator.BMCEnterMaintenance, nil},
	{coordinator.BMCExitMaintenance, nil},
}

// request draws one coordinator request: any operation, reset type,
// idempotency key (from a small set, so keys get reused), queueing and
// overrides with a random role.
func (g *Generator) request(t *rapid.T, label string) coordinator.Request {
	k := requestKinds[rapid.IntRange(0, len(requestKinds)-1).Draw(t, "op"+label)]
	r := coordinator.Request{Kind: k.kind, Requester: "user:sim"}
	switch k.kind {
	case coordinator.ChassisPowerOn, coordinator.ChassisPowerOff, coordinator.ChassisPowerCycle:
		r.Target = rapid.SampledFrom(g.chassis).Draw(t, "chassis"+label)
	case coordinator.BMCEnterMaintenance, coordinator.BMCExitMaintenance:
		r.Target = g.bmc
	default:
		r.Target = rapid.SampledFrom(g.hosts).Draw(t, "host"+label)
	}
	if len(k.resets) > 0 {
		r.ResetType = rapid.SampledFrom(k.resets).Draw(t, "reset"+label)
	}
	if key := rapid.IntRange(0, 8).Draw(t, "key"+label); key > 0 {
		r.IdempotencyKey = fmt.Sprint("key-", key)
	}
	r.Queue = rapid.Bool().Draw(t, "queue"+label)
	r.PowerChassis = r.Kind == coordinator.HostPowerOn && rapid.Bool().Draw(t, "power_chassis"+label)
	if rapid.IntRange(0, 5).Draw(t, "override"+label) == 0 {
		r.Override = []coordinator.Interlock{rapid.SampledFrom(interlocks).Draw(t, "interlock"+label)}
		r.Role = rapid.SampledFrom([]coordinator.Role{coordinator.RoleReadOnly, coordinator.RoleUser, coordinator.RoleOperator}).Draw(t, "role"+label)
		r.Requester = "operator:sim"
	}
	return r
}

var interlocks = []coordinator.Interlock{
	coordinator.InterlockMaintenance, coordinator.InterlockFirmwareUpdate, coordinator.InterlockBMCNotReady,
	coordinator.InterlockThermal, coordinator.InterlockHealth, coordinator.InterlockPowerDependency, coordinator.InterlockBlockingError,
}

// componentRequests are the requests the API's control subjects send to
// each kind of component.
var componentRequests = map[string][]string{
	actors.KindHost: {machine.RequestOn, machine.RequestForceOn, machine.RequestGracefulShutdown, machine.RequestForceOff,
		machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle, machine.RequestNmi, machine.RequestPushPowerButton},
	actors.KindChassis: {machine.RequestOn, machine.RequestOff, machine.RequestPowerCycle},
	actors.KindBMC:     {machine.RequestGracefulRestart, machine.RequestForceRestart},
	actors.KindService: {machine.RequestStart, machine.RequestStop, machine.RequestRestart, machine.RequestReset},
}

func (g *Generator) componentRequest(t *rapid.T, label string) (actors.ID, string) {
	var ids []actors.ID
	ids = append(append(append(append(ids, g.services...), g.hosts...), g.chassis...), g.bmc)
	id := rapid.SampledFrom(ids).Draw(t, label)
	return id, rapid.SampledFrom(componentRequests[id.Kind()]).Draw(t, label+"_trigger")
}

// faultKinds is the simulated platform's fault catalogue by target kind.
var faultKinds = []struct {
	kind   simhw.FaultKind
	target string // host, psu or zone
}{
	{simhw.HostPowerGoodNeverRises, "host"}, {simhw.HostPowerGoodDrops, "host"}, {simhw.HostIgnoresShutdown, "host"},
	{simhw.ButtonStuckAsserted, "host"}, {simhw.ButtonStuckDeasserted, "host"},
	{simhw.PSUVinUV, "psu"}, {simhw.PSUVoutOV, "psu"}, {simhw.PSUIoutOC, "psu"}, {simhw.PSUOverTemp, "psu"},
	{simhw.PSUNoPowerGood, "psu"}, {simhw.BusNAK, "psu"}, {simhw.BusTimeout, "psu"},
	{simhw.ThermalRunaway, "zone"},
	// LineHeld is left out: it only fails a daemon's start (the line is
	// requested once), and a daemon that cannot start is not simulated.
}

func (g *Generator) fault(t *rapid.T, label string) simhw.Fault {
	k := faultKinds[rapid.IntRange(0, len(faultKinds)-1).Draw(t, label)]
	f := simhw.Fault{Kind: k.kind}
	hostNames := make([]string, len(g.hosts))
	for i, h := range g.hosts {
		hostNames[i] = h.Name()
	}
	targets := map[string][]string{"host": hostNames, "psu": g.psus, "zone": g.zones}[k.target]
	f.Target = rapid.SampledFrom(targets).Draw(t, label+"_target")
	switch k.kind {
	case simhw.HostPowerGoodDrops:
		f.After = time.Duration(rapid.IntRange(1, 60).Draw(t, label+"_after")) * time.Second
	case simhw.BusNAK, simhw.BusTimeout:
		// A bus timeout fails at once (Wait 0): a transaction waiting on the
		// clock inside the simulated bus is invisible to devices.Settle,
		// which then never returns; the devices' call timeout and retries
		// wait on the clock as the driver sees it.
		f.Count = rapid.IntRange(1, 6).Draw(t, label+"_count")
	case simhw.ThermalRunaway:
		f.Rate = float64(rapid.IntRange(1, 5).Draw(t, label+"_rate"))
	}
	return f
}
