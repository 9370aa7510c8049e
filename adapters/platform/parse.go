package platform

import (
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
)

//go:embed default.hcl
var defaultHCL []byte

// DefaultFile is the name Default's diagnostics and sources carry.
const DefaultFile = "default.hcl"

// Default returns the built-in platform: one chassis with two simulated
// PSUs, hosts "0" and "1", the BMC and two thermal zones, parsed from the
// embedded default.hcl. Each call returns a fresh copy.
func Default() *Platform {
	p, err := Parse(DefaultFile, defaultHCL)
	if err != nil {
		// default.hcl is part of the program; its test keeps it valid.
		panic("platform: embedded default.hcl is invalid: " + err.Error())
	}
	return p
}

// DefaultSource returns the text of the embedded default.hcl, a starting
// point for a board's own file.
func DefaultSource() []byte { return append([]byte(nil), defaultHCL...) }

var (
	topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "timeouts"},
		{Type: "polls"},
		{Type: "bmc", LabelNames: []string{"name"}},
		{Type: "chassis", LabelNames: []string{"name"}},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "thermal_zone", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "machine", LabelNames: []string{"target"}},
		{Type: "input", LabelNames: []string{"kind", "name"}},
	}}
	timeoutsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "power_pulse"}, {Name: "force_off_hold"}, {Name: "reset_pulse"},
		{Name: "power_good_timeout"}, {Name: "graceful_shutdown_timeout"},
	}}
	pollsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "psu"}, {Name: "thermal"}}}
	bmcSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "reset"}},
		Blocks: []hcl.BlockHeaderSchema{{Type: "led", LabelNames: []string{"kind"}}}}
	chassisSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "sequence"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "psu", LabelNames: []string{"name"}}, {Type: "led", LabelNames: []string{"kind"}}},
	}
	psuSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "bus", Required: true}, {Name: "address", Required: true},
			{Name: "page"}, {Name: "backend", Required: true},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "direct", LabelNames: []string{"reading"}}},
	}
	directSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "m", Required: true}, {Name: "b", Required: true}, {Name: "r", Required: true},
	}}
	hostSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "chassis"}},
		Blocks: []hcl.BlockHeaderSchema{{Type: "gpio", LabelNames: []string{"role"}}, {Type: "led", LabelNames: []string{"kind"}},
			{Type: "input"}},
	}
	gpioSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "line"}, {Name: "chip"}, {Name: "offset"}, {Name: "polarity", Required: true},
	}}
	zoneSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "warning", Required: true}, {Name: "critical", Required: true}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "sensor", LabelNames: []string{"name"}}},
	}
	sensorSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "backend", Required: true}, {Name: "path"}, {Name: "index"}, {Name: "psu"},
	}}
	serviceSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "command", Required: true}, {Name: "args"}, {Name: "env"}, {Name: "working_dir"},
			{Name: "user"}, {Name: "after"}, {Name: "before"}, {Name: "stop_signal"}, {Name: "stop_timeout"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "restart"}, {Type: "start_limit"}, {Type: "readiness"}, {Type: "liveness"}},
	}
	restartSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "policy"}, {Name: "delay"}, {Name: "max_delay"},
	}}
	startLimitSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "interval"}}}
	checkSchema      = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "kind", Required: true}, {Name: "command"}, {Name: "url"}, {Name: "address"},
		{Name: "interval"}, {Name: "timeout"}, {Name: "threshold"},
	}}
	machineSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "state", LabelNames: []string{"name"}}, {Type: "transition"},
	}}
	stateSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "kind", Required: true}, {Name: "timeout"}, {Name: "timeout_to"}, {Name: "power"},
	}}
	transitionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true}, {Name: "trigger", Required: true}, {Name: "to", Required: true},
		{Name: "guards"}, {Name: "effects"},
	}}
)

// Parse reads a platform file. filename is used in diagnostics and in the
// Source of machine extensions. On any problem it returns an *Error listing
// them all.
func Parse(filename string, src []byte) (*Platform, error) {
	if err := checkLimits(filename, src); err != nil {
		return nil, err
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, newError(filename, diags)
	}
	p := &parser{decoder: decoder{diags: diags}, lines: map[string]string{}, lineAt: map[string]hcl.Range{}}
	plat := p.platform(file.Body)
	if p.diags.HasErrors() {
		return nil, newError(filename, p.diags)
	}
	return plat, nil
}

// parser holds the names seen so far, for references and duplicates.
type parser struct {
	decoder
	chassisN *names
	psuN     *names
	hostN    *names
	zoneN    *names
	sensorN  *names
	serviceN *names
	bmc      string
	lines    map[string]string // GPIO line name → "host 0 power_out"
	lineAt   map[string]hcl.Range
}

func (p *parser) platform(body hcl.Body) *Platform {
	c := p.content(body, topSchema)
	byType := blocksOf(c.Blocks)
	plat := &Platform{}
	plat.Timeouts = p.timeouts(p.single(byType["timeouts"]))
	plat.Polls = p.polls(p.single(byType["polls"]))
	plat.BMC = BMC{Name: "0", Reset: BMCResetNone}
	if b := p.single(byType["bmc"]); b != nil {
		c := p.content(b.Body, bmcSchema)
		plat.BMC.Name = p.name(b, "bmc")
		plat.BMC.Reset = BMCReset(p.oneOf(c.Attributes, "reset", string(BMCResetNone), string(BMCResetNone), string(BMCResetRestartDaemon)))
		plat.BMC.LEDs = p.leds(c.Blocks, "bmc "+plat.BMC.Name)
	}
	p.bmc = plat.BMC.Name

	p.chassisN, p.psuN = newNames("chassis"), newNames("psu")
	for _, b := range byType["chassis"] {
		if ch, ok := p.chassisBlock(b); ok {
			plat.Chassis = append(plat.Chassis, ch)
		}
	}
	p.hostN = newNames("host")
	for _, b := range byType["host"] {
		if h, ok := p.host(b, plat.Chassis); ok {
			plat.Hosts = append(plat.Hosts, h)
		}
	}
	p.zoneN, p.sensorN = newNames("thermal zone"), newNames("sensor")
	for _, b := range byType["thermal_zone"] {
		if z, ok := p.zone(b); ok {
			plat.Thermal = append(plat.Thermal, z)
		}
	}
	plat.Inputs = p.inputs(byType["input"])
	plat.Services = p.services(byType["service"])
	for _, b := range byType["machine"] {
		plat.Extensions = append(plat.Extensions, p.extension(b))
	}
	return plat
}

// blocksOf groups blocks by type.
func blocksOf(blocks hcl.Blocks) map[string]hcl.Blocks {
	byType := map[string]hcl.Blocks{}
	for _, b := range blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}
	return byType
}

func (p *parser) timeouts(b *hcl.Block) Timeouts {
	t := Timeouts{
		PowerPulse:       DefaultPowerPulse,
		ForceOffHold:     DefaultForceOffHold,
		ResetPulse:       DefaultResetPulse,
		PowerGood:        DefaultPowerGood,
		GracefulShutdown: DefaultGracefulShutdown,
	}
	if b == nil {
		return t
	}
	c := p.content(b.Body, timeoutsSchema)
	a := c.Attributes
	t.PowerPulse = p.duration(a, "power_pulse", t.PowerPulse, false)
	t.ForceOffHold = p.duration(a, "force_off_hold", t.ForceOffHold, false)
	if t.ForceOffHold > MaxForceOffHold {
		p.errorf(a["force_off_hold"].Expr.Range(), "force_off_hold %v is longer than the %v allowed", t.ForceOffHold, MaxForceOffHold)
	}
	t.ResetPulse = p.duration(a, "reset_pulse", t.ResetPulse, false)
	t.PowerGood = p.duration(a, "power_good_timeout", t.PowerGood, false)
	t.GracefulShutdown = p.duration(a, "graceful_shutdown_timeout", t.GracefulShutdown, false)
	return t
}

func (p *parser) polls(b *hcl.Block) Polls {
	polls := Polls{PSU: DefaultPSUPoll, Thermal: DefaultThermalPoll}
	if b == nil {
		return polls
	}
	a := p.content(b.Body, pollsSchema).Attributes
	period := func(name string, def time.Duration) time.Duration {
		d := p.duration(a, name, def, false)
		if attr, given := a[name]; given && (d < MinPoll || d > MaxPoll) {
			p.errorf(attr.Expr.Range(), "polls %s: %v is outside %v..%v; a shorter poll keeps the BMC busy, a longer one hides faults", name, d, MinPoll, MaxPoll)
			return def
		}
		return d
	}
	polls.PSU = period("psu", polls.PSU)
	polls.Thermal = period("thermal", polls.Thermal)
	return polls
}

func (p *parser) chassisBlock(b *hcl.Block) (Chassis, bool) {
	ch := Chassis{Name: p.name(b, "chassis")}
	ok := p.chassisN.add(&p.decoder, ch.Name, b.LabelRanges[0])
	c := p.content(b.Body, chassisSchema)
	local := map[string]bool{}
	blocks := blocksOf(c.Blocks)
	ch.LEDs = p.leds(blocks["led"], "chassis "+ch.Name)
	for _, pb := range blocks["psu"] {
		psu := p.psu(pb)
		// PSU names are unique across chassis: sensors and machine
		// extensions name them alone.
		if p.psuN.add(&p.decoder, psu.Name, pb.LabelRanges[0]) {
			local[psu.Name] = true
			ch.PSUs = append(ch.PSUs, psu)
		}
	}
	if attr, given := c.Attributes["sequence"]; given {
		ch.Sequence = p.strList(c.Attributes, "sequence")
		seen := map[string]bool{}
		for _, s := range ch.Sequence {
			switch {
			case !local[s]:
				p.errorf(attr.Expr.Range(), "sequence names unknown psu %q (chassis %q has %s)", s, ch.Name, strings.Join(psuNames(ch.PSUs), ", "))
			case seen[s]:
				p.errorf(attr.Expr.Range(), "sequence lists psu %q twice", s)
			}
			seen[s] = true
		}
		for _, psu := range ch.PSUs {
			if !seen[psu.Name] {
				p.errorf(attr.Expr.Range(), "sequence leaves out psu %q; list every psu of the chassis", psu.Name)
			}
		}
	} else {
		ch.Sequence = psuNames(ch.PSUs)
	}
	return ch, ok
}

func psuNames(psus []PSU) []string {
	out := make([]string, len(psus))
	for i, p := range psus {
		out[i] = p.Name
	}
	return out
}

func (p *parser) psu(b *hcl.Block) PSU {
	psu := PSU{Name: p.name(b, "psu"), Page: -1}
	c := p.content(b.Body, psuSchema)
	a := c.Attributes
	psu.Bus = p.integer(a, "bus", 0, 0, 1<<20)
	psu.Address = p.address(a, "address")
	psu.Page = p.integer(a, "page", -1, 0, 31)
	psu.Backend = Backend(p.oneOf(a, "backend", "", string(BackendSMBus), string(BackendHwmon), string(BackendSim)))
	psu.Direct = p.directs(psu, c.Blocks)
	return psu
}

// directs reads a PSU's direct blocks: the DIRECT coefficients of each
// reading the device sends in that format. Only statemgr's own PMBus
// decoding (smbus) uses them: the kernel decodes for hwmon, and the
// simulated PSU speaks LINEAR.
func (p *parser) directs(psu PSU, blocks hcl.Blocks) map[adapters.Quantity]adapters.Coefficients {
	if len(blocks) == 0 {
		return nil
	}
	out := map[adapters.Quantity]adapters.Coefficients{}
	at := map[adapters.Quantity]hcl.Range{}
	for _, b := range blocks {
		q := adapters.Quantity(b.Labels[0])
		c := p.content(b.Body, directSchema)
		a := c.Attributes
		// Word-sized bounds here, the finer rules (m ≠ 0, R) from Validate.
		co := adapters.Coefficients{
			M: p.integer(a, "m", 1, adapters.MinCoefficientMB, adapters.MaxCoefficientMB),
			B: p.integer(a, "b", 0, adapters.MinCoefficientMB, adapters.MaxCoefficientMB),
			R: p.integer(a, "r", 0, -adapters.MaxCoefficientR, adapters.MaxCoefficientR),
		}
		switch {
		case psu.Backend != "" && psu.Backend != BackendSMBus:
			p.errorf(b.DefRange, "psu %q: direct applies only to backend %q (statemgr decodes the readings itself); with backend %q it is not used", psu.Name, BackendSMBus, psu.Backend)
			continue
		case !slices.Contains(adapters.Quantities, q):
			p.errorf(b.LabelRanges[0], "psu %q: direct %q is not a reading; readings are %s", psu.Name, q, quantityNames())
			continue
		}
		if first, dup := at[q]; dup {
			p.errorf(b.LabelRanges[0], "psu %q: duplicate direct %q (first at %s)", psu.Name, q, pos(first))
			continue
		}
		at[q] = b.LabelRanges[0]
		if attr, given := a["m"]; given && co.M == 0 {
			p.errorf(attr.Expr.Range(), "psu %q: direct %q: m must not be 0 (X = (Y·10^-R − b)/m); take m from the device's datasheet", psu.Name, q)
			continue
		}
		if err := co.Validate(); err != nil {
			p.errorf(b.DefRange, "psu %q: direct %q: %v", psu.Name, q, err)
			continue
		}
		out[q] = co
	}
	return out
}

func quantityNames() string {
	out := make([]string, len(adapters.Quantities))
	for i, q := range adapters.Quantities {
		out[i] = string(q)
	}
	return strings.Join(out, ", ")
}

// lineRoles are the GPIO roles a host block may wire.
var lineRoles = []struct {
	role     string
	required bool
	field    func(*HostLines) *adapters.LineConfig
}{
	{"power_out", true, func(l *HostLines) *adapters.LineConfig { return &l.PowerOut }},
	{"reset_out", true, func(l *HostLines) *adapters.LineConfig { return &l.ResetOut }},
	{"nmi_out", false, func(l *HostLines) *adapters.LineConfig { return &l.NMIOut }},
	{"power_good", true, func(l *HostLines) *adapters.LineConfig { return &l.PowerGood }},
	{"post_complete", false, func(l *HostLines) *adapters.LineConfig { return &l.PostComplete }},
	{"power_button", false, func(l *HostLines) *adapters.LineConfig { return &l.PowerButton }},
	{"reset_button", false, func(l *HostLines) *adapters.LineConfig { return &l.ResetButton }},
	{"nmi_button", false, func(l *HostLines) *adapters.LineConfig { return &l.NMIButton }},
	{"id_button", false, func(l *HostLines) *adapters.LineConfig { return &l.IDButton }},
}

func roleNames() string {
	out := make([]string, len(lineRoles))
	for i, r := range lineRoles {
		out[i] = r.role
	}
	return strings.Join(out, ", ")
}

func (p *parser) host(b *hcl.Block, chassis []Chassis) (Host, bool) {
	h := Host{Name: p.name(b, "host")}
	ok := p.hostN.add(&p.decoder, h.Name, b.LabelRanges[0])
	c := p.content(b.Body, hostSchema)
	if attr, given := c.Attributes["chassis"]; given {
		h.Chassis = p.str(c.Attributes, "chassis", "")
		if !p.chassisN.has(h.Chassis) {
			p.errorf(attr.Expr.Range(), "unknown chassis %q", h.Chassis)
		}
	} else {
		switch len(chassis) {
		case 0:
			p.errorf(b.DefRange, "host %q has no chassis to power it: add a chassis block", h.Name)
		case 1:
			h.Chassis = chassis[0].Name
		default:
			p.errorf(b.DefRange, "host %q must name its chassis (chassis = \"...\"): the file has %d", h.Name, len(chassis))
		}
	}
	wired := map[string]hcl.Range{}
	blocks := blocksOf(c.Blocks)
	h.LEDs = p.leds(blocks["led"], "host "+h.Name)
	h.Input = p.hostInput(blocks["input"], h.Name)
	for _, gb := range blocks["gpio"] {
		role := gb.Labels[0]
		idx := -1
		for i, r := range lineRoles {
			if r.role == role {
				idx = i
			}
		}
		if idx < 0 {
			p.errorf(gb.LabelRanges[0], "unknown gpio role %q; roles are %s", role, roleNames())
			continue
		}
		if first, dup := wired[role]; dup {
			p.errorf(gb.LabelRanges[0], "duplicate gpio %q (first at %s)", role, pos(first))
			continue
		}
		wired[role] = gb.LabelRanges[0]
		*lineRoles[idx].field(&h.Lines) = p.gpio(gb, fmt.Sprintf("host %s %s", h.Name, role))
	}
	for _, r := range lineRoles {
		if _, ok := wired[r.role]; r.required && !ok {
			p.errorf(b.DefRange, "host %q has no gpio %q; every host needs power_out, reset_out and power_good", h.Name, r.role)
		}
	}
	return h, ok
}

// maxLineOffset bounds a gpio block's offset (the kernel's limit per chip
// is far lower; the chip itself is checked when the line is requested).
const maxLineOffset = 1<<16 - 1

// gpio decodes a host's gpio block: its line by name (line = "NAME") or,
// for a board whose device tree names no lines, by chip and offset
// (chip = "gpiochip0" or its label, offset = N); exactly one of the two.
func (p *parser) gpio(b *hcl.Block, user string) adapters.LineConfig {
	a := p.content(b.Body, gpioSchema).Attributes
	line, chip, offset := a["line"], a["chip"], a["offset"]
	switch {
	case line != nil && (chip != nil || offset != nil):
		other := chip
		if other == nil {
			other = offset
		}
		p.errorf(other.NameRange, "gpio %q: give the line by name (line) or by chip and offset, not both", b.Labels[0])
	case line != nil:
		return p.lineAttrs(a, user)
	case chip == nil && offset == nil:
		p.errorf(b.DefRange, "gpio %q needs line = \"NAME\" (the device tree's gpio-line-names) or chip = \"gpiochip0\" with offset = N (as gpioinfo lists them)", b.Labels[0])
	case chip == nil:
		p.errorf(offset.NameRange, "gpio %q: offset needs chip (its name, \"gpiochip0\", or label, \"1e780000.gpio\")", b.Labels[0])
	case offset == nil:
		p.errorf(chip.NameRange, "gpio %q: chip needs offset (the line's offset on the chip, as gpioinfo lists it)", b.Labels[0])
	default:
		lc := adapters.LineConfig{
			Chip:     p.nonEmpty(a, "chip", ""),
			Offset:   p.integer(a, "offset", 0, 0, maxLineOffset),
			Polarity: adapters.Polarity(p.oneOf(a, "polarity", "", string(adapters.ActiveHigh), string(adapters.ActiveLow))),
		}
		if lc.Chip != "" {
			lc.Name = adapters.ChipLineName(lc.Chip, lc.Offset)
			p.claim(lc.Name, user, chip.Expr.Range())
		}
		return lc
	}
	return adapters.LineConfig{}
}

// lineAttrs decodes line and polarity, and claims the line for user.
func (p *parser) lineAttrs(a hcl.Attributes, user string) adapters.LineConfig {
	lc := adapters.LineConfig{
		Name:     p.nonEmpty(a, "line", ""),
		Polarity: adapters.Polarity(p.oneOf(a, "polarity", "", string(adapters.ActiveHigh), string(adapters.ActiveLow))),
	}
	if lc.Name != "" {
		p.claim(lc.Name, user, a["line"].Expr.Range())
	}
	return lc
}

// claim records that user wires line, refusing a line wired twice.
func (p *parser) claim(line, user string, at hcl.Range) {
	if other, dup := p.lines[line]; dup {
		p.errorf(at, "line %q is already used by %s at %s", line, other, pos(p.lineAt[line]))
		return
	}
	p.lines[line], p.lineAt[line] = user, at
}

func (p *parser) zone(b *hcl.Block) (ThermalZone, bool) {
	z := ThermalZone{Name: p.name(b, "thermal zone")}
	ok := p.zoneN.add(&p.decoder, z.Name, b.LabelRanges[0])
	c := p.content(b.Body, zoneSchema)
	z.Warning = p.number(c.Attributes, "warning", 0)
	z.Critical = p.number(c.Attributes, "critical", 0)
	if attr, given := c.Attributes["critical"]; given && z.Critical <= z.Warning {
		p.errorf(attr.Expr.Range(), "critical limit %g °C must be above the warning limit %g °C", z.Critical, z.Warning)
	}
	if len(c.Blocks) == 0 {
		p.errorf(b.DefRange, "thermal zone %q has no sensor", z.Name)
	}
	for _, sb := range c.Blocks {
		z.Sensors = append(z.Sensors, p.sensor(sb))
	}
	return z, ok
}

func (p *parser) sensor(b *hcl.Block) Sensor {
	s := Sensor{Name: p.name(b, "sensor")}
	p.sensorN.add(&p.decoder, s.Name, b.LabelRanges[0])
	c := p.content(b.Body, sensorSchema)
	a := c.Attributes
	s.Backend = SensorBackend(p.oneOf(a, "backend", "", string(SensorSim), string(SensorHwmon), string(SensorPSU)))
	s.HwmonDir = p.str(a, "path", "")
	s.Index = p.integer(a, "index", 0, 1, 1000)
	s.PSU = p.str(a, "psu", "")
	// Each back-end takes its own attributes and no other's.
	needs := map[SensorBackend][]string{SensorHwmon: {"path"}, SensorPSU: {"psu"}}
	allows := map[SensorBackend][]string{SensorHwmon: {"path", "index"}, SensorPSU: {"psu"}}
	for _, n := range needs[s.Backend] {
		if _, given := a[n]; !given {
			p.errorf(b.DefRange, "sensor %q with backend %q needs %s", s.Name, s.Backend, n)
		}
	}
	for _, n := range []string{"path", "index", "psu"} {
		attr, given := a[n]
		if given && !contains(allows[s.Backend], n) {
			p.errorf(attr.NameRange, "%s does not apply to a sensor with backend %q", n, s.Backend)
		}
	}
	if s.Backend == SensorHwmon && s.Index == 0 {
		s.Index = 1
	}
	if attr, given := a["psu"]; given && s.Backend == SensorPSU && !p.psuN.has(s.PSU) {
		p.errorf(attr.Expr.Range(), "unknown psu %q", s.PSU)
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var stopSignals = []string{"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2"}

func (p *parser) services(blocks hcl.Blocks) []Service {
	p.serviceN = newNames("service")
	// Names first: dependencies may point forward.
	var keep []*hcl.Block
	for _, b := range blocks {
		if p.serviceN.add(&p.decoder, p.name(b, "service"), b.LabelRanges[0]) {
			keep = append(keep, b)
		}
	}
	var out []Service
	deps := map[string][]string{} // service → services that must start first
	depAt := map[string]hcl.Range{}
	for _, b := range keep {
		s := p.service(b)
		out = append(out, s)
		depAt[s.Name] = b.DefRange
		deps[s.Name] = append(deps[s.Name], s.After...)
		for _, later := range s.Before {
			deps[later] = append(deps[later], s.Name)
		}
	}
	p.cycles(out, deps, depAt)
	return out
}

// cycles reports each dependency cycle once, at its first service in file
// order.
func (p *parser) cycles(services []Service, deps map[string][]string, at map[string]hcl.Range) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, m := range deps[n] {
			if _, known := at[m]; !known || m == n {
				continue // reported as unknown or as self-dependency already
			}
			switch state[m] {
			case unvisited:
				visit(m)
			case active:
				i := len(stack) - 1
				for stack[i] != m {
					i--
				}
				cycle := append(append([]string(nil), stack[i:]...), m)
				p.errorf(at[m], "service dependency cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, s := range services {
		if state[s.Name] == unvisited {
			visit(s.Name)
		}
	}
}

func (p *parser) service(b *hcl.Block) Service {
	c := p.content(b.Body, serviceSchema)
	a := c.Attributes
	s := Service{
		Name:        b.Labels[0],
		Command:     p.nonEmpty(a, "command", ""),
		Args:        p.strList(a, "args"),
		Env:         p.strMap(a, "env"),
		WorkingDir:  p.str(a, "working_dir", ""),
		User:        p.nonEmpty(a, "user", ""),
		After:       p.strList(a, "after"),
		Before:      p.strList(a, "before"),
		StopTimeout: p.duration(a, "stop_timeout", DefaultStopTimeout, false),
		Restart:     RestartPolicy{Policy: RestartOnFailure, Delay: DefaultRestartDelay, MaxDelay: DefaultRestartMaxDelay},
		StartLimit:  StartLimit{Count: DefaultStartLimitCount, Interval: DefaultStartLimitSpan},
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "= \x00") {
			p.errorf(a["env"].Expr.Range(), "environment variable name %q is invalid", k)
		}
	}
	if attr, given := a["working_dir"]; given && !path.IsAbs(s.WorkingDir) {
		p.errorf(attr.Expr.Range(), "working_dir %q must be an absolute path", s.WorkingDir)
	}
	for dep, list := range map[string][]string{"after": s.After, "before": s.Before} {
		if attr, given := a[dep]; given {
			p.refs(attr, list, p.serviceN)
			if contains(list, s.Name) {
				p.errorf(attr.Expr.Range(), "service %q cannot depend on itself", s.Name)
			}
		}
	}
	s.StopSignal = DefaultStopSignal
	if attr, given := a["stop_signal"]; given {
		sig := strings.ToUpper(p.str(a, "stop_signal", ""))
		if !strings.HasPrefix(sig, "SIG") {
			sig = "SIG" + sig
		}
		if contains(stopSignals, sig) {
			s.StopSignal = sig
		} else {
			p.errorf(attr.Expr.Range(), "stop_signal %q is not one of %s", sig, strings.Join(stopSignals, ", "))
		}
	}
	byType := map[string]hcl.Blocks{}
	for _, blk := range c.Blocks {
		byType[blk.Type] = append(byType[blk.Type], blk)
	}
	if rb := p.single(byType["restart"]); rb != nil {
		rc := p.content(rb.Body, restartSchema)
		r := &s.Restart
		r.Policy = Restart(p.oneOf(rc.Attributes, "policy", string(r.Policy), string(RestartAlways), string(RestartOnFailure), string(RestartNever)))
		r.Delay = p.duration(rc.Attributes, "delay", r.Delay, true)
		r.MaxDelay = p.duration(rc.Attributes, "max_delay", r.MaxDelay, true)
		if r.MaxDelay < r.Delay {
			p.errorf(rb.DefRange, "restart max_delay %v is shorter than delay %v", r.MaxDelay, r.Delay)
		}
	}
	if lb := p.single(byType["start_limit"]); lb != nil {
		lc := p.content(lb.Body, startLimitSchema)
		s.StartLimit.Count = p.integer(lc.Attributes, "count", s.StartLimit.Count, 1, 1000)
		s.StartLimit.Interval = p.duration(lc.Attributes, "interval", s.StartLimit.Interval, false)
	}
	if cb := p.single(byType["readiness"]); cb != nil {
		s.Readiness = p.check(cb)
	}
	if cb := p.single(byType["liveness"]); cb != nil {
		s.Liveness = p.check(cb)
		if s.Liveness.Kind == CheckReport {
			p.errorf(cb.DefRange, "liveness cannot be of kind %q: a hung service does not report", CheckReport)
		}
	}
	return s
}

func (p *parser) check(b *hcl.Block) *Check {
	c := p.content(b.Body, checkSchema)
	a := c.Attributes
	ch := &Check{
		Kind:      CheckKind(p.oneOf(a, "kind", "", string(CheckCommand), string(CheckHTTP), string(CheckTCP), string(CheckReport))),
		Command:   p.strList(a, "command"),
		URL:       p.str(a, "url", ""),
		Address:   p.str(a, "address", ""),
		Interval:  p.duration(a, "interval", DefaultCheckInterval, false),
		Timeout:   p.duration(a, "timeout", DefaultCheckTimeout, false),
		Threshold: p.integer(a, "threshold", DefaultCheckThreshold, 1, 100),
	}
	needs := map[CheckKind]string{CheckCommand: "command", CheckHTTP: "url", CheckTCP: "address"}
	for _, n := range []string{"command", "url", "address"} {
		attr, given := a[n]
		if given && needs[ch.Kind] != n {
			p.errorf(attr.NameRange, "%s does not apply to a %s check", n, b.Type)
		}
	}
	if n := needs[ch.Kind]; n != "" {
		if _, given := a[n]; !given {
			p.errorf(b.DefRange, "a %q %s check needs %s", ch.Kind, b.Type, n)
		}
	}
	if attr, given := a["command"]; given && ch.Kind == CheckCommand && len(ch.Command) == 0 {
		p.errorf(attr.Expr.Range(), "command must list at least the program")
	}
	if attr, given := a["url"]; given && ch.Kind == CheckHTTP {
		if u, err := url.Parse(ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errorf(attr.Expr.Range(), "url %q must be an absolute http:// or https:// URL", ch.URL)
		}
	}
	if attr, given := a["address"]; given && ch.Kind == CheckTCP {
		if _, port, err := net.SplitHostPort(ch.Address); err != nil || port == "" {
			p.errorf(attr.Expr.Range(), "address %q must be host:port", ch.Address)
		}
	}
	if ch.Timeout > ch.Interval {
		p.errorf(b.DefRange, "%s timeout %v is longer than its interval %v", b.Type, ch.Timeout, ch.Interval)
	}
	return ch
}

// machineKinds are the built-in machines an extension may name.
var machineKinds = []string{machine.KindHost, machine.KindChassis, machine.KindBMC, machine.KindService}

func (p *parser) extension(b *hcl.Block) machine.Extension {
	target := b.Labels[0]
	ext := machine.Extension{Machine: target, Source: source(b.DefRange)}
	kind, id, hasID := strings.Cut(target, ".")
	switch {
	case !contains(machineKinds, kind):
		p.errorf(b.LabelRanges[0], "machine %q: extend one of %s, or one component as \"<kind>.<name>\"", target, strings.Join(machineKinds, ", "))
	case hasID && !p.component(kind, id):
		p.errorf(b.LabelRanges[0], "machine %q: no %s named %q in this file", target, kind, id)
	}
	c := p.content(b.Body, machineSchema)
	states := newNames("state")
	for _, blk := range c.Blocks {
		switch blk.Type {
		case "state":
			st := p.state(blk, kind)
			if states.add(&p.decoder, st.Name, blk.LabelRanges[0]) {
				ext.States = append(ext.States, st)
			}
		case "transition":
			ext.Transitions = append(ext.Transitions, p.transition(blk))
		}
	}
	if len(ext.States) == 0 && len(ext.Transitions) == 0 {
		p.errorf(b.DefRange, "machine %q adds no state and no transition", target)
	}
	return ext
}

// component reports whether this file defines the component kind.id.
func (p *parser) component(kind, id string) bool {
	switch kind {
	case machine.KindHost:
		return p.hostN.has(id)
	case machine.KindChassis:
		return p.chassisN.has(id)
	case machine.KindBMC:
		return p.bmc == id
	case machine.KindService:
		return p.serviceN.has(id)
	}
	return false
}

// state reads a state block added to a machine of kind.
func (p *parser) state(b *hcl.Block, kind string) machine.State {
	c := p.content(b.Body, stateSchema)
	a := c.Attributes
	st := machine.State{
		Power:     p.power(b, a, kind),
		Name:      b.Labels[0],
		Kind:      machine.StateKind(p.oneOf(a, "kind", "", string(machine.Stable), string(machine.Transitional), string(machine.ErrorKind))),
		Timeout:   p.duration(a, "timeout", 0, false),
		TimeoutTo: p.str(a, "timeout_to", ""),
		Source:    source(b.DefRange),
	}
	if st.Name == "" {
		p.errorf(b.LabelRanges[0], "state name must not be empty")
	}
	_, hasTimeout := a["timeout"]
	_, hasTo := a["timeout_to"]
	if hasTimeout != hasTo {
		p.errorf(b.DefRange, "state %q: timeout and timeout_to go together", st.Name)
	}
	return st
}

// power reads a state's power attribute: required on a host or chassis
// state (what power good reads in it), refused on any other.
func (p *parser) power(b *hcl.Block, a hcl.Attributes, kind string) machine.Power {
	choices := make([]string, len(machine.Powers))
	for i, pw := range machine.Powers {
		choices[i] = fmt.Sprintf("%q", pw)
	}
	attr, set := a["power"]
	switch powered := contains(machine.PoweredKinds, kind); {
	case !contains(machineKinds, kind): // reported by the machine block
		return ""
	case !powered && set:
		p.errorf(attr.NameRange, "state %q: a %s state has no power good; remove power (only %s states take one)",
			b.Labels[0], kind, strings.Join(machine.PoweredKinds, " and "))
		return ""
	case !powered:
		return ""
	case !set:
		p.errorf(b.DefRange, "state %q: a %s state needs power, what power good reads in it: write power = %s",
			b.Labels[0], kind, strings.Join(choices, " | "))
		return ""
	}
	v := p.str(a, "power", "")
	if !slices.Contains(machine.Powers, machine.Power(v)) {
		p.errorf(attr.Expr.Range(), "state %q: power %q is not one of %s; write power = %s",
			b.Labels[0], v, strings.Join(choices, ", "), strings.Join(choices, " | "))
		return ""
	}
	return machine.Power(v)
}

func (p *parser) transition(b *hcl.Block) machine.Transition {
	c := p.content(b.Body, transitionSchema)
	a := c.Attributes
	return machine.Transition{
		From:    p.nonEmpty(a, "from", ""),
		Trigger: p.nonEmpty(a, "trigger", ""),
		To:      p.nonEmpty(a, "to", ""),
		Guards:  p.strList(a, "guards"),
		Effects: p.strList(a, "effects"),
		Source:  source(b.DefRange),
	}
}
